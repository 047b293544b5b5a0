"""Small test helpers: the catalog's view of recorded Redis sends and error-envelope assertions. The
recorders themselves live in tests/support/roundtrips.py."""

from typing import Any


def catalog_sends(sends: list[list[str]]) -> list[list[str]]:
    """The round trips that touch catalog keys, as `[NAME, key, ...]`: keys only (no values or options),
    without the cache's `ls:1:` prefix. Drops the rest, e.g. the token denylist lookup of authentication."""
    trips = []
    for name, *args in sends:
        keys = [a.split(":", 2)[2] for a in args if a.startswith("ls:")]
        if any(k.startswith("catalog:") for k in keys):
            trips.append([name, *keys])
    return trips


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]

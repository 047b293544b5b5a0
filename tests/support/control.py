"""The emulators' test-only control API (`/_control/<path>`), shared by the Mux and Stripe handles."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def control_call(
    base_url: str,
    method: str,
    path: str,
    payload: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> Any:
    """Call `<base_url>/_control/<path>` with a JSON body; the decoded answer, or AssertionError on a
    non-2xx one (a test that drives an emulator wrongly fails where it did so)."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(  # noqa: S310 - a loopback URL the test session started
        f"{base_url}/_control/{path.lstrip('/')}", data=data, method=method
    )
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310 - loopback emulator
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"control {method} {path} -> {exc.code}: {exc.read().decode()}") from exc

"""Edge values the schema fuzzer does not reach (issue 10, item 9): ids with a trailing newline and
integers wider than the stores hold. Derived from the served schema, so a new parameter is covered the
moment it exists. Each request runs as the admin (widest access) against real objects, and must end in
a 2xx or an enveloped 4xx, never a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests import routes, scenario

INT64_MAX = 2**63 - 1
# Both reported in the issue, plus the first values outside int64 (MongoDB, PostgreSQL bigint).
HUGE_INTEGERS = ["24887101545547648502008381440", str(INT64_MAX + 1), str(-(2**63) - 1), "1" + "0" * 40]
# `$` in a Python regex matches before a trailing newline; `%0A` is how a URL carries one.
ID_SUFFIXES = ["%0A", "%0D%0A", "%0A%0A"]

SUBJECT_BY_PREFIX = {
    "api/v1/courses/": "course",
    "api/v1/lessons/": "lesson",
    "api/v1/users/": "user",
    "api/v1/certificates/": "certificate",
    "api/v1/sections/": "section",
    "api/v1/orders/": "order",
    # A caption file's id: the world has none, so a lesson's id stands in (an unknown caption id).
    "api/v1/caption-files/": "lesson",
}


def _is_envelope(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and {"code", "message", "details"} <= set(body["error"])
    )


def _integer_query_params() -> list[tuple[str, str]]:
    schema = routes.load_schema()
    found = []
    for method, path in routes.schema_operations(schema):
        if method != "GET":
            continue
        for param in schema["paths"][path]["get"].get("parameters", []):
            if param["in"] == "query" and param.get("schema", {}).get("type") == "integer":
                found.append((path, param["name"]))
    return found


def _id_path_operations() -> list[tuple[str, str]]:
    return [(m, p) for m, p in routes.schema_operations() if "{" in p]


def _subject(path: str) -> str:
    norm = routes.normalize(path)
    return next(subject for prefix, subject in SUBJECT_BY_PREFIX.items() if norm.startswith(prefix))


@pytest.fixture
def world(db: None, mux_emulator: Any) -> scenario.World:
    return scenario.build_world(scenario.inprocess_api(), scenario.make_actors("edge"))


def _assert_refused_cleanly(reply: scenario.Reply, what: str) -> None:
    assert reply.status < 500, f"{what}: {reply.status} {str(reply.body)[:200]}"
    if reply.status >= 400:
        assert _is_envelope(reply.body), f"{what}: {reply.status} without the envelope: {reply.body!r:.200}"


def test_the_reported_requests_are_4xx(world: scenario.World) -> None:
    api = scenario.inprocess_api()
    course = world["course"]
    reply = api("GET", f"/api/v1/courses/{course}%0A")
    assert reply.status == 404, reply.body
    assert reply.body["error"]["code"] == "not_found"
    reply = api("GET", "/api/v1/courses/?instructor=24887101545547648502008381440")
    assert reply.status == 400, reply.body
    assert set(reply.body["error"]["details"]) == {"instructor"}


@pytest.mark.parametrize(("method", "path"), _id_path_operations(), ids=lambda v: str(v))
def test_a_real_id_with_a_trailing_newline_is_not_found(
    method: str, path: str, world: scenario.World
) -> None:
    from tests import state

    api, token = scenario.inprocess_api(), world.actors.token("admin")
    real = str(world[_subject(path)])
    before = state.digest()
    for suffix in ID_SUFFIXES:
        concrete = routes._PARAM.sub(real + suffix, path, count=1)
        concrete = routes._PARAM.sub(real, concrete)
        reply = api(method, concrete, token=token, body={})
        _assert_refused_cleanly(reply, f"{method} {concrete}")
        assert reply.status in (400, 404), (concrete, reply.status, reply.body)
    assert state.diff(before, state.digest()) == []


@pytest.mark.parametrize(("path", "name"), _integer_query_params(), ids=lambda v: str(v))
def test_integer_query_parameters_beyond_int64_are_400(path: str, name: str, world: scenario.World) -> None:
    api, token = scenario.inprocess_api(), world.actors.token("admin")
    base = routes._PARAM.sub(str(world[_subject(path)]), path) if "{" in path else path
    for value in HUGE_INTEGERS:
        reply = api("GET", f"{base}?{urlencode({name: value})}", token=token)
        _assert_refused_cleanly(reply, f"GET {base}?{name}={value}")
        if name not in ("page", "page_size"):  # paging clamps instead (an empty or capped page)
            assert reply.status == 400, (name, value, reply.status, reply.body)


@pytest.mark.parametrize("value", [INT64_MAX + 1, 10**40])
def test_lesson_position_beyond_int64_is_400_and_stores_nothing(value: int, world: scenario.World) -> None:
    from tests import state

    api, token = scenario.inprocess_api(), world.actors.token("owner")
    before = state.digest()
    create = api(
        "POST",
        f"/api/v1/courses/{world['course']}/lessons/",
        token=token,
        body={"title": "Edge", "position": value},
    )
    patch = api("PATCH", f"/api/v1/lessons/{world['lesson']}/", token=token, body={"position": value})
    for reply in (create, patch):
        assert reply.status == 400, (reply.status, reply.body)
        assert set(reply.body["error"]["details"]) == {"position"}
    assert state.diff(before, state.digest()) == []


@pytest.mark.parametrize("path", ["/api/v1/courses/", "/api/v1/orders/", "/api/v1/me/certificates/"])
@pytest.mark.parametrize(("name", "value"), [("page_size", "\U000114d4"), ("page", "\u0661"), ("page", "+1")])
def test_paging_parameters_are_ascii_digits(path: str, name: str, value: str, world: scenario.World) -> None:
    # int() reads other scripts' digits (U+114D4 is a Tirhuta four); the schema says integer: 400.
    api, token = scenario.inprocess_api(), world.actors.token("admin")
    reply = api("GET", f"{path}?{urlencode({name: value})}", token=token)
    assert reply.status == 400, (path, name, value, reply.status, reply.body)
    assert _is_envelope(reply.body)
    assert set(reply.body["error"]["details"]) == {name}

"""Authorization matrix (ASVS 8.1.1/8.2.1/8.2.2, API1/API5).

Every (path, method) of the OpenAPI schema and every URLconf route must have a row in
tests/authz_matrix.py; each row is executed for the seven actors with real tokens against real
stores, and every cell must answer exactly the expected status. Refused requests must also answer
with the error envelope and leave PostgreSQL and MongoDB byte-for-byte unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import routes, scenario, state
from tests.authz_matrix import MATRIX, Row

pytestmark = pytest.mark.django_db

ROW_IDS = [f"{r.method} {r.path}" + (f" [{r.on}]" if r.on else "") for r in MATRIX]


def _covers(row: Row, method: str, path: str) -> bool:
    norm = routes.normalize(row.path)
    if row.prefix:
        return path == norm or path.startswith(norm + "/")
    return norm == path and row.method == method


def test_every_schema_operation_has_a_row() -> None:
    missing = [
        f"{method} {path}"
        for method, path in routes.schema_operations()
        if not any(_covers(r, method, routes.normalize(path)) for r in MATRIX)
    ]
    assert not missing, (
        "operations without an authorization-matrix row (add them to tests/authz_matrix.py):\n"
        + ("\n".join(missing))
    )


def test_every_urlconf_route_has_a_row() -> None:
    missing = []
    for route in routes.urlconf_routes():
        if route.path.startswith("static"):
            continue
        if route.methods is None:  # plain Django view: at least one row for the path
            if not any(
                routes.normalize(r.path) == route.path or _covers(r, r.method, route.path) for r in MATRIX
            ):
                missing.append(f"* {route.path} ({route.view})")
            continue
        missing += [
            f"{method} {route.path} ({route.view})"
            for method in sorted(route.methods)
            if not any(_covers(r, method, route.path) for r in MATRIX)
        ]
    assert not missing, "URLconf routes without an authorization-matrix row:\n" + "\n".join(missing)


def test_matrix_has_no_stale_rows() -> None:
    """A row for a route that no longer exists hides a renamed route from the matrix."""
    urlconf = routes.urlconf_routes()
    stale = []
    for row in MATRIX:
        norm = routes.normalize(row.path)
        if row.prefix:
            found = any(r.path == norm or r.path.startswith(norm + "/") for r in urlconf)
        else:
            found = any(r.path == norm and (r.methods is None or row.method in r.methods) for r in urlconf)
        if not found:
            stale.append(f"{row.method} {row.path}")
    assert not stale, "matrix rows whose route does not exist:\n" + "\n".join(stale)


# --- executing the cells ----------------------------------------------------------------------------
def _route_exists(row: Row) -> bool:
    norm = routes.normalize(row.path)
    return any(
        r.path == norm and (r.methods is None or row.method in r.methods) for r in routes.urlconf_routes()
    )


def _subject(row: Row) -> str | None:
    if "{" not in row.path:
        return None
    if row.on:
        return row.on
    norm = routes.normalize(row.path)
    for prefix, subject in (
        ("api/v1/courses/", "course"),
        ("api/v1/lessons/", "lesson"),
        ("api/v1/users/", "user"),
    ):
        if norm.startswith(prefix):
            return subject
    raise AssertionError(f"{row.path}: say which object the path parameter names (on=...)")


def _needs_catalog(row: Row) -> bool:
    norm = routes.normalize(row.path)
    if norm == "admin/uploads" or norm.startswith("admin/uploads/"):
        return True
    return norm.startswith("api/v1/") and not norm.startswith(("api/v1/auth", "api/v1/users"))


def _concrete_path(row: Row, paths: scenario.Paths, world: scenario.World) -> str:
    subject = _subject(row)
    # `on="a,b"` names the objects of a path with two parameters, in order.
    ids = [world[s] for s in subject.split(",")] if subject else []
    if paths.has(row.path, row.method):
        return paths(row.path, *ids)
    text = row.path
    for value in ids:
        text = routes._PARAM.sub(str(value), text, count=1)
    return text


def _is_envelope(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(body["error"], dict)
        and {"code", "message", "details"} <= set(body["error"])
    )


class Cells:
    def __init__(self, row: Row, mux: Any) -> None:
        self.row = row
        self.mux = mux
        self.api = scenario.inprocess_api()
        self.paths = scenario.Paths()
        self.actors = scenario.make_actors()
        self.world = self._build()

    def _build(self) -> scenario.World:
        if _needs_catalog(self.row):
            world = scenario.build_world(self.api, self.actors, self.paths)
        else:
            world = scenario.World(actors=self.actors)
            world.ids["user"] = self.actors.user_id("student")
        if "video" in self.row.needs:
            scenario.make_videos_ready(self.api, world, self.paths, self.mux)
        return world

    def run(self, role: str) -> tuple[int, Any]:
        row = self.row
        body = row.body(self.world, role) if callable(row.body) else row.body
        path = _concrete_path(row, self.paths, self.world)
        reply = self.api(row.method, path, token=self.actors.token(role), body=body)
        return reply.status, reply.body


def test_matrix_row_count_is_sane() -> None:
    assert len({(r.method, r.path, r.on) for r in MATRIX}) == len(MATRIX), "duplicate rows"


@pytest.mark.parametrize("row", MATRIX, ids=ROW_IDS)
def test_matrix_row(row: Row, mux_emulator: Any) -> None:
    if not _route_exists(row):
        pytest.skip(f"{row.method} {row.path} is not routed yet")
    try:
        cells = Cells(row, mux_emulator)
    except scenario.ScenarioUnavailable as exc:
        pytest.skip(str(exc))
    expected = row.expected()
    unsafe = row.method not in ("GET", "HEAD")
    is_api = routes.normalize(row.path).startswith(("api/v1", "webhooks", "admin/uploads"))
    # Refusals first (they must not change anything); each success after the first gets a fresh world.
    order = sorted(scenario.ROLES, key=lambda role: 200 <= expected[role] < 300)
    problems: list[str] = []
    for role in order:
        want = expected[role]
        before = state.digest() if unsafe and not 200 <= want < 300 else None
        got, body = cells.run(role)
        if got != want:
            problems.append(f"{role:>16}: expected {want}, got {got}  {str(body)[:160]}")
        if got >= 400 and is_api and not _is_envelope(body):
            problems.append(f"{role:>16}: {got} without the error envelope: {str(body)[:160]}")
        if before is not None:
            changed = state.diff(before, state.digest())
            if changed:
                problems.append(f"{role:>16}: refused request ({got}) changed stored data: {changed}")
        if unsafe and 200 <= got < 300:
            cells.world = cells._build()  # the success changed the world; the next cell gets a fresh one
    assert not problems, f"{row.method} {row.path} ({row.on or 'default object'}):\n" + "\n".join(problems)

"""Fault injection against real servers this module starts itself (docs/architecture.md,
"Degradation").

The module starts its own redis-server, SecantusDB (on-disk, --sync-on-commit, so a restart keeps
acknowledged writes), a throwaway PostgreSQL 15 cluster (initdb + pg_ctl as the postgres user), a Mux
emulator and a gunicorn pointing at all of them. Each test stops one store BY ITS PID while client
threads have requests in flight, asserts the degradation contract, restarts the store and proves the
app recovers without being restarted (same gunicorn master PID).

Contract (docs/architecture.md): Redis down → everything still works (login too, its rate limits degrade
to per-process counters: tests/test_faults_auth.py);
MongoDB down → cached catalog pages served, writes 503 with the envelope, never a false success;
PostgreSQL down → login, enroll and gated playback 503, the webhook 5xx so Mux redelivers. Never a
500, never a hang beyond the store timeouts, nothing acknowledged is lost.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import scenario
from tests.fixtures import start_mux
from tests.support import servers

pytestmark = [pytest.mark.live, pytest.mark.slow]

PASSWORD = "fault-Passphrase-2024-x"
MONGO_DB = "ls_fault"
RECOVERY_SECONDS = 10.0
# A request may wait for one store timeout (MONGO_TIMEOUT_MS=2000 for server selection, socket 4 s;
# PostgreSQL connect_timeout 3 s; Redis 0.5 s) but never for gunicorn's 30 s worker timeout.
LATENCY_BUDGET = 6.0


@dataclass
class Result:
    name: str
    started: float
    ended: float
    status: int
    body: bytes
    method: str = ""
    path: str = ""

    @property
    def elapsed(self) -> float:
        return self.ended - self.started


@dataclass
class Stack:
    workdir: Path
    pg: servers.PgCluster
    redis: servers.Managed
    mongo: servers.Managed
    app: servers.Managed
    mux: Any
    env: dict[str, str]
    ids: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{servers.LOOPBACK}:{self.app.port}"

    def call(self, method: str, path: str, **kwargs: Any) -> servers.HttpResult:
        return servers.http_request(method, self.base + path, timeout=40, **kwargs)

    def api(self) -> scenario.Api:
        return scenario.live_api(self.base)

    def restart_redis(self) -> None:
        self.redis = servers.start_redis(self.workdir, self.redis.port)

    def restart_mongo(self) -> None:
        self.mongo = servers.start_secantus(
            self.workdir, self.mongo.port, storage=self.mongo.extra["storage"]
        )


def _login(stack: Stack, email: str) -> str:
    reply = stack.call("POST", "/api/v1/auth/token/", json_body={"email": email, "password": PASSWORD})
    assert reply.status == 200, reply.body
    return str(reply.json()["access"])


def _seed(stack: Stack) -> None:
    """Users, a published course with a ready (non-preview) video lesson, and an enrollment — all
    through the HTTP API (plus createsuperuser for the first admin)."""
    api, paths = stack.api(), scenario.Paths()
    tag = uuid.uuid4().hex[:6]
    emails = {
        role: f"fault-{role}-{tag}@example.com" for role in ("admin", "instructor", "student", "student2")
    }
    servers.manage(
        ["createsuperuser", "--noinput"],
        {**stack.env, "DJANGO_SUPERUSER_EMAIL": emails["admin"], "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    for role in ("instructor", "student", "student2"):
        body = {"email": emails[role], "password": PASSWORD, "name": role.title()}
        reply = stack.call("POST", "/api/v1/auth/register/", json_body=body)
        assert reply.status == 201, reply.body
        stack.ids[f"{role}_id"] = reply.json()["id"]
    stack.ids["emails"] = emails
    admin = _login(stack, emails["admin"])
    promote = stack.call(
        "PATCH", f"/api/v1/users/{stack.ids['instructor_id']}/", token=admin, json_body={"role": "instructor"}
    )
    assert promote.status == 200, promote.body
    tokens = {role: _login(stack, email) for role, email in emails.items()}
    stack.tokens.update(tokens)
    course = scenario.create_course(api, paths, tokens["instructor"], publish=True)
    stack.ids.update(course=course["id"], lesson=course["lessons"][0], preview=course["lessons"][1])
    for who in ("student", "student2"):
        reply = api("POST", paths("api/v1/courses/{}/enroll", course["id"]), token=tokens[who])
        assert reply.status == 201, reply.body
    world = scenario.World(
        actors=scenario.Actors(users={}, tokens={"owner": tokens["instructor"]}, refresh={})
    )
    world.ids.update(lesson=course["lessons"][0], preview_lesson=course["lessons"][1])
    scenario.make_videos_ready(api, world, paths, stack.mux.handle, live=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if not shutil.which("redis-server") or not servers.PG_BIN.exists() or not servers.SECANTUS_BIN.exists():
        pytest.skip("needs redis-server, PostgreSQL 15 binaries and .venv-secantus (scripts/services.sh)")
    workdir = Path(tempfile.mkdtemp(prefix="ls-proof-faults-"))
    pg = servers.PgCluster.create(Path(tempfile.mkdtemp(prefix="ls-proof-pg-")))
    started: list[Callable[[], None]] = [pg.destroy]
    try:
        pg.start()
        import psycopg

        with psycopg.connect(f"{pg.url_base}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE ls_fault")
        redis = servers.start_redis(workdir)
        mongo = servers.start_secantus(workdir)
        current: dict[str, servers.Managed] = {"redis": redis, "mongo": mongo}
        # Tests replace the store processes when they restart them: always stop the current ones.
        started.append(lambda: current["redis"].stop())
        started.append(lambda: current["mongo"].stop())
        app_port = servers.free_port()
        mux = start_mux(f"http://{servers.LOOPBACK}:{app_port}/webhooks/mux")
        started.append(mux.server.stop)
        env = servers.app_env(
            {
                "DJANGO_ENV": "test",
                "DATABASE_URL": f"{pg.url_base}/ls_fault",
                "REDIS_URL": f"redis://{servers.LOOPBACK}:{redis.port}/0",
                "MONGO_URI": f"mongodb://{servers.LOOPBACK}:{mongo.port}",
                "MONGO_DB": MONGO_DB,
                "LOG_LEVEL": "WARNING",
                "DATABASE_TEST_NAME": "",
                **mux.env(),
            }
        )
        servers.manage(["migrate", "--noinput"], env)
        servers.manage(["mongo_indexes"], env)
        app = servers.start_gunicorn(env, workdir, workers=2, threads=4, port=app_port)
        started.append(app.stop)
        stack = Stack(workdir=workdir, pg=pg, redis=redis, mongo=mongo, app=app, mux=mux, env=env)
        started.append(lambda: current.update(redis=stack.redis, mongo=stack.mongo))  # runs first
        _seed(stack)
        yield stack
    finally:
        for stop in reversed(started):
            try:
                stop()
            except Exception as exc:  # keep stopping the others; report at the end
                print(f"cleanup: {exc!r}")
        shutil.rmtree(workdir, ignore_errors=True)


class Load:
    """Client threads looping over named requests until stopped; every result is timestamped."""

    def __init__(
        self, stack: Stack, requests: dict[str, Callable[[], servers.HttpResult]], threads: int = 4
    ) -> None:
        self.stack = stack
        self.requests = list(requests.items())
        self.results: list[Result] = []
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=threads)
        self._lock = threading.Lock()
        self._futures = [self._pool.submit(self._loop, i) for i in range(threads)]

    def _loop(self, offset: int) -> None:
        i = offset
        while not self._stop.is_set():
            name, request = self.requests[i % len(self.requests)]
            started = time.monotonic()
            method = path = ""
            try:
                reply = request()
                status, body, method, path = reply.status, reply.body, reply.method, reply.path
            except OSError as exc:  # a refused/reset connection to the app itself is a failure too
                status, body = 0, repr(exc).encode()
            with self._lock:
                self.results.append(Result(name, started, time.monotonic(), status, body, method, path))
            i += 1

    def stop(self) -> list[Result]:
        self._stop.set()
        for future in self._futures:
            future.result(timeout=60)
        self._pool.shutdown()
        return self.results


def _window(results: list[Result], start: float, end: float, name: str | None = None) -> list[Result]:
    return [r for r in results if r.started >= start and r.ended <= end and (name is None or r.name == name)]


def _no_server_errors(results: list[Result]) -> None:
    bad = [(r.name, r.status, r.body[:200]) for r in results if r.status == 0 or r.status == 500]
    assert not bad, f"500s or dropped connections: {bad[:5]}"
    slow = [(r.name, round(r.elapsed, 2)) for r in results if r.elapsed > LATENCY_BUDGET]
    assert not slow, f"requests slower than {LATENCY_BUDGET}s: {slow[:5]}"


def _undocumented(replies: list[Any]) -> list[str]:
    """Statuses the OpenAPI schema does not document for the operation that answered them: a client
    generated from the schema must be told that a store outage means 503."""
    import re

    from tests import routes

    operations = [
        (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), item)
        for path, item in routes.load_schema()["paths"].items()
    ]
    bad = set()
    for reply in replies:
        for pattern, item in operations:
            operation = item.get(reply.method.lower()) if pattern.match(reply.path) else None
            if operation is not None:
                documented = operation["responses"]
                if str(reply.status) not in documented and "default" not in documented:
                    bad.add(
                        f"{reply.method} {reply.path} -> {reply.status} (documented: {sorted(documented)})"
                    )
    return sorted(bad)


def _is_envelope(body: bytes, code: str) -> bool:
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("error", {}).get("code") == code


def _wait_until(check: Callable[[], bool], timeout: float = RECOVERY_SECONDS) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not recovered within {timeout}s")


def _heartbeat(stack: Stack, position: float) -> servers.HttpResult:
    return stack.call(
        "PUT",
        f"/api/v1/lessons/{stack.ids['lesson']}/progress/",
        token=stack.tokens["student"],
        json_body={"position": position},
    )


def _progress_max(stack: Stack) -> float:
    reply = stack.call(
        "GET", f"/api/v1/courses/{stack.ids['course']}/progress/", token=stack.tokens["student"]
    )
    assert reply.status == 200, reply.body
    rows = [row for row in reply.json()["lessons"] if row["lesson_id"] == stack.ids["lesson"]]
    return float(rows[0]["max_position"]) if rows else 0.0


class Heartbeats:
    """Ever-increasing positions (0.01 s apart, well below the 120 s lesson, so never clamped);
    remembers which ones the server acknowledged with 200."""

    def __init__(self, stack: Stack, start: float) -> None:
        self.stack = stack
        self.position = start
        self.acked: list[float] = []
        self.lock = threading.Lock()

    def __call__(self) -> servers.HttpResult:
        with self.lock:
            self.position = round(self.position + 0.01, 2)
            position = self.position
        reply = _heartbeat(self.stack, position)
        if reply.status == 200:
            with self.lock:
                self.acked.append(position)
        return reply


def _catalog(stack: Stack) -> dict[str, Callable[[], servers.HttpResult]]:
    course = stack.ids["course"]
    return {
        "course_list": lambda: stack.call("GET", "/api/v1/courses/"),
        "course_detail": lambda: stack.call("GET", f"/api/v1/courses/{course}/"),
    }


# --- Redis ------------------------------------------------------------------------------------------
def test_redis_outage_everything_still_works(stack: Stack) -> None:
    master = stack.app.pid
    beats = Heartbeats(stack, 10.0)
    token = stack.tokens["student2"]
    load = Load(
        stack,
        {
            **_catalog(stack),
            "heartbeat": beats,
            "me": lambda: stack.call("GET", "/api/v1/auth/me/", token=token),
            "enrollments": lambda: stack.call("GET", "/api/v1/enrollments/", token=token),
        },
    )
    time.sleep(1.0)
    killed_at = time.monotonic()
    stack.redis.stop(signal.SIGKILL)  # by PID, with requests in flight
    time.sleep(3.0)
    login = stack.call(
        "POST",
        "/api/v1/auth/token/",
        json_body={"email": stack.ids["emails"]["student"], "password": PASSWORD},
    )
    ready = stack.call("GET", "/readyz")
    restarted_at = time.monotonic()
    stack.restart_redis()
    recovered = _wait_until(lambda: stack.call("GET", "/readyz").status == 200)
    relogin = stack.call(
        "POST",
        "/api/v1/auth/token/",
        json_body={"email": stack.ids["emails"]["student2"], "password": PASSWORD},
    )
    results = load.stop()

    _no_server_errors(results)
    during = _window(results, killed_at + 0.5, restarted_at)
    assert during, "no request completed during the outage"
    failures = [(r.name, r.status, r.body[:160]) for r in during if r.status != 200]
    assert not failures, f"Redis down must only make things slower: {failures[:5]}"
    assert {r.name for r in during} == {"course_list", "course_detail", "heartbeat", "me", "enrollments"}
    assert login.status == 200, f"a Redis outage must not stop logins, got {login.status}"
    assert ready.status == 503
    assert ready.json()["redis"] == "down"
    assert recovered < RECOVERY_SECONDS
    assert relogin.status == 200, relogin.body
    assert stack.app.pid == master, "the app was restarted"
    assert servers.pid_alive(master)
    assert _progress_max(stack) == max(beats.acked), "an acknowledged heartbeat was lost"
    assert not _undocumented([*results, login]), _undocumented([*results, login])


def test_redis_hang_is_bounded(stack: Stack) -> None:
    """a Redis that accepts connections but never answers (SIGSTOP) costs its socket timeout."""
    os.kill(stack.redis.pid, signal.SIGSTOP)
    try:
        results = [stack.call("GET", f"/api/v1/courses/{stack.ids['course']}/") for _ in range(3)]
        results.append(_heartbeat(stack, 20.0))
    finally:
        os.kill(stack.redis.pid, signal.SIGCONT)
    assert [r.status for r in results] == [200, 200, 200, 200]
    assert max(r.elapsed for r in results) < LATENCY_BUDGET, [round(r.elapsed, 2) for r in results]


# --- MongoDB ----------------------------------------------------------------------------------------
def test_mongo_outage_serves_cached_catalog_and_refuses_writes(stack: Stack) -> None:
    master = stack.app.pid
    catalog = _catalog(stack)
    for request in catalog.values():  # warm the cache
        assert request().status == 200
    baseline = _progress_max(stack)
    beats = Heartbeats(stack, 40.0)
    load = Load(stack, {**catalog, "heartbeat": beats})
    time.sleep(1.5)
    acked_before = list(beats.acked)
    killed_at = time.monotonic()
    stack.mongo.stop(signal.SIGKILL)
    time.sleep(1.0)
    create = stack.call(
        "POST",
        "/api/v1/courses/",
        token=stack.tokens["instructor"],
        json_body=scenario.course_body("During outage"),
    )
    time.sleep(2.0)
    restarted_at = time.monotonic()
    stack.restart_mongo()
    recovered = _wait_until(lambda: _heartbeat(stack, 60.0).status == 200)
    results = load.stop()

    _no_server_errors(results)
    during = _window(results, killed_at + 0.5, restarted_at)
    reads = [r for r in during if r.name in catalog]
    assert reads
    assert all(r.status == 200 for r in reads), [(r.name, r.status) for r in reads if r.status != 200]
    writes = [r for r in during if r.name == "heartbeat"]
    assert writes, "no heartbeat completed during the outage"
    assert all(r.status == 503 and _is_envelope(r.body, "service_unavailable") for r in writes), [
        (r.status, r.body[:120]) for r in writes
    ]
    assert create.status == 503, create.body
    assert _is_envelope(create.body, "service_unavailable"), create.body
    assert "retry-after" in create.headers
    assert recovered < RECOVERY_SECONDS
    assert stack.app.pid == master
    # Nothing acknowledged is lost (the server syncs on commit), nothing refused was stored.
    stored = _progress_max(stack)
    assert stored >= max(acked_before)
    assert stored == max([baseline, *beats.acked, 60.0])
    titles = [
        c["title"]
        for c in stack.call("GET", "/api/v1/courses/?page_size=100", token=stack.tokens["instructor"]).json()[
            "results"
        ]
    ]
    assert "During outage" not in titles
    assert not _undocumented([*results, create]), _undocumented([*results, create])


def test_mongo_hang_is_bounded(stack: Stack) -> None:
    """a MongoDB that accepts but never answers: writes fail with 503 within the budget."""
    os.kill(stack.mongo.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        reply = _heartbeat(stack, 80.0)
        elapsed = time.monotonic() - started
    finally:
        os.kill(stack.mongo.pid, signal.SIGCONT)
    assert reply.status == 503, reply.body
    assert elapsed < LATENCY_BUDGET, f"{elapsed:.2f}s"
    _wait_until(lambda: _heartbeat(stack, 81.0).status == 200)


# --- PostgreSQL -------------------------------------------------------------------------------------
def _webhook(event_id: str) -> scenario.Raw:
    data = {"id": f"track-{event_id}", "asset_id": "fault-asset", "type": "text", "status": "ready"}
    event = scenario.mux_event("video.asset.track.ready", data, event_id=event_id)
    return scenario.signed_webhook(event, secret=stack_secret())


def stack_secret() -> str:
    from tests.support import mux as testing

    return testing.TEST_WEBHOOK_SECRET


def _post_webhook(stack: Stack, raw: scenario.Raw) -> servers.HttpResult:
    return stack.call(
        "POST", "/webhooks/mux", body=raw.body, headers={"Content-Type": "application/json", **raw.headers}
    )


def _inbox_count(stack: Stack, event_ids: list[str]) -> dict[str, int]:
    import psycopg

    from webhooks.models import WebhookEvent

    table = WebhookEvent._meta.db_table
    with psycopg.connect(f"{stack.pg.url_base}/ls_fault") as conn:
        rows = conn.execute(
            f"SELECT event_id, count(*) FROM {table} WHERE event_id = ANY(%s) GROUP BY event_id",  # noqa: S608
            (event_ids,),
        ).fetchall()
    return {event_id: count for event_id, count in rows}


def test_postgres_outage_fails_closed_and_loses_nothing(stack: Stack) -> None:
    import redis as redis_lib

    master = stack.app.pid
    paths = scenario.Paths()
    student2 = stack.tokens["student2"]
    playback = paths("api/v1/lessons/{}/playback", stack.ids["lesson"])
    load = Load(
        stack,
        {
            "course_list": lambda: stack.call("GET", "/api/v1/courses/"),
            "playback": lambda: stack.call("GET", playback, token=student2),
            "me": lambda: stack.call("GET", "/api/v1/auth/me/", token=student2),
        },
    )
    time.sleep(1.0)
    # Cold caches: no cached auth epoch or enrollment can stand in for the database.
    redis_lib.Redis(host=servers.LOOPBACK, port=stack.redis.port).flushall()
    killed_at = time.monotonic()
    stack.pg.stop_by_pid()  # SIGQUIT to the postmaster: immediate shutdown, like a crash
    time.sleep(0.5)
    event_ids = [f"fault-{uuid.uuid4()}" for _ in range(10)]
    during_webhooks = [_post_webhook(stack, _webhook(e)) for e in event_ids]
    email = stack.ids["emails"]["student2"]
    login = stack.call("POST", "/api/v1/auth/token/", json_body={"email": email, "password": PASSWORD})
    enroll = stack.call("POST", paths("api/v1/courses/{}/enroll", stack.ids["course"]), token=student2)
    gated = stack.call("GET", playback, token=stack.tokens["student"])
    ready = stack.call("GET", "/readyz")
    time.sleep(1.0)
    restarted_at = time.monotonic()
    stack.pg.start()
    recovered = _wait_until(lambda: stack.call("GET", "/readyz").status == 200)
    relogin = stack.call("POST", "/api/v1/auth/token/", json_body={"email": email, "password": PASSWORD})
    results = load.stop()
    # Mux redelivers every event it did not get a 2xx for: twice, to prove exactly-once.
    redelivered = [_post_webhook(stack, _webhook(e)) for e in event_ids for _ in range(2)]

    _no_server_errors(results)
    assert all(500 < r.status < 600 for r in during_webhooks), [
        (r.status, r.body[:100]) for r in during_webhooks
    ]
    assert login.status == 503, (login.status, login.body)
    assert _is_envelope(login.body, "service_unavailable"), login.body
    assert enroll.status == 503, (enroll.status, enroll.body)
    assert gated.status == 503, (gated.status, gated.body)
    assert ready.status == 503
    assert ready.json()["postgres"] == "down"
    during = _window(results, killed_at + 0.5, restarted_at)
    gated_during = [r for r in during if r.name in ("playback", "me")]
    assert gated_during
    assert all(r.status == 503 for r in gated_during), [
        (r.name, r.status, r.body[:100]) for r in gated_during if r.status != 503
    ]
    assert recovered < RECOVERY_SECONDS
    assert relogin.status == 200, relogin.body
    assert stack.app.pid == master
    assert [r.status for r in redelivered] == [200] * 20
    assert _inbox_count(stack, event_ids) == dict.fromkeys(event_ids, 1), "lost or duplicated webhook events"
    # Playback works again for the enrolled student.
    assert stack.call("GET", playback, token=stack.tokens["student"]).status == 200
    replies = [*results, *during_webhooks, login, enroll, gated]
    assert not _undocumented(replies), _undocumented(replies)

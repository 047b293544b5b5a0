"""Authentication under store faults, against real servers this module starts itself (a throwaway
PostgreSQL 15 cluster, a redis-server and one gunicorn worker), each stopped by its own PID.

- Redis killed: login and refresh keep working and stay rate-limited (per-process counters).
- Redis hung (SIGSTOP): after the circuit breaker opens, requests no longer pay the 0.5 s Redis socket
  timeout; after SIGCONT the breaker closes and Redis counts again.
- PostgreSQL hung (postmaster and backends SIGSTOPped): requests fail fast with a 503 envelope (client
  deadline, connect timeout) instead of pinning the worker, and recover when it resumes.
- A row lock held by a stuck transaction: a request that needs it gets 503 after the lock timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import servers

pytestmark = [pytest.mark.live, pytest.mark.slow]

PASSWORD = "fault-Passphrase-2024-x"
DB_NAME = "ls_fault_auth"
# One gunicorn worker, so the per-process fallback counters and the breaker are the ones we observe.
ENV = {
    "DATABASE_STATEMENT_TIMEOUT_MS": "1500",
    "DATABASE_LOCK_TIMEOUT_MS": "1000",
    "DATABASE_CLIENT_TIMEOUT_MS": "2000",
    "DATABASE_CONNECT_TIMEOUT": "2",
    "REDIS_BREAKER_THRESHOLD": "2",
    "REDIS_BREAKER_COOLDOWN_SECONDS": "3",
}
PG_FAIL_BUDGET = 5.5  # client deadline (2 s) + one reconnect attempt (connect timeout 2 s) + slack
HUNG_REDIS_FAST = 0.25  # a request that skips Redis (breaker open) vs. 0.5 s per Redis call


@dataclass
class Stack:
    workdir: Path
    pg: servers.PgCluster
    redis: servers.Managed
    app: servers.Managed
    env: dict[str, str]

    @property
    def base(self) -> str:
        return f"http://{servers.LOOPBACK}:{self.app.port}"

    def call(self, method: str, path: str, **kwargs) -> servers.HttpResult:
        return servers.http_request(method, self.base + path, timeout=20, **kwargs)

    def register(self, tag: str) -> str:
        email = f"{tag}-{uuid.uuid4().hex[:8]}@example.com"
        reply = self.call(
            "POST", "/api/v1/auth/register/", json_body={"email": email, "password": PASSWORD, "name": tag}
        )
        assert reply.status == 201, reply.body
        return email

    def login(self, email: str, password: str = PASSWORD) -> servers.HttpResult:
        return self.call("POST", "/api/v1/auth/token/", json_body={"email": email, "password": password})


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if not shutil.which("redis-server") or not servers.PG_BIN.exists():
        pytest.skip("needs redis-server and PostgreSQL 15 binaries (scripts/services.sh)")
    workdir = Path(tempfile.mkdtemp(prefix="ls-proof-faults-auth-"))
    pg = servers.PgCluster.create(Path(tempfile.mkdtemp(prefix="ls-proof-pg-auth-")))
    cleanup = [pg.destroy]
    try:
        pg.start()
        import psycopg

        with psycopg.connect(f"{pg.url_base}/postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        redis = servers.start_redis(workdir)
        current = {"redis": redis}
        cleanup.append(lambda: current["redis"].stop())
        env = servers.app_env(
            {
                "DJANGO_ENV": "test",
                "DATABASE_URL": f"{pg.url_base}/{DB_NAME}",
                "REDIS_URL": f"redis://{servers.LOOPBACK}:{redis.port}/0",
                "MONGO_URI": os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27018"),
                "LOG_LEVEL": "WARNING",
                "DATABASE_TEST_NAME": "",
                **ENV,
            }
        )
        servers.manage(["migrate", "--noinput"], env)
        app = servers.start_gunicorn(env, workdir, workers=1, threads=4)
        cleanup.append(app.stop)
        stack = Stack(workdir=workdir, pg=pg, redis=redis, app=app, env=env)
        cleanup.append(lambda: current.update(redis=stack.redis))  # runs first: stop the live one
        yield stack
    finally:
        for stop in reversed(cleanup):
            try:
                stop()
            except Exception as exc:
                print(f"cleanup: {exc!r}")
        shutil.rmtree(workdir, ignore_errors=True)


def _away_from_window_edge() -> None:
    """Rate limits count in clock-aligned minute windows: start a burst with the window far from over."""
    second = time.time() % 60
    if second > 45:
        time.sleep(61 - second)


def _envelope_code(reply: servers.HttpResult) -> str:
    with contextlib.suppress(ValueError):
        return str(json.loads(reply.body)["error"]["code"])
    return ""


def _wait_until(check, timeout: float = 15.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(OSError):
            if check():
                return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not recovered within {timeout}s")


def _restart_redis(stack: Stack) -> None:
    stack.redis = servers.start_redis(stack.workdir, stack.redis.port)
    _wait_until(lambda: stack.call("GET", "/readyz").status in (200, 503) and _redis_counts(stack))


def _redis_counts(stack: Stack) -> bool:
    """True once the app writes rate-limit counters to Redis again (breaker closed)."""
    import redis as redis_lib

    stack.call("POST", "/api/v1/auth/token/refresh/", json_body={"refresh": "probe.probe.probe"})
    keys = redis_lib.Redis(host=servers.LOOPBACK, port=stack.redis.port).keys("*auth:refresh_ip*")
    return bool(keys)


# --- Redis ------------------------------------------------------------------------------------------
def test_redis_down_login_and_refresh_work_and_stay_limited(stack: Stack) -> None:
    user, victim = stack.register("redis-down"), stack.register("redis-victim")
    stack.redis.stop(signal.SIGKILL)  # by PID
    try:
        _away_from_window_edge()
        login = stack.login(user)
        refreshed = stack.call(
            "POST", "/api/v1/auth/token/refresh/", json_body={"refresh": login.json()["refresh"]}
        )
        me = stack.call("GET", "/api/v1/auth/me/", token=refreshed.json()["access"])
        guesses = [stack.login(victim, f"wrong-guess-{i:04}") for i in range(6)]
    finally:
        _restart_redis(stack)

    assert login.status == 200, login.body
    assert refreshed.status == 200, refreshed.body
    assert me.status == 200, me.body
    assert [g.status for g in guesses] == [401] * 5 + [429], [(g.status, g.body[:80]) for g in guesses]
    assert _envelope_code(guesses[-1]) == "rate_limited"
    assert max(r.elapsed for r in [login, refreshed, me, *guesses]) < 2.0


def test_hung_redis_is_skipped_by_the_breaker(stack: Stack) -> None:
    email = stack.register("redis-hung")
    access = stack.login(email).json()["access"]
    os.kill(stack.redis.pid, signal.SIGSTOP)
    try:
        warmup = [stack.call("GET", "/api/v1/auth/me/", token=access) for _ in range(3)]
        timed = [stack.call("GET", "/api/v1/auth/me/", token=access) for _ in range(10)]
        login = stack.login(email)
    finally:
        os.kill(stack.redis.pid, signal.SIGCONT)
    recovered = _wait_until(lambda: _redis_counts(stack))

    assert [r.status for r in warmup + timed] == [200] * 13
    assert max(r.elapsed for r in timed) < HUNG_REDIS_FAST, [round(r.elapsed, 3) for r in timed]
    assert login.status == 200, login.body
    assert login.elapsed < 1.5
    assert recovered < 10


# --- PostgreSQL -------------------------------------------------------------------------------------
def _cluster_pids(stack: Stack) -> list[int]:
    """The postmaster and its children (backends, background workers), read from /proc."""
    postmaster = stack.pg.pid
    pids = [postmaster]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == postmaster:
                pids.append(int(stat.parent.name))
    return pids


def test_hung_postgres_fails_fast_and_recovers(stack: Stack) -> None:
    email = stack.register("pg-hung")
    access = stack.login(email).json()["access"]
    assert stack.call("GET", "/api/v1/auth/me/", token=access).status == 200  # a pooled connection
    master = stack.app.pid
    pids = _cluster_pids(stack)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        during = [
            stack.call("GET", "/api/v1/auth/me/", token=access),
            stack.login(email),
            stack.call("GET", "/api/v1/auth/me/", token=access),
        ]
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    recovered = _wait_until(lambda: stack.call("GET", "/api/v1/auth/me/", token=access).status == 200)
    relogin = stack.login(email)

    assert [r.status for r in during] == [503, 503, 503], [(r.status, r.body[:120]) for r in during]
    assert {_envelope_code(r) for r in during} == {"service_unavailable"}
    assert all("retry-after" in r.headers for r in during)
    assert max(r.elapsed for r in during) < PG_FAIL_BUDGET, [round(r.elapsed, 2) for r in during]
    assert recovered < 15
    assert relogin.status == 200, relogin.body
    assert stack.app.pid == master  # recovered without a restart


def test_lock_held_by_a_stuck_transaction_times_out(stack: Stack) -> None:
    import psycopg

    email = stack.register("pg-lock")
    access = stack.login(email).json()["access"]
    with psycopg.connect(f"{stack.pg.url_base}/{DB_NAME}") as holder:
        holder.execute("SELECT id FROM accounts_user WHERE email = %s FOR UPDATE", (email,))
        blocked = stack.call("POST", "/api/v1/auth/logout-all/", token=access)
        holder.rollback()
    after = stack.call("POST", "/api/v1/auth/logout-all/", token=access)

    assert blocked.status == 503, blocked.body
    assert _envelope_code(blocked) == "service_unavailable"
    assert blocked.elapsed < 3.0
    assert after.status == 204, after.body

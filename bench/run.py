"""LearnStream reference benchmark (`make bench`): wrk against the production gunicorn, written to
docs/benchmarks.md.

The shape of issue "Faster than the FastAPI original on every hot path":
1. a fresh SecantusDB (:memory:) of our own, the running PostgreSQL and Redis (scripts/services.sh)
   with a bench database and Redis DB recreated on every run;
2. gunicorn exactly as the README's production section runs it (gunicorn.conf.py, DJANGO_ENV=production,
   secrets as environment variables), rate limits off (RATELIMIT_ENABLE=false), `db_worker`s for tasks
   and the Mux emulator as Mux;
3. data seeded through the HTTP API: 200 published courses x 10 lessons, videos made ready through the
   emulator (upload URL from our API, bytes PUT to the emulator, asset ready, signed webhooks to us),
   50 students registered through the API with 5 enrollments each;
4. `wrk -t2 -c32 -d15s --latency` per cell, 3 interleaved reps (cell 1..N, then again, then again),
   medians of req/s, p50 and p99; non-2xx counts; server CPU per request (/proc of the gunicorn master
   and workers) and store CPU per request (PostgreSQL backends of the bench database, redis-server,
   our SecantusDB);
5. staff enrollment: one 10,000-row CSV through gunicorn, timed against the worker timeout;
   the uncached `page_size=100` list page computed in-process at 1x and 10x the catalog;
6. webhook processing: the seed's video events re-emitted by the emulator with fresh ids (held, then
   released at once), stored by gunicorn while the `db_worker` is paused, then drained by it; events
   per second of the drain;
7. compares with the FastAPI figures of the issue, checks the targets, flags any rep below half its
   cell's median, and profiles four hot paths in-process (pyinstrument).

Access tokens live 5 minutes, longer than the run: they are minted with the real token service
(accounts.tokens) right before each cell instead of logging in 50 students per cell.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import servers  # noqa: E402

BENCH_DB = "learnstream_bench"
BENCH_MONGO_DB = "learnstream_bench"
BENCH_REDIS_DB = int(os.environ.get("LS_BENCH_REDIS_DB", "14"))
PASSWORD = "bench-Passphrase-2024-x"  # noqa: S105 - throwaway benchmark users
COURSES = int(os.environ.get("LS_BENCH_COURSES", "200"))  # a smaller catalog only for smoke runs
LESSONS, STUDENTS, ENROLLMENTS = 10, 50, 5
CLK_TCK = os.sysconf("SC_CLK_TCK")
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(4096)

# The FastAPI original in its best configuration (uvicorn, 2 workers), same machine, same data, same
# wrk shape; from the issue. (req/s, p50 ms, p99 ms); None where it was not measured or not comparable.
FASTAPI: dict[str, tuple[float, float | None, float | None] | None] = {
    "course list (page of 20)": (120, 256, 448),
    "course list page_size=100": (120, None, None),
    "course detail": (968, 32, 120),
    "course lessons": (18, 1690, 2774),
    "playback (enrolled student)": (246, 121, 650),
    "enroll again (already enrolled)": (189, None, None),
    "/healthz": (5348, 6, 15),
    "login": (5.0, None, None),
    "progress heartbeat": None,
    "curriculum": None,
    "progress heartbeat with segments": None,
    "course analytics (200 courses round-robin)": None,
}
# Minimum req/s per cell (the issue's "Targets").
TARGETS = {
    "/healthz": 3200.0,
    "course detail": 1450.0,
    "playback (enrolled student)": 740.0,
    "enroll again (already enrolled)": 565.0,
    "course list page_size=100": 360.0,
    "course lessons": 1000.0,
}
HEALTHZ_P99_MS = 30.0
# Webhook processing: events re-emitted by the Mux emulator, drained by the `db_worker`s (the issue's target).
HEARTBEAT_SHARE = 0.5  # issue 11: the heartbeat's rate against the store's raw upserts
WEBHOOK_EVENTS = int(os.environ.get("LS_BENCH_WEBHOOK_EVENTS", "1000"))
WEBHOOK_TARGET = 100.0
# Task workers, as the README's production section and docker-compose.yml run them (`manage.py db_worker`
# processes; each claims its own events, the inbox's lease and compare-and-set keep concurrent ones safe).
WORKERS = int(os.environ.get("LS_BENCH_WORKERS", "2"))
MONGO_DEADLINE_MS = 2000  # MONGO_TIMEOUT_MS's default, which the bench does not change


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- processes and CPU --------------------------------------------------------------------------------
def cpu_ticks(pids: list[int]) -> dict[int, int]:
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, and cutime, cstime: the children it reaped (gunicorn's recycled workers)
        found[pid] = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return found


def cpu_used(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds used between the two samples. A process that started in between counts from 0 (a
    fork starts with no CPU time); one that ended counts in its reaping parent's children's time (a
    recycled gunicorn worker in the master's), so recycling during a cell loses nothing. That time is
    its whole life, so what it had used by the first sample is taken off: else a worker recycled during
    a cell charged that cell with every earlier cell's CPU (3.6 ms per /healthz in one run)."""
    ended = sum(ticks for pid, ticks in before.items() if pid not in after)
    return max(0, sum(after[pid] - before.get(pid, 0) for pid in after) - ended) / CLK_TCK


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("installing wrk (apt-get)")
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, timeout=600)
    return shutil.which("wrk") or "wrk"


# --- the system under test ----------------------------------------------------------------------------
class System:
    def __init__(self, workdir: Path) -> None:
        from streaming.emulator import EmulatorConfig, MuxEmulator

        self.workdir = workdir
        log("starting a fresh SecantusDB (:memory:)")
        self.mongo = servers.start_secantus(workdir, storage=":memory:")
        # As the embedded default runs it (scripts/run.sh): no retryable writes (learnstream/mongo.py).
        mongo_uri = f"mongodb://127.0.0.1:{self.mongo.port}/?retryWrites=false"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env["MONGO_URI"] = mongo_uri
        out = subprocess.run(
            ["scripts/services.sh"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
        found = {}
        for line in out.splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                found[name] = shlex.split(value)[0]
        self.stores = self._fresh_stores(found["DATABASE_URL"], mongo_uri)
        self.port = servers.free_port()
        self.webhook_secret = secrets.token_urlsafe(32)
        self.emulator = MuxEmulator(
            EmulatorConfig(
                token_id="bench-mux-token",  # noqa: S106 - the emulator's throwaway credential
                token_secret=secrets.token_urlsafe(16),
                webhook_url=f"http://127.0.0.1:{self.port}/webhooks/mux",
                webhook_secrets=[self.webhook_secret],
                ready_delay=0,
                webhook_max_attempts=8,
                webhook_retry_base_seconds=0.2,
            )
        ).start()
        # The README's production environment; nothing else (no GUNICORN_* tuning, default logging).
        self.env = servers.app_env(
            {
                "DJANGO_SETTINGS_MODULE": "learnstream.settings",
                "DJANGO_ENV": "production",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
                **self.stores,
                "MONGO_DB": BENCH_MONGO_DB,
                "MUX_TOKEN_ID": self.emulator.config.token_id,
                "MUX_TOKEN_SECRET": self.emulator.config.token_secret,
                "MUX_API_BASE_URL": self.emulator.url,
                "MUX_STREAM_BASE_URL": f"{self.emulator.url}/stream",
                "MUX_IMAGE_BASE_URL": f"{self.emulator.url}/image",
                "MUX_WEBHOOK_SECRET": self.webhook_secret,
                "MUX_SIGNING_KEY_ID": "pending",
                "MUX_SIGNING_PRIVATE_KEY": "pending",
                "MUX_CORS_ORIGIN": "http://127.0.0.1",
                "RATELIMIT_ENABLE": "false",
                # The seed uploads 2,000 videos as one instructor; the per-hour quota is a rate limit too.
                "MUX_UPLOADS_PER_HOUR": str(COURSES * LESSONS),
            }
        )
        for name in [k for k in self.env if k.startswith("GUNICORN_")]:
            del self.env[name]
        os.environ.update(self.env)
        import django

        django.setup()
        import logging

        from django.conf import settings

        # In-process profiles still format every log line, but the bench's own output stays readable.
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process

        from streaming import mux

        key = mux.create_signing_key()
        for name, value in (("MUX_SIGNING_KEY_ID", key.id), ("MUX_SIGNING_PRIVATE_KEY", key.private_key_b64)):
            setattr(settings, name, value)
            self.env[name] = value
            os.environ[name] = value
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    @staticmethod
    def _fresh_stores(admin_url: str, mongo_uri: str) -> dict[str, str]:
        import psycopg
        import redis

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        redis_url = f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}"
        redis.Redis.from_url(redis_url).flushdb()
        base, _, _ = admin_url.rpartition("/")
        return {"DATABASE_URL": f"{base}/{BENCH_DB}", "REDIS_URL": redis_url, "MONGO_URI": mongo_uri}

    def _spawn(
        self, cmd: list[str], name: str, extra: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("ab") as out:
            return subprocess.Popen(
                cmd,
                cwd=ROOT,
                env={**self.env, **(extra or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start(self) -> None:
        log("migrate, mongo_indexes, collectstatic (as every release does)")
        servers.manage(["migrate", "--noinput"], self.env)
        servers.manage(["mongo_indexes"], self.env)
        servers.manage(["collectstatic", "--noinput"], self.env)
        self.workers = [
            self._spawn([str(servers.VENV_BIN / "python"), "manage.py", "db_worker"], f"worker-{n}")
            for n in range(WORKERS)
        ]
        # The README's command; GUNICORN_BIND only moves it to a free loopback port.
        self.gunicorn = self._spawn(
            [str(servers.VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "learnstream.wsgi"],
            "gunicorn",
            {"GUNICORN_BIND": f"127.0.0.1:{self.port}"},
        )
        servers.wait_for_port(self.port, timeout=60, proc=self.gunicorn)
        log(f"gunicorn {self.gunicorn.pid} on :{self.port}, db_worker {[w.pid for w in self.workers]}")

    def handle(self) -> Any:
        from tests.support.mux import MuxEmulatorHandle

        return MuxEmulatorHandle(
            server=self.emulator,
            url=self.emulator.url,
            token_id=self.emulator.config.token_id,
            token_secret=self.emulator.config.token_secret,
            webhook_secret=self.webhook_secret,
            signing_key_id=self.env["MUX_SIGNING_KEY_ID"],
            signing_private_key=self.env["MUX_SIGNING_PRIVATE_KEY"],
        )

    def server_pids(self) -> list[int]:
        assert self.gunicorn is not None
        return [self.gunicorn.pid, *children(self.gunicorn.pid)]

    def worker_pids(self) -> list[int]:
        return [pid for w in self.workers for pid in (w.pid, *children(w.pid))]

    def store_pids(self) -> dict[str, list[int]]:
        import psycopg
        import redis

        with psycopg.connect(self.stores["DATABASE_URL"], autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [BENCH_DB]
            ).fetchall()
        redis_pid = int(redis.Redis.from_url(self.stores["REDIS_URL"]).info("server")["process_id"])
        return {
            "postgres": [int(r[0]) for r in rows],
            "redis": [redis_pid],
            "secantus": [self.mongo.pid, *children(self.mongo.pid)],
        }

    def settle(self, *, limit: float) -> float:
        """Wait until gunicorn, the task worker and SecantusDB are idle (< 10 % of one CPU over 1 s), at
        most `limit` seconds: a cell that overloads a store (or webhooks still being processed) must not
        slow the next cell. Returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            pids = [*self.server_pids(), *self.worker_pids(), *self.store_pids()["secantus"]]
            before = cpu_ticks(pids)
            time.sleep(1.0)
            if cpu_used(before, cpu_ticks(pids)) < 0.1:
                break
        return time.monotonic() - started

    def stop(self) -> None:
        for proc in (self.gunicorn, *self.workers):
            if proc is not None:
                servers.stop_pid(proc.pid)
        self.emulator.stop()
        self.mongo.stop()


# --- seed (through the API) ---------------------------------------------------------------------------
@dataclass
class Seed:
    owner_id: int
    courses: list[str]
    lessons: dict[str, list[str]]
    students: list[tuple[int, str]]  # (user id, email)
    enrolled: dict[int, list[str]] = field(default_factory=dict)
    ready_videos: int = 0


def seed(system: System, *, video_seconds: float) -> Seed:
    from accounts.models import User
    from accounts.tokens import issue_token_pair

    base = f"http://127.0.0.1:{system.port}"

    def call(method: str, path: str, token: str | None = None, body: Any = None, ok: int = 200) -> Any:
        reply = servers.http_request(method, base + path, json_body=body, token=token, timeout=60)
        if reply.status != ok:
            raise RuntimeError(f"{method} {path} answered {reply.status}: {reply.body[:300]!r}")
        return reply.json() if reply.body else None

    # Instructors are made by staff, not by self-registration: the one direct write of the seed.
    owner = User.objects.create_user(
        email=f"bench-owner-{uuid.uuid4().hex[:6]}@example.com",
        password=PASSWORD,
        name="Owner",
        role="instructor",
    )
    owner_token = issue_token_pair(owner)[0]

    def make_course(n: int) -> tuple[str, list[str]]:
        body = {
            "title": f"Bench course {n:03d}",
            "description": "A course of the benchmark catalog. " * 4,
            "tags": ["bench", f"t{n % 7}"],
            "level": "beginner",
        }
        cid = call("POST", "/api/v1/courses/", owner_token, body, 201)["id"]
        lessons = [
            call(
                "POST",
                f"/api/v1/courses/{cid}/lessons/",
                owner_token,
                {"title": f"Lesson {k + 1}", "description": "Bench lesson.", "is_preview": k == 1},
                201,
            )["id"]
            for k in range(LESSONS)
        ]
        call("POST", f"/api/v1/courses/{cid}/publish/", owner_token, None, 200)
        return cid, lessons

    log(f"seeding {COURSES} published courses x {LESSONS} lessons through the API")
    with ThreadPoolExecutor(max_workers=6) as pool:
        made = list(pool.map(make_course, range(COURSES)))
    courses = [cid for cid, _ in made]
    lessons = dict(made)

    log(f"registering {STUDENTS} students through the API, {ENROLLMENTS} enrollments each")
    tag = uuid.uuid4().hex[:6]

    def register(n: int) -> str:
        email = f"bench-{tag}-{n}@example.com"
        call(
            "POST",
            "/api/v1/auth/register/",
            None,
            {"email": email, "password": PASSWORD, "name": f"S {n}"},
            201,
        )
        return email

    with ThreadPoolExecutor(max_workers=4) as pool:
        emails = list(pool.map(register, range(STUDENTS)))
    users = {u.email: u for u in User.objects.filter(email__in=emails)}
    students = [(users[e].pk, e) for e in emails]
    enrolled: dict[int, list[str]] = {}

    def enroll(student: tuple[int, str]) -> None:
        uid, _email = student
        token = issue_token_pair(users[_email])[0]
        picks = [
            courses[0],
            *[courses[1 + (uid * 7 + k * 31) % (COURSES - 1)] for k in range(ENROLLMENTS - 1)],
        ]
        picks = list(dict.fromkeys(picks))
        for cid in picks:
            call("POST", f"/api/v1/courses/{cid}/enroll/", token, None, 201)
        enrolled[uid] = picks

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(enroll, students))

    handle = system.handle()
    # Every lesson of the first course (the playback cell's), then course by course until the budget.
    order = [lid for cid in courses for lid in lessons[cid]]
    deadline = time.monotonic() + video_seconds
    started: list[str] = []
    log(f"making videos ready through the Mux emulator (budget {video_seconds:.0f} s)")
    minted = time.monotonic()
    for n, lid in enumerate(order):
        if n >= LESSONS and time.monotonic() > deadline:
            break
        if time.monotonic() - minted > 120:  # access tokens live 5 minutes
            owner_token, minted = issue_token_pair(owner)[0], time.monotonic()
        upload = call("POST", f"/api/v1/lessons/{lid}/upload/", owner_token, None, 201)
        handle.upload_bytes(upload["upload_url"], VIDEO_BYTES)
        handle.make_ready(handle.asset_for_upload(upload["upload_id"])["id"], duration=120.0)
        started.append(lid)
    handle.flush_webhooks(timeout=120)
    ready = 0
    wait_until = time.monotonic() + max(60.0, video_seconds)
    owner_token = issue_token_pair(owner)[0]
    for lid in started:
        while True:
            lesson = call("GET", f"/api/v1/lessons/{lid}/", owner_token)
            if lesson.get("video_status") == "ready" or time.monotonic() > wait_until:
                break
            time.sleep(0.5)
        ready += lesson.get("video_status") == "ready"
    log(f"{ready} of {len(order)} lessons have a ready video")
    first_course_ready = all(lid in started for lid in lessons[courses[0]])
    if not first_course_ready or ready < LESSONS:
        raise RuntimeError("the playback course's videos did not become ready")
    return Seed(owner.pk, courses, lessons, students, enrolled, ready)


# --- cells ---------------------------------------------------------------------------------------------
@dataclass
class Cell:
    name: str
    lines: Callable[[], list[str]] | None  # request lines for requests.lua (None: plain GET of `path`)
    path: str = "/healthz"


def cells(seed_: Seed) -> list[Cell]:
    from accounts.models import User
    from accounts.tokens import issue_token_pair

    course, lesson = seed_.courses[0], seed_.lessons[seed_.courses[0]][0]

    def tokens() -> list[str]:
        users = {u.pk: u for u in User.objects.filter(pk__in=[s[0] for s in seed_.students])}
        return [issue_token_pair(users[uid])[0] for uid, _ in seed_.students]

    def owner_token() -> str:
        return issue_token_pair(User.objects.get(pk=seed_.owner_id))[0]

    def get(path: str) -> Callable[[], list[str]]:
        return lambda: [f"GET\t{path}\t\t"]

    # Position-major: consecutive lines are different learners, as when 50 players each send their
    # next heartbeat. wrk's 16 connections per thread take consecutive lines, so learner-major order
    # sent up to 16 heartbeats of ONE learner at once, a write hot spot no player produces.
    def heartbeat() -> list[str]:
        learners = tokens()
        return [
            f"PUT\t/api/v1/lessons/{lesson}/progress/\t{t}\t{json.dumps({'position': float(p)})}"
            for p in range(1, 21)
            for t in learners
        ]

    def heartbeat_segments() -> list[str]:
        # The same heartbeats carrying the seconds played since the previous one (watched coverage).
        learners = tokens()
        return [
            f"PUT\t/api/v1/lessons/{lesson}/progress/\t{t}\t"
            + json.dumps({"position": float(p), "segments": [[float(p - 1), float(p)]]})
            for p in range(1, 21)
            for t in learners
        ]

    def login() -> list[str]:
        return [
            f"POST\t/api/v1/auth/token/\t\t{json.dumps({'email': email, 'password': PASSWORD})}"
            for _uid, email in seed_.students
        ]

    def analytics() -> list[str]:
        token = owner_token()
        return [f"GET\t/api/v1/courses/{cid}/analytics/\t{token}\t" for cid in seed_.courses]

    return [
        Cell("course list (page of 20)", get("/api/v1/courses/")),
        Cell("course list page_size=100", get("/api/v1/courses/?page_size=100")),
        Cell("course detail", get(f"/api/v1/courses/{course}/")),
        Cell("course lessons", get(f"/api/v1/courses/{course}/lessons/")),
        Cell("curriculum", get(f"/api/v1/courses/{course}/curriculum/")),
        Cell(
            "playback (enrolled student)",
            lambda: [f"GET\t/api/v1/lessons/{lesson}/playback/\t{t}\t" for t in tokens()],
        ),
        Cell(
            "enroll again (already enrolled)",
            lambda: [f"POST\t/api/v1/courses/{course}/enroll/\t{t}\t" for t in tokens()],
        ),
        Cell("/healthz", None, "/healthz"),
        Cell("login", login),
        Cell("progress heartbeat", heartbeat),
        Cell("progress heartbeat with segments", heartbeat_segments),
        Cell("course analytics (200 courses round-robin)", analytics),
    ]


@dataclass
class Rep:
    rate: float
    p50: float
    p99: float
    requests: int
    non2xx: int
    socket_errors: int
    server_cpu_ms: float  # per request
    store_cpu_ms: dict[str, float]  # per request


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(out: str) -> tuple[float, float, float, int, int, int]:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(x) for x in sock.groups()) if sock else 0
    return rate, p50, p99, requests, int(non2xx.group(1)) if non2xx else 0, errors


def run_cell(system: System, wrk: str, cell: Cell, args: argparse.Namespace, workdir: Path) -> Rep:
    url = f"http://127.0.0.1:{system.port}"
    cmd = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if cell.lines is not None:
        script = workdir / "requests.txt"
        script.write_text("\n".join(cell.lines()) + "\n")
        cmd += ["-s", str(ROOT / "bench" / "requests.lua"), url, "--", str(script)]
    else:
        cmd.append(url + cell.path)
    server_pids, store_pids = system.server_pids(), system.store_pids()
    before = cpu_ticks(server_pids), {k: cpu_ticks(v) for k, v in store_pids.items()}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 60, check=True).stdout
    after = cpu_ticks(system.server_pids()), {k: cpu_ticks(v) for k, v in system.store_pids().items()}
    rate, p50, p99, requests, non2xx, errors = parse_wrk(out)
    n = max(requests, 1)
    return Rep(
        rate,
        p50,
        p99,
        requests,
        non2xx,
        errors,
        cpu_used(before[0], after[0]) * 1000 / n,
        {k: cpu_used(before[1][k], after[1][k]) * 1000 / n for k in before[1]},
    )


# --- webhook processing -----------------------------------------------------------------------------------
@dataclass
class WebhookRun:
    events: int
    stored_seconds: float  # release -> every event delivered and in the inbox (workers paused)
    drained_seconds: float  # workers resumed -> every event processed (or failed)
    processed: int
    failed: int
    worker_cpu_ms: float  # per event
    secantus_cpu_ms: float  # per event

    @property
    def rate(self) -> float:
        return self.processed / self.drained_seconds if self.drained_seconds else 0.0


def webhook_throughput(system: System, *, events: int) -> WebhookRun:
    """Re-emit the seed's video events (same data, fresh ids) while the emulator holds deliveries, then
    release them all: gunicorn stores each once in the inbox while the workers are paused (SIGSTOP), so the
    drain that follows measures the workers alone (lesson lookup by passthrough and a monotonic state-machine
    step per event), not the emulator's delivery rate."""
    import psycopg

    handle = system.handle()
    captured = [e for e in handle.events() if e["type"].startswith("video.")]
    if not captured:
        raise RuntimeError("the seed emitted no video events to replay")
    with psycopg.connect(system.stores["DATABASE_URL"], autocommit=True) as conn:
        mark = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    handle.hold_webhooks()
    for n in range(events):
        event = captured[n % len(captured)]["payload"]
        handle.emit_event(
            event["type"], event["data"], object_type=event["object"]["type"], object_id=event["object"]["id"]
        )
    worker_pids = system.worker_pids()
    query = (
        "SELECT count(*), count(*) FILTER (WHERE status = 'processed'),"
        " count(*) FILTER (WHERE status = 'failed') FROM webhooks_webhookevent WHERE received_at >= %s"
    )
    for worker in system.workers:
        os.killpg(worker.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        released = handle.release_webhooks()
        handle.flush_webhooks(timeout=300)
        stored_seconds = time.monotonic() - started
    finally:
        for worker in system.workers:
            os.killpg(worker.pid, signal.SIGCONT)
    secantus = system.store_pids()["secantus"]
    before = cpu_ticks(worker_pids), cpu_ticks(secantus)
    started = time.monotonic()
    with psycopg.connect(system.stores["DATABASE_URL"], autocommit=True) as conn:
        while True:
            total, processed, failed = conn.execute(query, [mark]).fetchone()  # type: ignore[misc]
            drained = time.monotonic() - started
            if processed + failed >= total >= released:
                break
            if drained > 600:
                raise RuntimeError(f"webhooks not drained after 600 s: {processed + failed}/{released}")
            time.sleep(0.05)
    after = cpu_ticks(worker_pids), cpu_ticks(secantus)
    return WebhookRun(
        events=released,
        stored_seconds=stored_seconds,
        drained_seconds=drained,
        processed=processed,
        failed=failed,
        worker_cpu_ms=cpu_used(before[0], after[0]) * 1000 / released,
        secantus_cpu_ms=cpu_used(before[1], after[1]) * 1000 / released,
    )


# --- the store's own write rate: raw upserts ---------------------------------------------------------------
@dataclass
class RawUpsertRun:
    rates: list[float]  # upserts/s per rep
    secantus_cpu_ms: float  # per upsert, over all reps

    @property
    def rate(self) -> float:
        return med(self.rates)


def raw_upserts(system: System, *, seconds: float, reps: int, connections: int) -> RawUpsertRun:
    """The ceiling the heartbeat is held against (issue 11: heartbeat >= 50 % of raw upserts): as many
    concurrent clients as wrk has connections, each upserting progress-shaped documents (`$set` the
    position, `$max` the furthest one) into the heartbeat's own collection and indexes, from this process
    with pymongo, no app in between. Learners that do not exist (negative ids), deleted afterwards."""
    from bson import ObjectId
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(system.stores["MONGO_URI"], maxPoolSize=connections)
    col = client[BENCH_MONGO_DB]["progress"]
    lesson, course = ObjectId(), ObjectId()
    secantus = system.store_pids()["secantus"]

    def worker(n: int, stop_at: float, counts: list[int]) -> None:
        i = 0
        while time.monotonic() < stop_at:
            now = dt.datetime.now(dt.UTC)
            col.update_one(
                {"user_id": -(n * 100 + i % 50) - 1, "lesson_id": lesson},
                {
                    "$set": {"position": float(i), "updated_at": now, "course_id": course},
                    "$max": {"max_position": float(i)},
                },
                upsert=True,
            )
            i += 1
        counts[n] = i

    rates: list[float] = []
    total, before = 0, cpu_ticks(secantus)
    try:
        for _rep in range(reps):
            counts = [0] * connections
            started = time.monotonic()
            stop_at = started + seconds
            threads = [threading.Thread(target=worker, args=(n, stop_at, counts)) for n in range(connections)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rates.append(sum(counts) / (time.monotonic() - started))
            total += sum(counts)
        cpu = cpu_used(before, cpu_ticks(secantus))
    finally:
        col.delete_many({"lesson_id": lesson})
        client.close()
    return RawUpsertRun(rates=rates, secantus_cpu_ms=cpu * 1000 / total if total else 0.0)


# --- staff enrollment: a 10,000-row CSV through gunicorn ---------------------------------------------------
STAFF_ROWS = 10_000
REQUEST_TIMEOUT_S = 30.0  # gunicorn.conf.py's worker timeout: the request must finish well inside it


@dataclass
class StaffRun:
    rows: int
    seconds: float
    enrolled: int
    status: int


def staff_enrollment(system: System, seed_: Seed) -> StaffRun:
    """The owner uploads a CSV of 10,000 existing learners to `POST courses/{id}/enrollments/` of a
    published course of the seed (the accounts are bulk-created first: registering 10,000 through the
    API would time the password hasher, not the enrollment)."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from accounts.tokens import issue_token_pair

    owner = User.objects.get(pk=seed_.owner_id)
    token = issue_token_pair(owner)[0]
    base = f"http://127.0.0.1:{system.port}"
    course_id = seed_.courses[-1]  # published; its few seeded enrollments are other learners
    tag = uuid.uuid4().hex[:6]
    password = make_password(None)
    User.objects.bulk_create(
        [
            User(email=f"roster-{tag}-{n}@example.com", name=f"R {n}", password=password)
            for n in range(STAFF_ROWS)
        ],
        batch_size=2000,
    )
    rows = "".join(f"roster-{tag}-{n}@example.com,R {n}\r\n" for n in range(STAFF_ROWS))
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="roster.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\nemail,name\r\n{rows}\r\n--{boundary}--\r\n"
    ).encode()
    started = time.monotonic()
    reply = servers.http_request(
        "POST",
        f"{base}/api/v1/courses/{course_id}/enrollments/",
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        token=token,
        timeout=120,
    )
    seconds = time.monotonic() - started
    if reply.status != 200:
        log(f"staff enrollment answered {reply.status}: {reply.body[:300]!r}")
    enrolled = len(reply.json().get("enrolled", [])) if reply.status == 200 else 0
    return StaffRun(rows=STAFF_ROWS, seconds=seconds, enrolled=enrolled, status=reply.status)


# --- the uncached list page at 1x and 10x the catalog ------------------------------------------------------
SCALES = (1, 10)


@dataclass
class ScaleRun:
    courses: int
    lessons: int
    timings_ms: dict[str, list[float]]  # page label -> uncached computations


def catalog_scale(system: System, *, repeat: int = 5) -> list[ScaleRun]:
    """Time the uncached computation of the public `page_size=100` list (the page cache's miss path,
    `catalog.selectors.course_page`) against catalogs of 1x and 10x the bench's size, shaped like it
    (published courses x 10 lessons with durations) and bulk-written straight into a scratch database
    of the bench's SecantusDB, with the app's declared indexes."""
    import pymongo
    from bson import ObjectId
    from django.conf import settings

    from catalog.indexes import ensure_indexes
    from catalog.selectors.courses import CourseListParams, course_list_query, course_page
    from learnstream import mongo
    from learnstream.permissions import ANONYMOUS

    runs: list[ScaleRun] = []
    original_db = settings.MONGO_DB
    now = dt.datetime.now(dt.UTC)
    try:
        for scale in SCALES:
            settings.MONGO_DB = f"learnstream_scale_{scale}"
            db = mongo.get_db()
            db.client.drop_database(settings.MONGO_DB)
            ensure_indexes()
            courses, lessons = [], []
            for n in range(COURSES * scale):
                cid, lesson_ids = ObjectId(), [ObjectId() for _ in range(LESSONS)]
                at = now - dt.timedelta(minutes=n)
                title = f"Scale course {n:05d}"
                courses.append(
                    {
                        "_id": cid,
                        "title": title,
                        "title_sort": title.casefold(),
                        "slug": f"scale-{n}",
                        "description": "A course of the scaled catalog. " * 4,
                        "tags": ["bench", f"t{n % 7}"],
                        "level": "beginner",
                        "status": "published",
                        "owner_id": seed_owner_id(),
                        "lesson_ids": lesson_ids,
                        "created_at": at,
                        "updated_at": at,
                        "published_at": at,
                    }
                )
                lessons += [
                    {
                        "_id": lid,
                        "course_id": cid,
                        "title": f"Lesson {k + 1}",
                        "description": "Bench lesson.",
                        "is_preview": k == 1,
                        "duration": 120.0,
                        "created_at": at,
                        "updated_at": at,
                    }
                    for k, lid in enumerate(lesson_ids)
                ]
            with pymongo.timeout(300):  # bulk seeding, not a request: the 2 s request deadline is not its
                for start in range(0, len(courses), 500):
                    db.courses.insert_many(courses[start : start + 500])
                for start in range(0, len(lessons), 1000):
                    db.lessons.insert_many(lessons[start : start + 1000])
            query = course_list_query(actor=ANONYMOUS, params=CourseListParams())
            last = max(0, (COURSES * scale - 1) // 100 * 100)
            timings: dict[str, list[float]] = {"first page": [], f"last page (offset {last:,})": []}
            for _ in range(repeat):
                for label, offset in zip(timings, (0, last), strict=True):
                    started = time.perf_counter()
                    page = course_page(query=query, offset=offset, limit=100)
                    timings[label].append((time.perf_counter() - started) * 1000)
                    assert page.total == COURSES * scale, (page.total, label)
                    assert len(page.items) == min(100, COURSES * scale - offset), (len(page.items), label)
            runs.append(ScaleRun(COURSES * scale, len(lessons), timings))
            db.client.drop_database(settings.MONGO_DB)
    finally:
        settings.MONGO_DB = original_db
    return runs


# --- course analytics, uncached: 1 course / 10 learners vs 100,000 progress documents -----------------------
ANALYTICS_DOCS = int(os.environ.get("LS_BENCH_ANALYTICS_DOCS", "100000"))
ANALYTICS_SMALL_LEARNERS = 10
ANALYTICS_REQUESTS = 30  # sequential uncached requests per course, interleaved small / large
ANALYTICS_DURATION = 600.0


@dataclass
class AnalyticsRun:
    label: str
    learners: int
    documents: int
    timings_ms: list[float]
    statuses: list[int]
    active: int  # active_learners_7d of the first answer
    expected_active: int

    @property
    def non200(self) -> int:
        return sum(1 for s in self.statuses if s != 200)


def progress_doc(
    *, user_id: int, lesson_id: str, course_id: str, at: dt.datetime, rng: Any
) -> dict[str, Any]:
    """A progress document as the heartbeat pipeline leaves it (`catalog/repositories/progress.py`): the
    watched union from 0, a fifth of them completed, `rolled` = what the rollups count, one write record."""
    from bson import ObjectId

    done = rng.random() < 0.2
    furthest = ANALYTICS_DURATION if done else round(rng.uniform(0, ANALYTICS_DURATION), 3)
    watched = round(ANALYTICS_DURATION * 0.95 if done else rng.uniform(0, furthest), 3)
    coverage = watched / ANALYTICS_DURATION
    return {
        "user_id": user_id,
        "lesson_id": ObjectId(lesson_id),
        "course_id": ObjectId(course_id),
        "position": furthest,
        "max_position": furthest,
        "segs": [[0.0, watched]] if watched else [],
        "watched_seconds": watched,
        "coverage": coverage,
        "completed": done,
        "completed_at": at if done else None,
        "decile": min(9, int(furthest * 10 // ANALYTICS_DURATION)),
        "cov_decile": min(10, int(coverage * 10)),
        "rolled": {"watched": watched, "percent": 100.0 if done else furthest / ANALYTICS_DURATION * 100},
        "beat_at": at,
        "preview": False,
        "created_at": at - dt.timedelta(hours=1),
        "updated_at": at,
        "_w": [{"w": secrets.token_hex(8), "t": False, "a0": at - dt.timedelta(minutes=1), "pv": False}],
    }


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def analytics_scale(system: System, seed_: Seed) -> list[AnalyticsRun]:
    """`GET courses/{id}/analytics` uncached (`CATALOG_ANALYTICS_CACHE_SECONDS=0` in the bench process; the
    real view, middleware and exception handler through the Django test client, sequential requests) for
    a course of 10 learners whose progress went through the real heartbeat path, and for a course of
    `ANALYTICS_DOCS` progress documents (10 lessons; learners' last activity spread over 9 days). The
    large course's documents are bulk-written in the shape the heartbeat pipeline writes, then
    `rollups_rebuild` builds what the heartbeats would have maintained (lesson rollups, learners' last
    active hours and their buckets), then 10 of its learners send real heartbeats on top. Both courses
    are made through the API; lesson durations are set directly (Mux would set them)."""
    import random

    import pymongo
    from bson import ObjectId
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from rest_framework.test import APIClient

    from accounts.models import User
    from accounts.tokens import issue_token_pair
    from catalog import cache as catalog_cache
    from catalog import services
    from catalog.models import Enrollment, EnrollmentStatus
    from catalog.repositories.base import collection
    from catalog.repositories.progress import hour_of
    from catalog.selectors.courses import course_get
    from catalog.services.rollups import rollups_rebuild
    from learnstream import mongo
    from learnstream.permissions import Actor

    owner = User.objects.get(pk=seed_.owner_id)
    token = issue_token_pair(owner)[0]
    base = f"http://127.0.0.1:{system.port}"
    rng = random.Random(12)
    now = dt.datetime.now(dt.UTC)

    def api(method: str, path: str, body: Any, ok: int) -> Any:
        reply = servers.http_request(method, base + path, json_body=body, token=token, timeout=60)
        if reply.status != ok:
            raise RuntimeError(f"{method} {path} answered {reply.status}: {reply.body[:300]!r}")
        return reply.json()

    def make_course(title: str, learners: int) -> tuple[str, list[str], list[Any]]:
        body = {"title": title, "description": "Analytics bench.", "tags": ["bench"], "level": "beginner"}
        cid = api("POST", "/api/v1/courses/", body, 201)["id"]
        lesson_ids = [
            api(
                "POST",
                f"/api/v1/courses/{cid}/lessons/",
                {"title": f"Lesson {k + 1}", "description": "Bench lesson.", "is_preview": False},
                201,
            )["id"]
            for k in range(LESSONS)
        ]
        api("POST", f"/api/v1/courses/{cid}/publish/", None, 200)
        collection("lessons").update_many(
            {"course_id": ObjectId(cid)}, {"$set": {"duration": ANALYTICS_DURATION}}
        )
        for lesson_id in lesson_ids:
            catalog_cache.lesson_invalidate(lesson_id=lesson_id)
        tag = uuid.uuid4().hex[:6]
        users = User.objects.bulk_create(
            [
                User(email=f"analytics-{tag}-{n}@example.com", name=f"A {n}", password=make_password(None))
                for n in range(learners)
            ],
            batch_size=2000,
        )
        Enrollment.objects.bulk_create(
            [Enrollment(user_id=u.pk, course_id=cid, status=EnrollmentStatus.ACTIVE) for u in users],
            batch_size=2000,
        )
        return cid, lesson_ids, users

    def beat(user: Any, lesson_id: str, position: float) -> None:
        services.progress_record(
            actor=Actor.of(user), lesson_id=lesson_id, position=position, segments=[[0.0, position]]
        )

    log(f"analytics: a course of {ANALYTICS_SMALL_LEARNERS} learners through the heartbeat path")
    small_id, small_lessons, small_users = make_course("Analytics small", ANALYTICS_SMALL_LEARNERS)
    for user in small_users:
        for lesson_id in small_lessons:
            beat(user, lesson_id, 3.0)
            beat(user, lesson_id, rng.uniform(4.0, 9.0))

    learners = max(1, ANALYTICS_DOCS // LESSONS)
    log(
        f"analytics: a course of {learners:,} learners x {LESSONS} lessons = {learners * LESSONS:,} documents"
    )
    large_id, large_lessons, large_users = make_course("Analytics large", learners)
    boundary = now - dt.timedelta(days=7)
    last_seen: dict[int, dt.datetime] = {}
    docs: list[dict[str, Any]] = []
    for user in large_users:
        last = now - dt.timedelta(seconds=rng.uniform(60, 9 * 86400))
        if abs((last - boundary).total_seconds()) < 7200:  # keep clear of the window's edge
            last -= dt.timedelta(hours=3)
        last_seen[user.pk] = last
        for k, lesson_id in enumerate(large_lessons):
            at = last - dt.timedelta(minutes=7 * k)
            docs.append(
                progress_doc(user_id=user.pk, lesson_id=lesson_id, course_id=large_id, at=at, rng=rng)
            )
    db = mongo.get_db()
    started = time.monotonic()
    with pymongo.timeout(900):  # bulk seeding, not a request
        for start in range(0, len(docs), 2000):
            db.progress.insert_many(docs[start : start + 2000])
    log(f"analytics: inserted {len(docs):,} progress documents in {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    course = course_get(course_id=large_id)
    assert course is not None
    with mongo.maintenance_deadline():
        rollups_rebuild(course=course)
    log(f"analytics: rebuilt rollups and activity hours in {time.monotonic() - started:.0f} s")
    for user in large_users[:10]:  # real heartbeats on top of the rebuilt figures
        beat(user, large_lessons[0], 5.0)
        last_seen[user.pk] = dt.datetime.now(dt.UTC)

    small_label = f"1 course / {len(small_users)} learners"
    runs = {
        small_id: AnalyticsRun(small_label, len(small_users), len(small_users) * LESSONS, [], [], -1, -1),
        large_id: AnalyticsRun(f"1 course / {learners:,} learners", learners, len(docs), [], [], -1, -1),
    }
    client = APIClient(HTTP_HOST="127.0.0.1")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    original = settings.CATALOG_ANALYTICS_CACHE_SECONDS
    settings.CATALOG_ANALYTICS_CACHE_SECONDS = 0  # every request computes (the cache's miss path)
    try:
        window = hour_of(dt.datetime.now(dt.UTC) - dt.timedelta(days=7))
        runs[small_id].expected_active = len(small_users)
        runs[large_id].expected_active = sum(1 for t in last_seen.values() if hour_of(t) >= window)
        for _ in range(ANALYTICS_REQUESTS):
            for cid, run in runs.items():
                started = time.perf_counter()
                reply = client.get(f"/api/v1/courses/{cid}/analytics/", **auth)
                run.timings_ms.append((time.perf_counter() - started) * 1000)
                run.statuses.append(reply.status_code)
                if run.active < 0 and reply.status_code == 200:
                    run.active = int(reply.json()["active_learners_7d"])
    finally:
        settings.CATALOG_ANALYTICS_CACHE_SECONDS = original
    return list(runs.values())


def seed_owner_id() -> int:
    """Any id: the page's one PostgreSQL query (instructor names) finds no user and costs the same."""
    return 1


# --- profiles (in-process, pyinstrument) ----------------------------------------------------------------
def profiles(seed_: Seed, iterations: int = 60) -> dict[str, str]:
    from pyinstrument import Profiler
    from rest_framework.test import APIClient

    from accounts.models import User
    from accounts.tokens import issue_token_pair

    course, lesson = seed_.courses[0], seed_.lessons[seed_.courses[0]][0]
    student = User.objects.get(pk=seed_.students[0][0])
    client = APIClient(HTTP_HOST="127.0.0.1")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token_pair(student)[0]}"}
    calls: dict[str, Callable[[], Any]] = {
        "course detail": lambda: client.get(f"/api/v1/courses/{course}/"),
        "playback (enrolled student)": lambda: client.get(f"/api/v1/lessons/{lesson}/playback/", **auth),
        "enroll again (already enrolled)": lambda: client.post(f"/api/v1/courses/{course}/enroll/", **auth),
        "course list page_size=100": lambda: client.get("/api/v1/courses/?page_size=100"),
    }
    texts = {}
    for name, call in calls.items():
        assert call().status_code == 200, name
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(iterations):
            call()
        profiler.stop()
        texts[name] = profiler.output_text(unicode=False, color=False, show_all=False)
    return texts


# --- report -------------------------------------------------------------------------------------------
def med(values: list[float]) -> float:
    return statistics.median(values)


def write_report(
    out: Path,
    *,
    results: dict[str, list[Rep]],
    seed_: Seed,
    meta: dict[str, str],
    texts: dict[str, str],
    webhooks: WebhookRun | None,
    scale: list[ScaleRun],
    staff: StaffRun | None,
    analytics: list[AnalyticsRun] | None = None,
    upserts: RawUpsertRun | None = None,
) -> list[tuple[str, bool, str]]:
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.py` (do not edit by hand; run `make bench`, i.e. `bench/run.sh`).",
        "",
        f"- **Date**: {meta['date']}",
        f"- **Command**: `{meta['command']}` ({meta['wrk']})",
        f"- **Machine**: {meta['machine']}",
        f"- **Stores** (loopback): {meta['stores']}",
        "- **Server**: the README's production command, `gunicorn -c gunicorn.conf.py learnstream.wsgi` with "
        "`DJANGO_ENV=production`, secrets from the environment, default logging (one JSON line per request), "
        "`RATELIMIT_ENABLE=false` and `MUX_UPLOADS_PER_HOUR` = the seed's uploads, "
        f"{WORKERS} `db_worker` processes for tasks, "
        "the Mux emulator as Mux.",
        f"- **Data** (seeded through the API): {COURSES} published courses x {LESSONS} lessons, "
        f"{seed_.ready_videos} lessons with a ready video (made ready through the emulator and webhooks), "
        f"{STUDENTS} students x {ENROLLMENTS} enrollments.",
        f"- **Run time**: {meta['duration']}",
        "",
        "**The machine is shared** (2 vCPUs, other engineers run test suites at the same time): absolute",
        "figures are noisy, and wrk runs on the same two cores as the server and the stores. Store CPU of",
        "Redis and PostgreSQL can include other users' work on those servers (PostgreSQL counts only the",
        "bench database's backends; Redis is one shared process). Compare ratios within one run.",
        "",
        "## Cells (median of 3 interleaved reps)",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | non-2xx | socket errors | server CPU ms/req "
        "| store CPU ms/req (PG / Redis / SecantusDB) | reps req/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    checks: list[tuple[str, bool, str]] = []
    for name, reps in results.items():
        rate = med([r.rate for r in reps])
        stores = " / ".join(
            f"{med([r.store_cpu_ms[k] for r in reps]):.2f}" for k in ("postgres", "redis", "secantus")
        )
        low = [r.rate for r in reps if r.rate < rate / 2]
        high = [r.rate for r in reps if r.rate > rate * 2]
        flag = " **(rep below half the median)**" if low else ""
        flag += " **(rep above twice the median: unstable)**" if high else ""
        lines.append(
            f"| {name} | {rate:,.1f} | {med([r.p50 for r in reps]):.1f} | {med([r.p99 for r in reps]):.1f} "
            f"| {sum(r.non2xx for r in reps)} | {sum(r.socket_errors for r in reps)} "
            f"| {med([r.server_cpu_ms for r in reps]):.2f} | {stores} "
            f"| {', '.join(f'{r.rate:,.0f}' for r in reps)}{flag} |"
        )
        checks.append(
            (f"{name}: no rep below half its median", not low, ", ".join(f"{r.rate:,.0f}" for r in reps))
        )
        errors = sum(r.non2xx + r.socket_errors for r in reps)
        checks.append((f"{name}: no non-2xx, no socket errors", errors == 0, f"{errors}"))
    lines += [
        "",
        "## Against the FastAPI original (figures from the issue, same machine, same wrk shape)",
        "",
        "| endpoint | FastAPI req/s (p50/p99 ms) | LearnStream req/s (p50/p99 ms) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for name, reps in results.items():
        rate, p50, p99 = med([r.rate for r in reps]), med([r.p50 for r in reps]), med([r.p99 for r in reps])
        theirs = FASTAPI.get(name)
        ours = f"{rate:,.1f} ({p50:.0f}/{p99:.0f})"
        target = ""
        if name in TARGETS:
            ok = rate >= TARGETS[name]
            target = f"{'met' if ok else 'MISSED'}: >= {TARGETS[name]:,.0f}"
            checks.append((f"{name} >= {TARGETS[name]:,.0f} req/s", ok, f"{rate:,.1f}"))
        if theirs is None:
            lines.append(f"| {name} | - | {ours} | - | {target or '-'} |")
            continue
        their_rate, their_p50, their_p99 = theirs
        their_text = f"{their_rate:,.1f}" + (f" ({their_p50:.0f}/{their_p99:.0f})" if their_p99 else "")
        if their_p99 is not None:
            ok = p99 < their_p99
            checks.append((f"{name}: p99 below FastAPI's {their_p99:.0f} ms", ok, f"{p99:.1f} ms"))
            target += f"{'; ' if target else ''}p99 {'<' if ok else '>='} theirs"
        lines.append(f"| {name} | {their_text} | {ours} | {rate / their_rate:.2f}x | {target or '-'} |")
    curriculum, detail = results.get("curriculum"), results.get("course detail")
    if curriculum and detail:  # issue 12: the curriculum (one cached read) keeps up with the course page
        ours, theirs = med([r.rate for r in curriculum]), med([r.rate for r in detail])
        checks.append(
            ("curriculum warm >= course detail warm", ours >= theirs, f"{ours:,.1f} vs {theirs:,.1f} req/s")
        )
    plain, segmented = results.get("progress heartbeat"), results.get("progress heartbeat with segments")
    if plain and segmented:  # issue 12: watched coverage costs at most a fifth of the heartbeat rate
        ours, theirs = med([r.rate for r in segmented]), med([r.rate for r in plain])
        checks.append(
            (
                "heartbeat with segments >= 80 % of the plain heartbeat",
                ours >= 0.8 * theirs,
                f"{ours:,.1f} vs {theirs:,.1f} req/s ({ours / theirs:.0%})" if theirs else "no plain rate",
            )
        )
    health = results.get("/healthz")
    if health:
        p99 = med([r.p99 for r in health])
        checks.append((f"/healthz p99 <= {HEALTHZ_P99_MS:.0f} ms", p99 <= HEALTHZ_P99_MS, f"{p99:.1f} ms"))
    if upserts is not None and plain:
        beats = med([r.rate for r in plain])
        ok = beats >= HEARTBEAT_SHARE * upserts.rate
        lines += [
            "",
            "## Heartbeat against raw upserts",
            "",
            "The store's own write rate, as the ceiling for the heartbeat: as many concurrent pymongo "
            "clients as wrk has connections, each upserting progress-shaped documents (`$set` position, "
            "`$max` furthest position) into the heartbeat's collection and indexes, no app in between "
            "(`raw_upserts`).",
            "",
            "| raw upserts/s (median) | reps | SecantusDB CPU ms/upsert | heartbeat req/s | share | target |",
            "|---|---|---|---|---|---|",
            f"| {upserts.rate:,.1f} | {', '.join(f'{r:,.0f}' for r in upserts.rates)} "
            f"| {upserts.secantus_cpu_ms:.2f} | {beats:,.1f} | {beats / upserts.rate:.0%} "
            f"| {'met' if ok else 'MISSED'}: >= {HEARTBEAT_SHARE:.0%} |",
        ]
        checks.append(
            (
                f"heartbeat >= {HEARTBEAT_SHARE:.0%} of raw upserts",
                ok,
                f"{beats:,.1f} vs {upserts.rate:,.1f}/s ({beats / upserts.rate:.0%})",
            )
        )
    if webhooks is not None:
        lines += [
            "",
            f"## Webhook processing ({WORKERS} `db_worker` processes)",
            "",
            f"{webhooks.events:,} Mux video events (the seed's events re-emitted with fresh ids, same data) "
            "held by the emulator and released at once as signed deliveries to gunicorn, which stores "
            "each once in the inbox while the workers are paused; then the workers alone drain them (lesson "
            "found by its passthrough, one state-machine step each; worker CPU is all workers' together). "
            "events/s = events / drain time.",
            "",
            "| events | stored in s | drained in s | events/s | processed | failed "
            "| worker CPU ms/event | SecantusDB CPU ms/event | target |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        ok = webhooks.rate >= WEBHOOK_TARGET and webhooks.failed == 0
        lines.append(
            f"| {webhooks.events:,} | {webhooks.stored_seconds:.1f} | {webhooks.drained_seconds:.1f} "
            f"| {webhooks.rate:,.1f} | {webhooks.processed:,} | {webhooks.failed} "
            f"| {webhooks.worker_cpu_ms:.2f} "
            f"| {webhooks.secantus_cpu_ms:.2f} | {'met' if ok else 'MISSED'}: >= {WEBHOOK_TARGET:.0f}/s |"
        )
        checks.append(
            (f"webhooks >= {WEBHOOK_TARGET:.0f} events/s, none failed", ok, f"{webhooks.rate:,.1f}/s")
        )
    if staff is not None:
        ok = staff.status == 200 and staff.enrolled == staff.rows and staff.seconds < REQUEST_TIMEOUT_S / 3
        lines += [
            "",
            "## Staff enrollment (one CSV through gunicorn)",
            "",
            f"`POST courses/{{id}}/enrollments/` with a {staff.rows:,}-row CSV of existing learners "
            "(multipart upload as the course's owner): one request, bulk inserts in one pass.",
            "",
            "| rows | status | enrolled | seconds | worker timeout |",
            "|---|---|---|---|---|",
            f"| {staff.rows:,} | {staff.status} | {staff.enrolled:,} | {staff.seconds:.2f} "
            f"| {REQUEST_TIMEOUT_S:.0f} s |",
        ]
        checks.append(
            (
                f"staff enrollment: {staff.rows:,} rows enrolled in under a third of the worker timeout",
                ok,
                f"{staff.seconds:.2f} s, {staff.enrolled:,} enrolled, status {staff.status}",
            )
        )
    if scale:
        deadline = MONGO_DEADLINE_MS
        lines += [
            "",
            "## The uncached course list page at 1x and 10x the catalog",
            "",
            "`catalog.selectors.course_page` in-process (the page cache's miss path: a count, one page",
            "read, lesson reads in batches of 25 courses and one PostgreSQL query), public `page_size=100`,",
            "against catalogs bulk-written into a scratch database of the same SecantusDB; median and worst",
            f"of 5 computations. The MongoDB deadline (`MONGO_TIMEOUT_MS`) is {deadline:,} ms; the check",
            "asks for the worst under half of it.",
            "",
            "| catalog | page | median ms | worst ms |",
            "|---|---|---|---|",
        ]
        for run in scale:
            for label, values in run.timings_ms.items():
                lines.append(
                    f"| {run.courses:,} courses / {run.lessons:,} lessons | {label} | {med(values):,.0f} "
                    f"| {max(values):,.0f} |"
                )
                ok = max(values) < deadline / 2
                checks.append(
                    (
                        f"uncached list page, {run.courses:,} courses, {label}: worst < half the deadline",
                        ok,
                        f"{max(values):,.0f} ms",
                    )
                )
    if analytics:
        small, large = analytics[0], analytics[-1]
        lines += [
            "",
            "## Course analytics, uncached, at 10 learners and at 100,000 progress documents",
            "",
            f"`GET courses/{{id}}/analytics/` as the owner, {ANALYTICS_REQUESTS} sequential requests per",
            "course (interleaved), `CATALOG_ANALYTICS_CACHE_SECONDS=0` in the bench process (the real view",
            "through the Django test client; every request computes). The small course's progress went",
            "through the heartbeat path; the large course's documents were bulk-written in the heartbeat's",
            "shape, with `rollups_rebuild` building its rollups and learners' last active hours, and 10",
            f"real heartbeats on top. The MongoDB deadline is {MONGO_DEADLINE_MS:,} ms.",
            "",
            "| course | progress documents | p50 ms | p95 ms | max ms | non-200 "
            "| active_learners_7d (expected) |",
            "|---|---|---|---|---|---|---|",
        ]
        for run in analytics:
            lines.append(
                f"| {run.label} | {run.documents:,} | {med(run.timings_ms):.1f} | {p95(run.timings_ms):.1f} "
                f"| {max(run.timings_ms):.1f} | {run.non200} | {run.active:,} ({run.expected_active:,}) |"
            )
        ratio = p95(large.timings_ms) / p95(small.timings_ms)
        checks.append(
            (
                f"course analytics uncached p95 at {large.documents:,} documents within 2x of 10 learners",
                ratio <= 2.0,
                f"{p95(large.timings_ms):.1f} vs {p95(small.timings_ms):.1f} ms ({ratio:.2f}x)",
            )
        )
        checks.append(
            (
                f"course analytics at {large.documents:,} documents: never a non-200",
                large.non200 == 0 and small.non200 == 0,
                f"{large.non200} of {len(large.statuses)} (small course: {small.non200})",
            )
        )
        checks.append(
            (
                "course analytics: active_learners_7d exact at both sizes",
                all(run.active == run.expected_active for run in analytics),
                ", ".join(f"{run.active:,} of {run.expected_active:,}" for run in analytics),
            )
        )
    lines += ["", "## Target checks", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'} — {name}: {detail}" for name, ok, detail in checks]
    lines += [
        "",
        "## Profiles (in-process, pyinstrument, 60 requests each, same stores and data)",
        "",
        "Django test client in the bench process with the production settings; no HTTP server. What the",
        "app spends per request on the hot paths with a ratio target.",
    ]
    for name, text in texts.items():
        lines += ["", f"### {name}", "", "```", text.strip(), "```"]
    notes = ROOT / "bench" / "notes.md"  # the choices behind gunicorn.conf.py, measured once
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    lines.append("")
    out.write_text("\n".join(lines))
    return checks


def machine_line() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    load = os.getloadavg()
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs; {platform.platform()}; Python {platform.python_version()}; "
        f"load average at start {load[0]:.1f}"
    )


def stores_line(system: System) -> str:
    import psycopg
    import redis
    from pymongo import MongoClient

    with psycopg.connect(system.stores["DATABASE_URL"]) as conn:
        pg = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    rv = redis.Redis.from_url(system.stores["REDIS_URL"]).info("server")["redis_version"]
    mv = MongoClient(system.stores["MONGO_URI"]).server_info().get("version")
    return (
        f"PostgreSQL {pg}; Redis {rv}; SecantusDB (reports MongoDB {mv}), :memory:, fresh for the run, "
        "`retryWrites=false` as the embedded default runs it (why: learnstream/mongo.py)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=15, help="duration of one wrk cell")
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions of every cell")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--video-seconds", type=float, default=150, help="seed budget for ready videos")
    parser.add_argument("--only", default="", help="comma-separated cell names (default: all)")
    parser.add_argument(
        "--webhook-events", type=int, default=WEBHOOK_EVENTS, help="events of the webhook phase (0: skip it)"
    )
    parser.add_argument(
        "--no-staff", dest="staff", action="store_false", help="skip the 10,000-row staff enrollment phase"
    )
    parser.add_argument(
        "--no-scale", dest="scale", action="store_false", help="skip the 1x/10x uncached list page phase"
    )
    parser.add_argument(
        "--no-analytics-scale",
        dest="analytics_scale",
        action="store_false",
        help="skip the uncached course analytics phase (10 learners vs 100,000 progress documents)",
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    started = time.monotonic()
    command = "bench/run.sh" + ("" if len(sys.argv) < 2 else " " + shlex.join(sys.argv[1:]))
    wrk = ensure_wrk()
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[
        0
    ]
    meta = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "command": command}
    meta["wrk"] = (
        f"{wrk_version.strip()}; `wrk -t{args.threads} -c{args.connections} -d{args.seconds}s --latency`"
    )
    meta["machine"] = machine_line()
    workdir = Path(tempfile.mkdtemp(prefix="ls-bench-"))
    system = System(workdir)
    try:
        system.start()
        meta["stores"] = stores_line(system)
        seeded = seed(system, video_seconds=args.video_seconds)
        plan = [c for c in cells(seeded) if not args.only or c.name in args.only.split(",")]
        results: dict[str, list[Rep]] = {c.name: [] for c in plan}
        waited = system.settle(limit=180)
        log(f"settled after the seed in {waited:.0f} s")
        settles: list[float] = [waited]
        for rep in range(args.reps):
            for cell in plan:
                settles.append(system.settle(limit=30))
                got = run_cell(system, wrk, cell, args, workdir)
                results[cell.name].append(got)
                log(
                    f"rep {rep + 1} {cell.name:>44}: {got.rate:9.1f} /s  p50 {got.p50:7.1f}"
                    f"  p99 {got.p99:7.1f} ms  non-2xx {got.non2xx}  server {got.server_cpu_ms:.2f} ms/req"
                )
        upserts = None
        if "progress heartbeat" in results:
            system.settle(limit=30)
            log(f"raw upserts: {args.connections} pymongo clients, {args.reps} x {args.seconds} s")
            upserts = raw_upserts(system, seconds=args.seconds, reps=args.reps, connections=args.connections)
            log(f"raw upserts: {upserts.rate:.1f} /s ({', '.join(f'{r:.0f}' for r in upserts.rates)})")
        webhooks = None
        if args.webhook_events:
            system.settle(limit=60)
            log(f"webhook processing: {args.webhook_events} events through the inbox and the worker")
            webhooks = webhook_throughput(system, events=args.webhook_events)
            log(
                f"webhooks: {webhooks.rate:.1f} events/s ({webhooks.processed} processed, "
                f"{webhooks.failed} failed, drained in {webhooks.drained_seconds:.1f} s)"
            )
        staff = None
        if args.staff:
            log(f"staff enrollment: a {STAFF_ROWS:,}-row CSV through gunicorn")
            staff = staff_enrollment(system, seeded)
            log(
                f"staff enrollment: {staff.enrolled} enrolled in {staff.seconds:.2f} s "
                f"(status {staff.status})"
            )
        scale: list[ScaleRun] = []
        if args.scale:
            log(f"uncached list page at {', '.join(f'{n}x' for n in SCALES)} the catalog")
            scale = catalog_scale(system)
            for run in scale:
                log(
                    f"{run.courses} courses: "
                    + ", ".join(f"{k} {med(v):.0f} ms" for k, v in run.timings_ms.items())
                )
        analytics: list[AnalyticsRun] = []
        if args.analytics_scale:
            analytics = analytics_scale(system, seeded)
            for run in analytics:
                log(
                    f"analytics {run.label}: p50 {med(run.timings_ms):.1f} p95 {p95(run.timings_ms):.1f} "
                    f"max {max(run.timings_ms):.1f} ms, non-200 {run.non200}, active {run.active}"
                )
        log("profiling four hot paths in-process")
        texts = profiles(seeded)
    finally:
        system.stop()
    meta["duration"] = (
        f"{time.monotonic() - started:.0f} s; before each cell the bench waits until gunicorn, the task "
        f"worker and SecantusDB are idle (after the seed {settles[0]:.0f} s, between cells at most "
        f"{max(settles[1:], default=0):.0f} s, {sum(1 for x in settles[1:] if x >= 29.5)} cells started "
        "after the 30 s limit without idling)"
    )
    out = Path(args.out)
    checks = write_report(
        out,
        results=results,
        seed_=seeded,
        meta=meta,
        texts=texts,
        webhooks=webhooks,
        scale=scale,
        staff=staff,
        analytics=analytics,
        upserts=upserts,
    )
    log(f"wrote {out}")
    for name, ok, detail in checks:
        if not ok:
            log(f"FAIL: {name} ({detail})")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(ok for _n, ok, _d in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

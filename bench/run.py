"""LearnStream benchmark: one bounded run on loopback, written to docs/benchmarks.md.

What it does (issue 5, "Benchmarks"):
1. ensures PostgreSQL, Redis and a SecantusDB server (scripts/services.sh), then gives the bench its
   own PostgreSQL database, Redis DB and MongoDB database, recreated on every run;
2. starts the Mux emulator, a `db_worker` (the production task backend) and gunicorn with the
   committed gunicorn.conf.py and DJANGO_ENV=production (bench.settings = production + one bare view);
3. seeds users, courses, lessons with ready videos and enrollments through the HTTP API;
4. runs one time-boxed phase per endpoint (N client threads, 127.0.0.1 only), plus the bare DRF
   endpoint (framework ceiling) and raw pymongo upserts against the same MongoDB server (store
   ceiling), and reports req/s, p50/p95/p99 and errors, and the ratios to the ceilings;
5. measures each endpoint's store round trips (PostgreSQL queries, Mongo commands, Redis calls);
6. grows the catalog and the progress collection 10x and 100x, re-measures course list and course
   analytics latency and prints the MongoDB/PostgreSQL explain plans of the queries those make;
7. profiles the slowest endpoint with pyinstrument;
and exits non-zero if a target is missed (0 errors; cached list >= 50 % of bare; heartbeat >= 50 %
of raw upserts). Rate limiting is switched off (RATELIMIT_ENABLE=false): one client IP hammering
login is exactly what it exists to stop, and it is not what this measures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import PhaseResult, Request, json_request, run_callable_phase, run_phase  # noqa: E402
from tests import servers  # noqa: E402

BENCH_DB = "learnstream_bench"
BENCH_MONGO_DB = "learnstream_bench"
BENCH_REDIS_DB = int(os.environ.get("LS_BENCH_REDIS_DB", "14"))
BENCH_MONGO_PORT = int(os.environ.get("LS_BENCH_MONGO_PORT", "27031"))
PASSWORD = "bench-Passphrase-2024-x"  # noqa: S105 - throwaway benchmark users
EXTRA_STUDENTS = 80
EXTRA_COURSES = 20
BASE_COURSES = 25
BASE_PROGRESS = 300


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- stores ---------------------------------------------------------------------------------------
def ensure_services() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MONGO_URI")}
    env["LS_MONGO_TEST_PORT"] = str(BENCH_MONGO_PORT)
    out = subprocess.run(
        ["scripts/services.sh"], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=600
    ).stdout
    found = {}
    for line in out.splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            found[name] = shlex.split(value)[0]
    return found


def fresh_stores(urls: dict[str, str]) -> dict[str, str]:
    import psycopg
    import redis
    from pymongo import MongoClient

    admin_url = urls["DATABASE_URL"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    base, _, _ = admin_url.rpartition("/")
    redis_url = f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    MongoClient(urls["MONGO_URI"], serverSelectionTimeoutMS=5000).drop_database(BENCH_MONGO_DB)
    return {"DATABASE_URL": f"{base}/{BENCH_DB}", "REDIS_URL": redis_url, "MONGO_URI": urls["MONGO_URI"]}


def machine(stores: dict[str, str]) -> dict[str, str]:
    import psycopg
    import redis
    from pymongo import MongoClient

    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    with psycopg.connect(stores["DATABASE_URL"]) as conn:
        pg = str(conn.execute("SHOW server_version").fetchone()[0])
    info = MongoClient(stores["MONGO_URI"]).server_info()
    return {
        "cpu": f"{cpu}, {os.cpu_count()} logical CPUs",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": pg,
        "redis": str(redis.Redis.from_url(stores["REDIS_URL"]).info("server")["redis_version"]),
        "mongodb": f"SecantusDB (reports MongoDB {info.get('version')}), :memory: storage",
    }


# --- the system under test -------------------------------------------------------------------------
class System:
    def __init__(self, stores: dict[str, str], workdir: Path) -> None:
        from streaming.emulator import EmulatorConfig, MuxEmulator

        self.workdir = workdir
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
        self.env = servers.app_env(
            {
                "DJANGO_SETTINGS_MODULE": "bench.settings",
                "DJANGO_ENV": "production",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
                "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
                "DATABASE_URL": stores["DATABASE_URL"],
                "REDIS_URL": stores["REDIS_URL"],
                "MONGO_URI": stores["MONGO_URI"],
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
                "LOG_LEVEL": "WARNING",
                "LOG_JSON": "true",
            }
        )
        os.environ.update(self.env)
        import django

        django.setup()
        from django.conf import settings

        from streaming import mux

        key = mux.create_signing_key()
        for name, value in (("MUX_SIGNING_KEY_ID", key.id), ("MUX_SIGNING_PRIVATE_KEY", key.private_key_b64)):
            setattr(settings, name, value)
            self.env[name] = value
            os.environ[name] = value
        self.signing_key = key
        self.app: servers.Managed | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log("migrating the bench database, applying Mongo indexes")
        servers.manage(["migrate", "--noinput"], self.env)
        servers.manage(["mongo_indexes"], self.env)
        log("starting the task worker and gunicorn (production settings, gunicorn.conf.py defaults)")
        worker_log = (self.workdir / "worker.log").open("ab")
        self.worker = subprocess.Popen(
            [
                str(servers.VENV_BIN / "python"),
                "manage.py",
                "db_worker",
                "--interval",
                "0.2",
                "--no-startup-delay",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker_log.close()
        self.app = servers.start_gunicorn(self.env, self.workdir, workers=None, threads=1, port=self.port)

    def stop(self) -> None:
        if self.app is not None:
            self.app.stop()
        if self.worker is not None:
            servers.stop_pid(self.worker.pid)
        self.emulator.stop()

    def handle(self) -> Any:
        from streaming.testing import MuxEmulatorHandle

        return MuxEmulatorHandle(
            server=self.emulator,
            url=self.emulator.url,
            token_id=self.emulator.config.token_id,
            token_secret=self.emulator.config.token_secret,
            webhook_secret=self.webhook_secret,
            signing_key_id=self.signing_key.id,
            signing_private_key=self.signing_key.private_key_b64,
        )


# --- seed -------------------------------------------------------------------------------------------
class Seed:
    def __init__(self, system: System) -> None:
        from django.contrib.auth.hashers import make_password

        from accounts.models import User
        from accounts.tokens import issue_token_pair
        from tests import scenario

        self.system = system
        self.api = scenario.live_api(f"http://127.0.0.1:{system.port}")
        self.paths = scenario.Paths()
        log("seeding: actors, courses, lessons with ready videos (emulator -> webhook -> worker)")
        self.world = scenario.build_world(self.api, scenario.make_actors("bench"), self.paths)
        scenario.make_videos_ready(
            self.api, self.world, self.paths, system.handle(), live=True, wait_seconds=30
        )
        owner = self.world.actors.token("owner")
        with ThreadPoolExecutor(max_workers=4) as pool:
            made = pool.map(
                lambda _n: scenario.create_course(self.api, self.paths, owner, publish=True, lessons=1),
                range(EXTRA_COURSES),
            )
            self.courses = [c["id"] for c in made]
        hashed = make_password(PASSWORD)
        tag = uuid.uuid4().hex[:6]
        users = User.objects.bulk_create(
            [
                User(email=f"bench-{tag}-{n}@example.com", name=f"Bench {n}", role="student", password=hashed)
                for n in range(EXTRA_STUDENTS)
            ]
        )
        self.students = [
            (u.email, issue_token_pair(u)[0]) for u in User.objects.filter(email__startswith=f"bench-{tag}-")
        ]
        enroll = self.paths("api/v1/courses/{}/enroll", self.world["course"])
        with ThreadPoolExecutor(max_workers=4) as pool:
            replies = list(pool.map(lambda s: self.api("POST", enroll, token=s[1]), self.students))
        assert all(r.status == 201 for r in replies), [r.body for r in replies if r.status != 201][:3]
        assert len(users) == EXTRA_STUDENTS


# --- phases -------------------------------------------------------------------------------------------
def phases(system: System, seed: Seed, seconds: float, threads: int) -> dict[str, PhaseResult]:
    from bson import ObjectId
    from pymongo import ASCENDING, MongoClient, ReturnDocument

    from catalog.cache import catalog_invalidate
    from learnstream import mongo
    from tests import scenario

    port, world, paths = system.port, seed.world, seed.paths
    owner = world.actors.token("owner")
    students = seed.students
    course, lesson = world["course"], world["lesson"]
    detail = paths("api/v1/courses/{}", course)
    playback = paths("api/v1/lessons/{}/playback", lesson)
    heartbeat = paths("api/v1/lessons/{}/progress", lesson)
    analytics = paths("api/v1/courses/{}/analytics", course)
    login = paths("api/v1/auth/token")
    pairs = [(s, c) for c in seed.courses for s in students]
    random.Random(1).shuffle(pairs)

    def webhook(i: int) -> Request:
        data = {"id": f"bench-track-{i}", "asset_id": "bench-asset", "type": "text", "status": "ready"}
        raw = scenario.signed_webhook(
            scenario.mux_event("video.asset.track.ready", data, event_id=f"bench-{uuid.uuid4()}"),
            secret=system.webhook_secret,
        )
        return Request("POST", "/webhooks/mux", raw.body, {"Content-Type": "application/json", **raw.headers})

    plan: list[tuple[str, Callable[[int], Request | None], Callable[[], None] | None]] = [
        ("bare_drf_endpoint", lambda _i: json_request("GET", "/bench/bare"), None),
        ("course_list_cached", lambda _i: json_request("GET", paths("api/v1/courses")), None),
        ("course_list_cold", lambda _i: json_request("GET", paths("api/v1/courses")), catalog_invalidate),
        ("course_detail", lambda _i: json_request("GET", detail), None),
        (
            "login",
            lambda i: json_request(
                "POST", login, {"email": students[i % len(students)][0], "password": PASSWORD}
            ),
            None,
        ),
        (
            "enroll",
            lambda i: (
                json_request(
                    "POST", paths("api/v1/courses/{}/enroll", pairs[i][1]), token=pairs[i][0][1], ok=(201,)
                )
                if i < len(pairs)
                else None
            ),
            None,
        ),
        (
            "lesson_playback",
            lambda i: json_request("GET", playback, token=students[i % len(students)][1]),
            None,
        ),
        (
            "progress_heartbeat",
            lambda i: json_request(
                "PUT", heartbeat, {"position": float(i % 119 + 1)}, token=students[i % len(students)][1]
            ),
            None,
        ),
        ("webhook_ingest", webhook, None),
        ("course_analytics", lambda _i: json_request("GET", analytics, token=owner), None),
    ]
    from bench.load import send

    # The store ceiling: the heartbeat's own upsert (findAndModify, upsert, $max/$set/$setOnInsert,
    # returning the document) from a bare pymongo client on the same server.
    client = MongoClient(system.env["MONGO_URI"], **mongo.client_options())
    col = client[BENCH_MONGO_DB]["bench_raw_progress"]
    col.create_index([("user_id", ASCENDING), ("lesson_id", ASCENDING)], unique=True)
    lesson_oid, course_oid = ObjectId(lesson), ObjectId(course)

    def upsert(i: int) -> None:
        now = dt.datetime.now(dt.UTC)
        position = float(i % 119 + 1)
        col.find_one_and_update(
            {"user_id": i % len(students), "lesson_id": lesson_oid},
            {
                "$max": {"max_position": position, "completed": False},
                "$set": {"position": position, "updated_at": now},
                "$setOnInsert": {"course_id": course_oid, "created_at": now},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )

    specs = {name: (make, before) for name, make, before in plan}

    def http_phase(name: str, slice_seconds: float) -> PhaseResult:
        make, before = specs[name]
        if name in ("course_list_cached", "course_detail", "lesson_playback", "course_analytics"):
            send(port, make(0))  # type: ignore[arg-type]  # steady state: caches warm
        return run_phase(name, port, make, seconds=slice_seconds, threads=threads, before=before)

    def merge(parts: list[PhaseResult]) -> PhaseResult:
        return PhaseResult(
            parts[0].name,
            sum(p.seconds for p in parts),
            [x for p in parts for x in p.latencies],
            sum(p.errors for p in parts),
            [x for p in parts for x in p.error_samples][:5],
        )

    results: dict[str, PhaseResult] = {}
    # Each figure with a target is measured interleaved with its ceiling (A B A B A B), so a noisy
    # neighbour on the machine slows both sides of a ratio alike.
    pairs_to_interleave = {
        "course_list_cached": "bare_drf_endpoint",
        "progress_heartbeat": "raw_mongo_upsert",
    }
    for name, _make, _before in plan:
        if name in results:
            continue
        ceiling = pairs_to_interleave.get(name) or next(
            (k for k, v in pairs_to_interleave.items() if v == name), None
        )
        if ceiling is None:
            results[name] = http_phase(name, seconds)
        else:
            parts: dict[str, list[PhaseResult]] = {name: [], ceiling: []}
            for _round in range(3):
                for which in (ceiling, name) if name in pairs_to_interleave else (name, ceiling):
                    if which == "raw_mongo_upsert":
                        parts[which].append(
                            run_callable_phase(which, upsert, seconds=seconds / 3, threads=threads)
                        )
                    else:
                        parts[which].append(http_phase(which, seconds / 3))
            for which, got in parts.items():
                results[which] = merge(got)
        for which in [name] + ([ceiling] if ceiling else []):
            r = results[which]
            log(f"{which:>22}: {r.rate:8.1f} /s  p50 {r.pct(50):7.1f} ms  errors {r.errors}")
    client.close()
    order = [
        "bare_drf_endpoint",
        "course_list_cached",
        "course_list_cold",
        "course_detail",
        "login",
        "enroll",
        "lesson_playback",
        "progress_heartbeat",
        "raw_mongo_upsert",
        "webhook_ingest",
        "course_analytics",
    ]
    return {name: results[name] for name in order}


# --- round trips --------------------------------------------------------------------------------------
def round_trips(seed: Seed) -> tuple[str, list[str]]:
    from tests import budgets, scenario

    api = scenario.inprocess_api(host="127.0.0.1")
    results = budgets.measure(api, seed.world, seed.paths)
    return budgets.table(results), budgets.over_budget(results)


# --- scaling ------------------------------------------------------------------------------------------
def _clone_courses(db: Any, template: dict[str, Any], start: int, count: int) -> None:
    from bson import ObjectId

    now = dt.datetime.now(dt.UTC)
    batch = []
    for n in range(start, start + count):
        doc = dict(template)
        doc.update(
            _id=ObjectId(),
            title=f"Scale course {n}",
            slug=f"scale-course-{n}-{uuid.uuid4().hex[:6]}",
            tags=["scale", f"t{n % 17}"],
            published_at=now - dt.timedelta(seconds=n),
            created_at=now - dt.timedelta(seconds=n),
        )
        batch.append(doc)
        if len(batch) == 1000:
            db.courses.insert_many(batch, ordered=False)
            batch = []
    if batch:
        db.courses.insert_many(batch, ordered=False)


def _clone_progress(db: Any, template: dict[str, Any], lessons: list[Any], start: int, count: int) -> None:
    from bson import ObjectId

    rng = random.Random(start)
    now = dt.datetime.now(dt.UTC)
    batch = []
    for n in range(start, start + count):
        doc = dict(template)
        position = float(rng.randint(0, 120))
        doc.update(
            _id=ObjectId(),
            user_id=10_000_000 + n // len(lessons),
            lesson_id=lessons[n % len(lessons)],
            position=position,
            max_position=position,
            completed=position >= 108,
            updated_at=now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 14)),
        )
        batch.append(doc)
        if len(batch) == 2000:
            db.progress.insert_many(batch, ordered=False)
            batch = []
    if batch:
        db.progress.insert_many(batch, ordered=False)


def _latency(
    port: int, request: Request, n: int, before: Callable[[], None] | None = None, budget: float = 12.0
) -> tuple[float, float, str]:
    """Median and p95 (ms) of up to `n` sequential requests, stopping early (after 3) once `budget` s
    pass, and the non-200 statuses seen (a failing endpoint is a result, not a crash of the bench)."""
    from bench.load import send

    samples: list[float] = []
    failures: list[int] = []
    deadline = time.monotonic() + budget
    for _ in range(n):
        if len(samples) >= 3 and time.monotonic() > deadline:
            break
        if before is not None:
            before()
        started = time.perf_counter()
        status, _body = send(port, request)
        samples.append(time.perf_counter() - started)
        if status != 200:
            failures.append(status)
    samples.sort()
    note = f"{len(failures)}/{len(samples)} answered {sorted(set(failures))}" if failures else ""
    return statistics.median(samples) * 1000, samples[int(0.95 * (len(samples) - 1))] * 1000, note


def _compute_latency(course_id: str, n: int = 5, budget: float = 12.0) -> tuple[float, str]:
    """Median ms of computing a course's analytics without any cache (the work the 60 s cache hides),
    in-process against the same stores; a store timeout is reported, not raised."""
    from catalog import selectors
    from catalog.analytics import course_analytics_compute

    course = selectors.course_get(course_id=course_id)
    assert course is not None
    samples: list[float] = []
    failures: list[str] = []
    deadline = time.monotonic() + budget
    for _ in range(n):
        if samples and time.monotonic() > deadline:
            break
        started = time.perf_counter()
        try:
            course_analytics_compute(course=course)
        except Exception as exc:  # a timeout at this scale is a result to report
            failures.append(type(exc).__name__)
        samples.append(time.perf_counter() - started)
    note = f"{len(failures)}/{len(samples)} raised {sorted(set(failures))}" if failures else ""
    return statistics.median(samples) * 1000, note


def _capture_commands(call: Callable[[], Any]) -> list[dict[str, Any]]:
    """The MongoDB commands one in-process request sends (through the roundtrips listener)."""
    from tests.roundtrips import count_round_trips

    captured: list[dict[str, Any]] = []
    from pymongo import monitoring

    class Capture(monitoring.CommandListener):
        def started(self, event: monitoring.CommandStartedEvent) -> None:
            if event.command_name in ("find", "aggregate", "count", "countDocuments"):
                captured.append(dict(event.command))

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    from learnstream import mongo

    monitoring.register(Capture())
    mongo.close_client()
    with count_round_trips():
        try:
            call()
        except Exception as exc:  # e.g. a store timeout at the largest scale: the plans still help
            log(f"captured call failed: {exc!r}"[:200])
    return captured


def _plan_summary(plan: Any) -> str:
    """Stages and index names of a winning plan, e.g. 'LIMIT <- FETCH <- IXSCAN(status_published_at)'."""
    if not isinstance(plan, dict):
        return str(plan)[:200]
    stage = plan.get("stage") or plan.get("$cursor", {}).get("queryPlanner", {}).get("winningPlan", {}).get(
        "stage"
    )
    label = str(stage)
    if plan.get("indexName"):
        label += f"({plan['indexName']})"
    child = plan.get("inputStage") or (plan.get("inputStages") or [None])[0]
    return label + (f" <- {_plan_summary(child)}" if child else "")


def explain_plans(seed: Seed) -> list[str]:
    from django.db import connection

    from catalog import selectors
    from catalog.analytics import course_analytics_compute
    from learnstream import mongo
    from tests import scenario

    api = scenario.inprocess_api(host="127.0.0.1")
    lines: list[str] = []
    from catalog.cache import catalog_invalidate

    targets = {
        "course list": lambda: (catalog_invalidate(), api("GET", seed.paths("api/v1/courses"))),
        # The computation itself: the endpoint serves a cached copy for 60 s.
        "course analytics": lambda: course_analytics_compute(
            course=selectors.course_get(course_id=seed.world["course"])  # type: ignore[arg-type]
        ),
    }
    for name, call in targets.items():
        commands = _capture_commands(call)
        db = mongo.get_db()  # the capture re-created the client
        for command in commands:
            command.pop("lsid", None)
            command.pop("$db", None)
            command.pop("$readPreference", None)
            kind = next(iter(command))
            try:
                explained = db.command({"explain": command, "verbosity": "queryPlanner"})
                planner = explained.get("queryPlanner") or {}
                winning = planner.get("winningPlan")
                if winning is None and "stages" in explained:
                    first = explained["stages"][0].get("$cursor", {}).get("queryPlanner", {})
                    winning = first.get("winningPlan")
                summary = _plan_summary(winning) if winning else str(explained)[:300]
            except Exception as exc:  # report what the server says instead of failing the run
                summary = f"explain not available: {exc!r}"[:300]
            lines.append(f"- {name}: `{kind} {command.get(kind)}` → {summary}")
    # PostgreSQL side of analytics: the queries it runs, explained.
    captured: list[tuple[str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith("SELECT"):
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        try:
            targets["course analytics"]()
        except Exception as exc:  # reported above already
            log(f"analytics call failed again: {type(exc).__name__}")
    with connection.cursor() as cursor:
        for sql, params in captured:
            cursor.execute("EXPLAIN " + sql, params)
            plan = " / ".join(row[0].strip() for row in cursor.fetchall())
            lines.append(f"- course analytics (PostgreSQL): `{sql[:120]}…` → {plan[:300]}")
    return lines


def scaling(system: System, seed: Seed, factors: list[int]) -> tuple[list[dict[str, Any]], list[str]]:
    from bson import ObjectId

    from catalog.cache import catalog_invalidate
    from learnstream import mongo

    db = mongo.get_db()
    template_course = db.courses.find_one({"_id": ObjectId(seed.world["course"])})
    course_oid = ObjectId(seed.world["course"])
    template_progress = db.progress.find_one({"course_id": course_oid})
    assert template_course is not None
    assert template_progress is not None
    lessons = [ObjectId(x) for x in seed.world["lessons"]]
    rows = []
    have_courses = db.courses.count_documents({"status": "published"})
    have_progress = db.progress.count_documents({"course_id": course_oid})
    list_request = json_request("GET", seed.paths("api/v1/courses"))
    analytics_request = json_request(
        "GET",
        seed.paths("api/v1/courses/{}/analytics", seed.world["course"]),
        token=seed.world.actors.token("owner"),
    )
    for factor in factors:
        want_courses, want_progress = BASE_COURSES * factor, BASE_PROGRESS * factor
        started = time.monotonic()
        if want_courses > have_courses:
            _clone_courses(db, template_course, have_courses, want_courses - have_courses)
            have_courses = want_courses
        if want_progress > have_progress:
            _clone_progress(db, template_progress, lessons, have_progress, want_progress - have_progress)
            have_progress = want_progress
        catalog_invalidate()
        log(
            f"scale x{factor}: {have_courses} published courses, {have_progress} progress docs "
            f"(+{time.monotonic() - started:.1f}s)"
        )
        cold = _latency(system.port, list_request, 15, before=catalog_invalidate)
        cached = _latency(system.port, list_request, 15)
        analytics = _latency(system.port, analytics_request, 15)
        compute = _compute_latency(seed.world["course"])
        rows.append(
            {
                "factor": factor,
                "courses": have_courses,
                "progress": have_progress,
                "list_cold_p50": cold[0],
                "list_cold_p95": cold[1],
                "list_cached_p50": cached[0],
                "analytics_p50": analytics[0],
                "analytics_p95": analytics[1],
                "compute_p50": compute[0],
                "notes": "; ".join(
                    f"{label}: {note}"
                    for label, note in (
                        ("list cold", cold[2]),
                        ("list cached", cached[2]),
                        ("analytics", analytics[2]),
                        ("analytics compute", compute[1]),
                    )
                    if note
                ),
            }
        )
    return rows, explain_plans(seed)


# --- profile -------------------------------------------------------------------------------------------
def profile(seed: Seed, name: str, iterations: int = 40) -> str:
    from pyinstrument import Profiler

    from tests import scenario

    api = scenario.inprocess_api(host="127.0.0.1")
    world, paths = seed.world, seed.paths
    from catalog.cache import catalog_invalidate

    calls: dict[str, Callable[[], Any]] = {
        "course_list_cold": lambda: (catalog_invalidate(), api("GET", paths("api/v1/courses"))),
        "course_list_cached": lambda: api("GET", paths("api/v1/courses")),
        "course_detail": lambda: api("GET", paths("api/v1/courses/{}", world["course"])),
        "course_analytics": lambda: api(
            "GET", paths("api/v1/courses/{}/analytics", world["course"]), token=world.actors.token("owner")
        ),
        "lesson_playback": lambda: api(
            "GET", paths("api/v1/lessons/{}/playback", world["lesson"]), token=world.actors.token("enrolled")
        ),
        "progress_heartbeat": lambda: api(
            "PUT",
            paths("api/v1/lessons/{}/progress", world["lesson"]),
            token=world.actors.token("enrolled"),
            body={"position": 3},
        ),
        "enroll": lambda: api(
            "POST", paths("api/v1/courses/{}/enroll", world["course"]), token=world.actors.token("enrolled")
        ),
        "webhook_ingest": lambda: api(
            "POST",
            "/webhooks/mux",
            body=scenario.signed_webhook(
                scenario.mux_event("video.asset.track.ready", {"id": "p", "asset_id": "p"})
            ),
        ),
    }
    call = calls[name]
    call()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(iterations):
        call()
    profiler.stop()
    return profiler.output_text(unicode=False, color=False, show_all=False)


# --- report --------------------------------------------------------------------------------------------
def write_report(
    out: Path,
    *,
    command: str,
    when: str,
    host: dict[str, str],
    settings_line: str,
    results: dict[str, PhaseResult],
    ratios: dict[str, float],
    targets: list[tuple[str, bool, str]],
    budget_table: str,
    over: list[str],
    scale_rows: list[dict[str, Any]],
    plans: list[str],
    slowest: str,
    profiles: dict[str, str],
    duration: float,
) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.py` (do not edit by hand; re-run `bench/run.sh`).",
        "",
        f"- **Date**: {when}",
        f"- **Command**: `{command}`",
        f"- **Machine**: {host['cpu']}; {host['memory']} RAM; {host['os']}; Python {host['python']}",
        f"- **Stores** (loopback): PostgreSQL {host['postgresql']}; Redis {host['redis']}; {host['mongodb']}",
        f"- **Server**: {settings_line}",
        f"- **Run time**: {duration:.0f} s",
        "",
        "SecantusDB is a correctness oracle, not a performance target (architecture.md): absolute MongoDB",
        "figures are far below a real mongod, which is why every figure is also given as a ratio to a",
        "ceiling measured in the same run on the same machine.",
        "",
        "## Throughput and latency per endpoint",
        "",
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | errors | error rate |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results.values():
        r = result.row()
        lines.append(
            f"| {r['endpoint']} | {r['requests']} | {r['req_s']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['p99_ms']} | {r['errors']} | {r['error_rate']:.2%} |"
        )
    lines += ["", "## Ratios to the ceilings measured in the same run", ""]
    lines += [f"- {name}: **{value:.0%}**" for name, value in ratios.items()]
    lines += ["", "## Targets", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'} — {name}: {detail}" for name, ok, detail in targets]
    errors = [f"- {r.name}: {s}" for r in results.values() for s in r.error_samples]
    if errors:
        lines += ["", "Error samples:", "", *errors]
    lines += [
        "",
        "## Store round trips per request (steady state)",
        "",
        "Measured in-process against the same stores (tests/budgets.py; asserted by tests/test_budgets.py",
        "under test settings). Production settings enqueue webhook processing to the database task",
        "backend, so `webhook_ingest` here includes the enqueue.",
        "",
        budget_table,
    ]
    if over:
        lines += ["", "Over budget:", "", "```", *over, "```"]
    lines += [
        "",
        "## Scaling: course list and course analytics with 10x and 100x data",
        "",
        "Courses are cloned from an API-created course, progress documents spread over the analytics",
        "course's lessons and 14 days. Sequential requests (15 each); `cold` bumps the catalog cache",
        "generation before every request so each one reaches MongoDB.",
        "",
        "| scale | published courses | progress docs | list cold p50 / p95 ms | list cached p50 ms "
        "| analytics p50 / p95 ms | analytics compute, uncached, p50 ms | failures |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in scale_rows:
        lines.append(
            f"| x{row['factor']} | {row['courses']} | {row['progress']} "
            f"| {row['list_cold_p50']:.1f} / {row['list_cold_p95']:.1f} | {row['list_cached_p50']:.1f} "
            f"| {row['analytics_p50']:.1f} / {row['analytics_p95']:.1f} | {row['compute_p50']:.1f} "
            f"| {row['notes'] or '-'} |"
        )
    if len(scale_rows) >= 2:
        first, last = scale_rows[0], scale_rows[-1]
        growth = last["factor"] / first["factor"]
        lines += [
            "",
            f"Data grew {growth:.0f}x; cold list latency grew "
            f"{last['list_cold_p50'] / first['list_cold_p50']:.2f}x, "
            f"analytics latency grew {last['analytics_p50'] / first['analytics_p50']:.2f}x (served from its "
            "60 s cache); "
            + (
                "computing analytics without the cache grew "
                f"{last['compute_p50'] / first['compute_p50']:.2f}x."
                if "analytics compute" not in last["notes"]
                else "computing analytics without the cache did not finish within the MongoDB deadline "
                f"at x{last['factor']} (see failures)."
            ),
        ]
    lines += ["", "Query plans at the largest scale (MongoDB `explain`, PostgreSQL `EXPLAIN`):", "", *plans]
    lines += [
        "",
        "## Profiles",
        "",
        "pyinstrument, in-process (Django test client against the same stores, base data), 40 requests each:",
        f"the slowest endpoint (`{slowest}`; login is excluded on purpose, it is Argon2id at production",
        "parameters by design) and the two endpoints with a ratio target.",
    ]
    for name, text in profiles.items():
        lines += ["", f"### `{name}`", "", "```", text.strip(), "```"]
    findings = Path(__file__).with_name("findings.md")
    if findings.exists():
        lines += ["", findings.read_text().strip()]
    lines.append("")
    out.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="duration of each load phase")
    parser.add_argument("--threads", type=int, default=8, help="client threads per phase")
    parser.add_argument("--scale", default="1,10,100", help="data factors for the scaling check")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    started = time.monotonic()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "bench/run.sh " + " ".join(sys.argv[1:]) if sys.argv[1:] else "bench/run.sh"

    log("ensuring PostgreSQL, Redis and SecantusDB (scripts/services.sh)")
    stores = fresh_stores(ensure_services())
    host = machine(stores)
    workdir = Path(tempfile.mkdtemp(prefix="ls-bench-"))
    system = System(stores, workdir)
    try:
        system.start()
        seed = Seed(system)
        results = phases(system, seed, args.seconds, args.threads)
        log("measuring store round trips per endpoint")
        budget_table, over = round_trips(seed)
        endpoints = {
            k: v for k, v in results.items() if k not in ("bare_drf_endpoint", "raw_mongo_upsert", "login")
        }
        slowest = max(endpoints, key=lambda k: endpoints[k].pct(50))
        profiles = {}
        for name in dict.fromkeys([slowest, "course_list_cached", "progress_heartbeat"]):
            log(f"profiling {name}")
            profiles[name] = profile(seed, name)
        factors = [int(f) for f in args.scale.split(",")]
        log("scaling check")
        scale_rows, plans = scaling(system, seed, factors)
    finally:
        system.stop()

    ratios = {
        "course_list_cached / bare_drf_endpoint": results["course_list_cached"].rate
        / results["bare_drf_endpoint"].rate,
        "course_list_cold / bare_drf_endpoint": results["course_list_cold"].rate
        / results["bare_drf_endpoint"].rate,
        "progress_heartbeat / raw_mongo_upsert": results["progress_heartbeat"].rate
        / results["raw_mongo_upsert"].rate,
    }
    total_errors = sum(r.errors for r in results.values())
    targets = [
        (
            "cached catalog list >= 50 % of the bare DRF endpoint",
            ratios["course_list_cached / bare_drf_endpoint"] >= 0.5,
            f"{ratios['course_list_cached / bare_drf_endpoint']:.0%}",
        ),
        (
            "heartbeat >= 50 % of raw MongoDB upserts",
            ratios["progress_heartbeat / raw_mongo_upsert"] >= 0.5,
            f"{ratios['progress_heartbeat / raw_mongo_upsert']:.0%}",
        ),
        ("0 errors", total_errors == 0, f"{total_errors} errors"),
        (
            "course list and analytics answer 200 at every scale",
            not any("answered" in row["notes"] for row in scale_rows),
            "; ".join(f"x{row['factor']}: {row['notes']}" for row in scale_rows if "answered" in row["notes"])
            or "all 200",
        ),
    ]
    workers = os.cpu_count() or 1
    settings_line = (
        f"gunicorn (gunicorn.conf.py: {workers * 2 + 1} sync workers), DJANGO_ENV=production, DEBUG off, "
        f"JSON logs, db_worker for tasks, rate limiting off; load: {args.threads} client threads x "
        f"{args.seconds:.0f} s per phase, "
        "one connection per request, 127.0.0.1"
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_report(
        out,
        command=command,
        when=when,
        host=host,
        settings_line=settings_line,
        results=results,
        ratios=ratios,
        targets=targets,
        budget_table=budget_table,
        over=over,
        scale_rows=scale_rows,
        plans=plans,
        slowest=slowest,
        profiles=profiles,
        duration=time.monotonic() - started,
    )
    log(f"wrote {out}")
    for name, ok, detail in targets:
        log(f"{'PASS' if ok else 'FAIL'}: {name} ({detail})")
    return 0 if all(ok for _n, ok, _d in targets) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Store outages with real servers killed by PID mid-test.

MongoDB down: cached catalog pages are still served (stale copies marked `X-Catalog-Stale: 1`), writes
answer 503 with the envelope and Retry-After within the configured timeout, and everything acknowledged
before the outage is there after the restart. Redis down: everything works from the stores."""

import copy
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import selectors
from catalog.indexes import ensure_indexes
from catalog.repositories.base import collection, oid
from catalog.tests.helpers import assert_error
from learnstream import mongo
from tests.support import servers

pytestmark = [pytest.mark.django_db, pytest.mark.live]

TIMEOUT_MS = 300
BOUND_SECONDS = 2.5  # server selection (0.3 s) plus generous scheduling slack on a loaded CI box


@pytest.fixture
def own_mongo(settings, tmp_path):
    """A private SecantusDB on disk, so it can be killed and restarted without touching other tests."""
    original_uri = settings.MONGO_URI
    server = servers.start_secantus(tmp_path)  # on disk with --sync-on-commit
    settings.MONGO_URI = f"mongodb://127.0.0.1:{server.port}"
    settings.MONGO_TIMEOUT_MS = TIMEOUT_MS
    mongo.close_client()
    ensure_indexes()
    try:
        yield server
    finally:
        mongo.close_client()
        server.kill()  # its data is thrown away with tmp_path
        settings.MONGO_URI = original_uri
        mongo.close_client()


@pytest.fixture
def own_redis(settings, tmp_path):
    server = servers.start_redis(tmp_path)
    caches = copy.deepcopy(settings.CACHES)
    for alias in ("default", "ratelimit"):
        caches[alias]["LOCATION"] = f"redis://127.0.0.1:{server.port}/0"
    settings.CACHES = caches
    try:
        yield server
    finally:
        server.kill()


def _timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def _wait_for_mongo(timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            mongo.ping()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_mongo_outage_serves_cached_catalog_refuses_writes_and_recovers(
    own_mongo, settings, api_client, client_for, instructor, student
):
    owner, learner = client_for(instructor), client_for(student)
    course = owner.post("/api/v1/courses/", {"title": "Durable", "level": "beginner"}, format="json").json()
    lesson = owner.post(
        f"/api/v1/courses/{course['id']}/lessons/", {"title": "L1", "duration": 100}, format="json"
    ).json()
    owner.post(f"/api/v1/courses/{course['id']}/publish")
    draft = owner.post(
        "/api/v1/courses/", {"title": "Never cached", "level": "beginner"}, format="json"
    ).json()
    assert learner.post(f"/api/v1/courses/{course['id']}/enroll").status_code == 201
    assert (
        learner.put(f"/api/v1/lessons/{lesson['id']}/progress", {"position": 40}, format="json").status_code
        == 200
    )
    pages = [
        "/api/v1/courses/",
        f"/api/v1/courses/{course['id']}",
        f"/api/v1/courses/{course['id']}/lessons/",
    ]
    warm = {url: api_client.get(url).json() for url in pages}

    own_mongo.kill()

    # Fresh cached pages: served without touching MongoDB.
    for url in pages:
        response, elapsed = _timed(lambda url=url: api_client.get(url))
        assert response.status_code == 200
        assert response.json() == warm[url]
        assert "X-Catalog-Stale" not in response
    # Past their freshness: MongoDB is tried (bounded), then the last copy is served and marked stale.
    settings.CATALOG_CACHE_TTL_SECONDS = 0
    for url in pages:
        response, elapsed = _timed(lambda url=url: api_client.get(url))
        assert (response.status_code, response.json(), response["X-Catalog-Stale"]) == (200, warm[url], "1")
        assert elapsed < BOUND_SECONDS
    # Nothing cached to fall back on, and every write: 503 envelope with Retry-After, quickly.
    for call in (
        lambda: owner.get(f"/api/v1/courses/{draft['id']}"),
        lambda: api_client.get("/api/v1/courses/?search=other"),
        lambda: owner.post("/api/v1/courses/", {"title": "Lost?", "level": "beginner"}, format="json"),
        lambda: owner.patch(f"/api/v1/courses/{course['id']}", {"title": "Lost?"}, format="json"),
        lambda: learner.put(f"/api/v1/lessons/{lesson['id']}/progress", {"position": 80}, format="json"),
        lambda: learner.post(f"/api/v1/lessons/{lesson['id']}/complete"),
        lambda: learner.post(f"/api/v1/courses/{draft['id']}/enroll"),  # a course never cached
    ):
        response, elapsed = _timed(call)
        assert_error(response, 503, "service_unavailable")
        assert response["Retry-After"] == "5"
        assert elapsed < BOUND_SECONDS
    # Enrolling needs only PostgreSQL once the course is cached (kept under the catalog generation, which
    # no catalog write can move while MongoDB is down): a new enrollment starts.
    newcomer = client_for(instructor).post(f"/api/v1/courses/{course['id']}/enroll")
    assert newcomer.status_code == 201

    own_mongo.start()
    _wait_for_mongo()
    settings.CATALOG_CACHE_TTL_SECONDS = 60

    # Everything acknowledged before the outage survived; nothing refused during it was written.
    progress = collection("progress").find_one({"user_id": student.id, "lesson_id": oid(lesson["id"])})
    assert (progress["max_position"], progress["completed"]) == (40.0, False)
    assert collection("courses").count_documents({}) == 2
    assert selectors.course_get(course_id=course["id"])["title"] == "Durable"
    # And it works again, without restarting the app.
    beat = learner.put(f"/api/v1/lessons/{lesson['id']}/progress", {"position": 95}, format="json")
    # (v1.1: the position no longer completes the lesson; the write landing is what counts here)
    assert (beat.status_code, beat.json()["max_position"], beat.json()["completed"]) == (200, 95.0, False)
    assert (
        owner.post("/api/v1/courses/", {"title": "After", "level": "beginner"}, format="json").status_code
        == 201
    )
    fresh = api_client.get(f"/api/v1/courses/{course['id']}")
    assert fresh.status_code == 200
    assert "X-Catalog-Stale" not in fresh


def test_redis_outage_degrades_to_the_stores_and_recovers(
    own_redis, api_client, client_for, instructor, student, other_student, make_course, mongo_commands,
):  # fmt: skip
    course = make_course(instructor, lessons=2, publish=True)
    learner = client_for(student)
    assert learner.post(f"/api/v1/courses/{course['id']}/enroll").status_code == 201
    lesson_id = course["lesson_ids"][0]
    assert (
        learner.put(f"/api/v1/lessons/{lesson_id}/progress", {"position": 5}, format="json").status_code
        == 200
    )
    other = client_for(other_student)

    own_redis.kill()

    for url in (
        "/api/v1/courses/",
        f"/api/v1/courses/{course['id']}",
        f"/api/v1/courses/{course['id']}/lessons/",
    ):
        response, elapsed = _timed(lambda url=url: api_client.get(url))
        assert response.status_code == 200
        assert elapsed < BOUND_SECONDS
    # The enrollment lookup falls back to PostgreSQL (one query on the enrollment table; the token's
    # revocation check has its own PostgreSQL fallback), and progress still records.
    with CaptureQueriesContext(connection) as queries:
        beat = learner.put(f"/api/v1/lessons/{lesson_id}/progress", {"position": 30}, format="json")
    assert (beat.status_code, beat.json()["max_position"]) == (200, 30.0)
    assert len([q for q in queries.captured_queries if "catalog_enrollment" in q["sql"]]) == 1
    assert other.post(f"/api/v1/courses/{course['id']}/enroll").status_code == 201
    assert (
        client_for(instructor)
        .patch(f"/api/v1/courses/{course['id']}", {"title": "Renamed"}, format="json")
        .status_code
        == 200
    )
    assert api_client.get(f"/api/v1/courses/{course['id']}").json()["title"] == "Renamed"

    own_redis.start()

    api_client.get(f"/api/v1/courses/{course['id']}")
    with mongo_commands.recording() as commands:
        again = api_client.get(f"/api/v1/courses/{course['id']}")
    assert (again.status_code, again.json()["title"], commands) == (200, "Renamed", [])


@pytest.fixture
def postgres_switch():
    """Points this process's PostgreSQL connection at a closed port (a real refused connection) and back."""
    original = dict(connection.settings_dict)

    def down() -> None:
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(servers.free_port()))

    def up() -> None:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)

    yield down, up
    up()


@pytest.mark.django_db(transaction=True)
def test_postgres_outage_fails_closed_while_cached_heartbeats_continue(
    postgres_switch, client_for, instructor, student, other_student, make_course
):
    down, up = postgres_switch
    course = make_course(instructor, lessons=2, publish=True)
    learner, newcomer = client_for(student), client_for(other_student)
    assert learner.post(f"/api/v1/courses/{course['id']}/enroll").status_code == 201
    lesson_id = course["lesson_ids"][0]
    assert (
        learner.put(f"/api/v1/lessons/{lesson_id}/progress", {"position": 5}, format="json").status_code
        == 200
    )

    down()
    enroll, elapsed = _timed(lambda: newcomer.post(f"/api/v1/courses/{course['id']}/enroll"))
    uncached = newcomer.put(f"/api/v1/lessons/{lesson_id}/progress", {"position": 5}, format="json")
    cached = learner.put(f"/api/v1/lessons/{lesson_id}/progress", {"position": 9}, format="json")
    up()

    assert_error(enroll, 503, "service_unavailable")
    assert elapsed < BOUND_SECONDS
    assert_error(uncached, 503, "service_unavailable")  # fails closed: no enrollment answer, no write
    assert (cached.status_code, cached.json()["max_position"]) == (200, 9.0)  # needs no PostgreSQL
    assert collection("progress").count_documents({"user_id": other_student.id}) == 0
    assert newcomer.post(f"/api/v1/courses/{course['id']}/enroll").status_code == 201

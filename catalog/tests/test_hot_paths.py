"""The hot paths' round trips and the caches behind them (bench/findings.md): the cached course list,
course analytics, the list indexes and the heartbeat's lookups. Round trips are counted at the
drivers' boundaries (pymongo's command listener, redis-py's send, Django's query log)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.http import QueryDict
from drf_spectacular.generators import SchemaGenerator
from pymongo import ASCENDING, DESCENDING, IndexModel

from catalog import analytics, selectors, services
from catalog import cache as catalog_cache
from catalog.repositories import courses as course_repository
from catalog.repositories.base import collection
from catalog.serializers import CourseListQuerySerializer
from catalog.tests.helpers import assert_error, catalog_sends
from catalog.views.courses import course_list_query, course_rows
from learnstream import mongo
from learnstream.permissions import Actor

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
GEN = catalog_cache.GENERATION_KEY


def _list_key(**params):
    """The public course list's cache key for page 1 at the default size."""
    parts = selectors.CourseListParams(**params).cache_parts()
    return catalog_cache.course_list_key(query_parts=parts, offset=0, limit=20)


# --- 1. cached course list ------------------------------------------------------------------------
def test_cached_public_pages_cost_one_redis_round_trip_and_nothing_else(
    api_client, instructor, make_course, mongo_commands, redis_commands, django_assert_num_queries
):
    course = make_course(instructor, lessons=2, publish=True, title="Hot")
    urls = ["/api/v1/courses/", f"/api/v1/courses/{course['id']}", f"/api/v1/courses/{course['id']}/lessons/"]
    warm = [api_client.get(url).json() for url in urls]
    list_key = _list_key()
    detail_key = catalog_cache.course_detail_key(course["id"])
    lessons_key = catalog_cache.course_lessons_key(course_id=course["id"], offset=0, limit=20)

    with (
        django_assert_num_queries(0),
        mongo_commands.recording() as commands,
        redis_commands.recording() as sends,
    ):
        again = [api_client.get(url).json() for url in urls]

    assert again == warm
    assert commands == []
    # Generation and page in one MGET per request (the generation used to be a GET of its own).
    assert sends == [
        ["MGET", f"ls:1:{GEN}", f"ls:1:{list_key}"],
        ["MGET", f"ls:1:{GEN}", f"ls:1:{detail_key}"],
        ["MGET", f"ls:1:{GEN}", f"ls:1:{lessons_key}"],
    ]


def test_detail_and_lessons_caches_keep_the_wire_form_so_a_hit_is_not_serialised_again(
    api_client, instructor, make_course
):
    course = make_course(instructor, lessons=2, publish=True, title="Wire detail")

    detail_response = api_client.get(f"/api/v1/courses/{course['id']}/")
    detail = detail_response.json()
    lessons = api_client.get(f"/api/v1/courses/{course['id']}/lessons/").json()

    detail_entry = cache.get(catalog_cache.course_detail_key(course["id"]))["value"]
    lessons_entry = cache.get(catalog_cache.course_lessons_key(course_id=course["id"], offset=0, limit=20))
    # Exactly the response bodies, JSON-ready and (detail) encoded, plus the fields the permission reads.
    assert detail_entry == {
        "owner_id": instructor.pk,
        "status": "published",
        "data": detail,
        "body": detail_response.content,
    }
    hit = api_client.get(f"/api/v1/courses/{course['id']}/")
    assert (hit.content, hit["Content-Type"]) == (detail_response.content, "application/json")
    assert isinstance(detail_entry["data"]["created_at"], str)
    assert lessons_entry["value"] == {
        "owner_id": instructor.pk,
        "status": "published",
        "data": {"total": 2, "items": lessons["results"]},
    }


def test_the_list_cache_keeps_the_wire_form_so_a_hit_is_not_serialised_again(
    api_client, instructor, make_course
):
    make_course(instructor, lessons=1, publish=True, title="Wire")

    body = api_client.get("/api/v1/courses/").json()

    entry = cache.get(_list_key())
    assert entry["generation"] == cache.get(GEN)
    # Exactly the response's rows: JSON-ready dicts (datetimes already strings), not course details.
    assert entry["value"] == {"total": 1, "items": body["results"]}
    assert isinstance(entry["value"]["items"][0]["created_at"], str)


def test_a_cold_list_reads_the_generation_with_the_page_then_stores_the_page(
    api_client, instructor, make_course, redis_commands
):
    make_course(instructor, lessons=1, publish=True)
    cache.delete(GEN)  # a fresh Redis

    with redis_commands.recording() as sends:
        api_client.get("/api/v1/courses/")

    key = _list_key()
    assert catalog_sends(sends) == [
        ["MGET", GEN, key],
        ["SET", GEN],  # NX: start the generation (a concurrent starter wins, we read it back)
        ["GET", GEN],
        ["SET", f"{key}:recompute:{cache.get(GEN)}"],  # NX: the one recompute of this page
        ["SET", key],
    ]


def test_a_write_in_another_process_is_seen_at_once(api_client, instructor, make_course, settings):
    """No per-process copy of the generation: a write anywhere invalidates every process's next read."""
    course = make_course(instructor, lessons=1, publish=True, title="Before")
    assert api_client.get("/api/v1/courses/").json()["results"][0]["title"] == "Before"
    assert api_client.get(f"/api/v1/courses/{course['id']}").json()["title"] == "Before"
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "MONGO_URI": settings.MONGO_URI,
        "MONGO_DB": settings.MONGO_DB,
        "REDIS_URL": settings.REDIS_URL,  # the suite's real Redis (processes share nothing else)
    }
    script = (
        "from catalog import selectors, services; "
        f"services.course_update(course=selectors.course_get(course_id={course['id']!r}), "
        "fields={'title': 'After'})"
    )

    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, timeout=60
    )

    assert api_client.get("/api/v1/courses/").json()["results"][0]["title"] == "After"
    assert api_client.get(f"/api/v1/courses/{course['id']}").json()["title"] == "After"


@pytest.fixture
def mongo_unreachable(settings):
    """MongoDB at a closed port (a real refused connection, bounded by a short timeout)."""

    def down():
        settings.MONGO_URI = "mongodb://127.0.0.1:9"  # discard port: nothing listens
        settings.MONGO_TIMEOUT_MS = 200
        mongo.close_client()

    original = settings.MONGO_URI
    yield down
    settings.MONGO_URI = original
    mongo.close_client()


def test_mongo_outage_serves_the_current_generations_copy_marked_stale_but_never_an_older_one(
    api_client, instructor, make_course, settings, mongo_unreachable
):
    make_course(instructor, lessons=1, publish=True, title="Kept")
    warm = api_client.get("/api/v1/courses/").json()
    mongo_unreachable()
    settings.CATALOG_CACHE_TTL_SECONDS = 0  # past freshness: MongoDB is tried first

    stale = api_client.get("/api/v1/courses/")
    assert (stale.status_code, stale.json(), stale["X-Catalog-Stale"]) == (200, warm, "1")

    catalog_cache.catalog_invalidate()  # a write happened: the copy predates it
    assert_error(api_client.get("/api/v1/courses/"), 503, "service_unavailable")
    assert cache.get(_list_key())["generation"] != cache.get(GEN)  # kept, but never served again


def test_list_query_without_filters_skips_validation_with_the_same_result(
    api_client, instructor, make_course
):
    defaults = CourseListQuerySerializer(data={})
    assert defaults.is_valid()
    for raw in ("", "page=1", "page_size=5&page=1", "unknown=x"):
        assert course_list_query(QueryDict(raw)) == dict(defaults.validated_data), raw
    assert course_list_query(QueryDict("ordering=title&tag=%20Web")) == {"ordering": "title", "tag": "web"}
    make_course(instructor, lessons=1, publish=True, title="B")
    make_course(instructor, lessons=1, publish=True, title="A")

    assert (
        api_client.get("/api/v1/courses/?page=1").json()["results"]
        == api_client.get("/api/v1/courses/?ordering=-published_at").json()["results"]
    )
    assert_error(api_client.get("/api/v1/courses/?ordering=bogus"), 400, "validation_error")
    assert_error(api_client.get("/api/v1/courses/?page=0"), 400)


def test_course_rows_are_plain_dicts_equal_to_the_serializer_output(instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)
    detail = selectors.course_detail_of(course=course)

    (row,) = course_rows([detail])

    assert type(row) is dict
    assert row["id"] == course["id"]
    assert row["instructor"] == {"id": instructor.id, "name": instructor.name}


# --- 2. course analytics --------------------------------------------------------------------------
@pytest.fixture
def analytics_course(instructor, make_course, enroll, student):
    course = make_course(instructor, durations=[100.0, 100.0], publish=True)
    enroll(student, course)
    services.progress_complete(actor=Actor.of(student), lesson_id=course["lesson_ids"][0])
    return course


def test_analytics_are_cached_per_course_and_a_hit_costs_only_the_course_lookup(
    client_for,
    instructor,
    student,
    analytics_course,
    mongo_commands,
    redis_commands,
    django_assert_num_queries,
):
    course, owner = analytics_course, client_for(instructor)
    url = f"/api/v1/courses/{course['id']}/analytics"
    first = owner.get(url).json()
    assert (first["average_percent"], first["lessons"][1]["starts"]) == (50.0, 0)
    services.progress_complete(
        actor=Actor.of(student), lesson_id=course["lesson_ids"][1]
    )  # after the snapshot

    with (
        django_assert_num_queries(0),
        mongo_commands.recording() as commands,
        redis_commands.recording() as sends,
    ):
        second = owner.get(url)

    assert second.json() == first  # up to CATALOG_ANALYTICS_CACHE_SECONDS old, by design
    assert commands == [("find", "courses")]  # the permission check still reads the course
    assert catalog_sends(sends) == []  # this process's copy


def test_analytics_copy_is_shared_through_redis_and_expires(
    instructor, student, analytics_course, redis_commands
):
    course = analytics_course
    computed = analytics.course_analytics_get(course=course)
    services.progress_complete(actor=Actor.of(student), lesson_id=course["lesson_ids"][1])
    catalog_cache._local_copies.clear()  # as another worker sees it

    with redis_commands.recording() as sends:
        shared = analytics.course_analytics_get(course=course)

    assert shared == computed
    assert catalog_sends(sends) == [["GET", catalog_cache.analytics_key(course["id"])]]

    # Older than the period (in Redis and here): computed again, now with both completions.
    key = catalog_cache.analytics_key(course["id"])
    entry = cache.get(key)
    cache.set(key, {**entry, "computed_at": time.time() - 61}, timeout=60)
    catalog_cache._local_copies[course["id"]] = (time.time() - 61, computed)

    fresh = analytics.course_analytics_get(course=course)

    assert (fresh["completion_rate"], fresh["average_percent"]) == (1.0, 100.0)
    assert cache.get(key)["value"] == fresh


def test_analytics_cache_can_be_disabled(client_for, instructor, student, analytics_course, settings):
    settings.CATALOG_ANALYTICS_CACHE_SECONDS = 0
    url = f"/api/v1/courses/{analytics_course['id']}/analytics"
    owner = client_for(instructor)
    assert owner.get(url).json()["average_percent"] == 50.0
    services.progress_complete(actor=Actor.of(student), lesson_id=analytics_course["lesson_ids"][1])

    assert owner.get(url).json()["average_percent"] == 100.0
    assert cache.get(catalog_cache.analytics_key(analytics_course["id"])) is None


def test_analytics_are_still_permission_checked_on_a_hit(
    client_for, instructor, other_instructor, analytics_course
):
    url = f"/api/v1/courses/{analytics_course['id']}/analytics"
    assert client_for(instructor).get(url).status_code == 200

    assert_error(client_for(other_instructor).get(url), 403)


# v1.1: per-lesson figures come from rollups (test_rollups.py); the one aggregation left is the sum of
# the course's last-active-hour buckets of the window (test_activity.py), on the (c, h) index. (It was a
# count of distinct learners over the progress documents on the (course_id, updated_at) index.)
def test_analytics_aggregation_is_hinted_to_the_course_hour_index(
    instructor, analytics_course, mongo_commands
):
    with mongo_commands.recording():
        analytics.course_analytics_compute(course=analytics_course)

    hinted = [d for d in mongo_commands.documents if "aggregate" in d]
    assert [(d["aggregate"], d["hint"]) for d in hinted] == [("course_activity_hours", "course_hour")]
    assert set(hinted[0]["pipeline"][0]["$match"]) == {"c", "h"}


def test_analytics_without_the_hinted_index_run_unhinted(instructor, analytics_course, mongo_commands):
    expected = analytics.course_analytics_compute(course=analytics_course)
    collection("course_activity_hours").drop_index("course_hour")  # indexes not applied (yet)

    with mongo_commands.recording() as commands:
        got = analytics.course_analytics_compute(course=analytics_course)

    assert got == expected
    assert expected["active_learners_7d"] == 1
    aggregates = [d for d in mongo_commands.documents if d.get("aggregate") == "course_activity_hours"]
    assert [d.get("hint") for d in aggregates] == ["course_hour", None]
    assert commands.count(("aggregate", "course_activity_hours")) == 2


def test_openapi_says_how_old_analytics_may_be():
    schema = SchemaGenerator().get_schema(request=None, public=True)

    description = schema["paths"]["/api/v1/courses/{id}/analytics/"]["get"]["description"]
    assert description.startswith(analytics.COURSE_METRICS)
    seconds = catalog_cache.analytics_seconds()
    assert description.endswith(
        f"Figures are cached per course and may be up to {seconds} seconds old (they do not reflect "
        "progress, enrollments or lesson changes made since)."
    )


# --- 3. list indexes ------------------------------------------------------------------------------
def test_every_list_ordering_has_an_index_of_status_then_exactly_its_sort_keys():
    keys = {tuple(model.document["key"].items()) for model in course_repository.INDEXES}

    for ordering, sort in course_repository.ORDERINGS.items():
        assert (("status", ASCENDING), *sort) in keys, ordering


def test_mongo_indexes_upgrades_a_deployment_with_the_old_list_indexes(capsys):
    courses = collection("courses")
    courses.drop_indexes()
    courses.create_indexes(
        [
            IndexModel([("status", ASCENDING), ("published_at", DESCENDING)], name="status_published_at"),
            IndexModel([("status", ASCENDING), ("created_at", DESCENDING)], name="status_created_at"),
            IndexModel([("status", ASCENDING), ("title_sort", ASCENDING)], name="status_title"),
            IndexModel([("slug", ASCENDING)], unique=True, name="slug_unique"),
        ]
    )

    call_command("mongo_indexes")
    first = capsys.readouterr().out
    call_command("mongo_indexes")
    second = capsys.readouterr().out

    assert [line.strip() for line in first.splitlines() if "dropped" in line] == [
        "dropped superseded courses.status_created_at",
        "dropped superseded courses.status_published_at",
        "dropped superseded courses.status_title",
    ]
    assert "dropped" not in second
    assert first.splitlines()[-1] == second.splitlines()[-1]
    assert set(courses.index_information()) == {
        "_id_",
        "slug_unique",
        "status_published_at_created_at_id",
        "status_created_at_id",
        "status_title_sort_id",
        "sections_id",  # v1.1: sections/{id} finds its course
        "owner_created_at",
        "tags",
    }


# --- 4. heartbeat ---------------------------------------------------------------------------------
@pytest.fixture
def enrolled_lesson(instructor, student, make_course, enroll):
    course = make_course(instructor, lessons=1, publish=True)
    enroll(student, course)
    return course, course["lesson_ids"][0]


def test_heartbeat_reads_lesson_facts_and_enrollment_in_one_redis_round_trip(
    student, enrolled_lesson, mongo_commands, redis_commands, django_assert_num_queries
):
    course, lesson_id = enrolled_lesson
    services.progress_record(actor=Actor.of(student), lesson_id=lesson_id, position=1)  # warms the lookups

    with (
        django_assert_num_queries(0),
        mongo_commands.recording() as commands,
        redis_commands.recording() as sends,
    ):
        result = services.progress_record(actor=Actor.of(student), lesson_id=lesson_id, position=2)

    assert (result["position"], result["max_position"]) == (2.0, 2.0)
    assert commands == [("findAndModify", "progress")]
    assert sends == [
        [
            "MGET",
            f"ls:1:{catalog_cache.lesson_access_key(lesson_id)}",
            f"ls:1:{catalog_cache.enrollment_key(student.id, course['id'])}",
        ]
    ]


def test_heartbeat_over_http_makes_one_catalog_round_trip(
    client_for, student, enrolled_lesson, redis_commands
):
    course, lesson_id = enrolled_lesson
    client = client_for(student)
    url = f"/api/v1/lessons/{lesson_id}/progress"
    client.put(url, {"position": 1}, format="json")

    with redis_commands.recording() as sends:
        response = client.put(url, {"position": 2}, format="json")

    assert response.status_code == 200
    assert catalog_sends(sends) == [
        [
            "MGET",
            catalog_cache.lesson_access_key(lesson_id),
            catalog_cache.enrollment_key(student.id, course["id"]),
        ]
    ]


def test_heartbeat_in_a_fresh_process_looks_up_separately_then_folds(
    student, enrolled_lesson, redis_commands, django_assert_num_queries
):
    course, lesson_id = enrolled_lesson
    services.progress_record(actor=Actor.of(student), lesson_id=lesson_id, position=1)
    catalog_cache._lesson_course.clear()  # this process has not seen the lesson yet

    with redis_commands.recording() as sends, django_assert_num_queries(0):
        services.progress_record(actor=Actor.of(student), lesson_id=lesson_id, position=2)
    with redis_commands.recording() as folded:
        services.progress_record(actor=Actor.of(student), lesson_id=lesson_id, position=3)

    access_key = catalog_cache.lesson_access_key(lesson_id)
    enrollment_key = catalog_cache.enrollment_key(student.id, course["id"])
    assert catalog_sends(sends) == [["GET", access_key], ["GET", enrollment_key]]
    assert catalog_sends(folded) == [["MGET", access_key, enrollment_key]]


def test_folded_heartbeat_sees_an_unenrollment_at_once(student, enrolled_lesson, client_for):
    course, lesson_id = enrolled_lesson
    client = client_for(student)
    url = f"/api/v1/lessons/{lesson_id}/progress"
    assert client.put(url, {"position": 1}, format="json").status_code == 200
    client.put(url, {"position": 2}, format="json")  # folded path in use

    assert client.delete(f"/api/v1/courses/{course['id']}/enroll").status_code == 204

    assert_error(client.put(url, {"position": 3}, format="json"), 403, "permission_denied")
    assert collection("progress").find_one({"user_id": student.id})["max_position"] == 2.0


def test_folded_heartbeat_after_cache_loss_reloads_and_stays_exact(
    student, instructor, enrolled_lesson, django_assert_num_queries
):
    _course, lesson_id = enrolled_lesson
    services.progress_record(actor=Actor.of(student), lesson_id=lesson_id, position=1)
    cache.clear()  # Redis restarted empty: both keys gone, the per-process course memo kept

    with django_assert_num_queries(1):  # the enrollment, from PostgreSQL
        result = services.progress_record(actor=Actor.of(student), lesson_id=lesson_id, position=95)
    preview = services.progress_record(actor=Actor.of(instructor), lesson_id=lesson_id, position=10)

    # v1.1: a position alone never completes (watched coverage does: test_coverage.py)
    assert (result["completed"], result["max_position"]) == (False, 95.0)
    owner_doc = collection("progress").find_one({"user_id": instructor.id})
    assert (preview["max_position"], owner_doc["preview"]) == (10.0, True)


def test_the_curriculum_cache_keeps_the_anonymous_answer_encoded_and_learners_still_get_theirs(
    api_client, client_for, instructor, student, make_course, enroll
):
    course = make_course(instructor, lessons=2, publish=True, title="Encoded")
    url = f"/api/v1/courses/{course['id']}/curriculum/"

    anonymous = api_client.get(url)

    entry = cache.get(catalog_cache.curriculum_key(course["id"]))["value"]
    assert entry["body"] == anonymous.content
    assert api_client.get(url).content == anonymous.content  # a hit answers the stored bytes
    # An enrolled learner's curriculum is decorated per learner, not the shared bytes.
    enroll(student, course)
    mine = client_for(student).get(url).json()
    assert [lesson["completed"] for lesson in mine["unsectioned"]] == [False, False]
    assert "completed" not in anonymous.json()["unsectioned"][0]

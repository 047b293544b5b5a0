"""Published-catalog caching: served from Redis, invalidated by every write, short TTL backstop,
per-viewer pages never cached; enrollment lookups cached and invalidated."""

import logging
import threading
import time

import pytest
from django.core.cache import cache
from pymongo.errors import ServerSelectionTimeoutError

from catalog import cache as catalog_cache
from catalog import selectors
from catalog.repositories.base import IN_BATCH, collection, oid

pytestmark = pytest.mark.django_db


def _rename_behind_the_apps_back(course_id, title):
    collection("courses").update_one({"_id": oid(course_id)}, {"$set": {"title": title}})


def test_public_list_and_detail_come_from_cache(api_client, instructor, make_course, mongo_commands):
    course = make_course(instructor, lessons=1, publish=True, title="Cached")
    api_client.get("/api/v1/courses/")
    api_client.get(f"/api/v1/courses/{course['id']}")
    api_client.get(f"/api/v1/courses/{course['id']}/lessons/")
    _rename_behind_the_apps_back(course["id"], "Changed directly")

    with mongo_commands.recording() as commands:
        listing = api_client.get("/api/v1/courses/")
        detail = api_client.get(f"/api/v1/courses/{course['id']}")
        lessons = api_client.get(f"/api/v1/courses/{course['id']}/lessons/")

    assert commands == []
    assert listing.json()["results"][0]["title"] == "Cached"
    assert detail.json()["title"] == "Cached"
    assert lessons.json()["count"] == 1


def test_every_write_invalidates(api_client, client_for, instructor, make_course):
    course = make_course(instructor, lessons=2, publish=True, title="Before")
    owner = client_for(instructor)
    detail_url = f"/api/v1/courses/{course['id']}"

    def warm():
        api_client.get("/api/v1/courses/")
        api_client.get(detail_url)
        api_client.get(f"{detail_url}/lessons/")

    warm()
    owner.patch(detail_url, {"title": "After"}, format="json")
    assert api_client.get(detail_url).json()["title"] == "After"
    assert api_client.get("/api/v1/courses/").json()["results"][0]["title"] == "After"

    warm()
    owner.post(f"{detail_url}/lessons/", {"title": "Third", "duration": 10}, format="json")
    assert api_client.get(detail_url).json()["lesson_count"] == 3
    assert api_client.get(f"{detail_url}/lessons/").json()["count"] == 3

    warm()
    lesson_id = course["lesson_ids"][0]
    owner.patch(f"/api/v1/lessons/{lesson_id}", {"title": "Renamed"}, format="json")
    assert api_client.get(f"{detail_url}/lessons/").json()["results"][0]["title"] == "Renamed"

    warm()
    owner.post(f"{detail_url}/lessons/reorder", {"lesson_ids": list(reversed(
        selectors.course_get(course_id=course["id"])["lesson_ids"]))}, format="json")  # fmt: skip
    assert api_client.get(f"{detail_url}/lessons/").json()["results"][0]["title"] == "Third"

    warm()
    owner.delete(f"/api/v1/lessons/{lesson_id}")
    assert api_client.get(detail_url).json()["lesson_count"] == 2

    warm()
    owner.post(f"{detail_url}/unpublish")
    assert api_client.get(detail_url).status_code == 404
    assert api_client.get("/api/v1/courses/").json()["count"] == 0

    owner.post(f"{detail_url}/publish")
    warm()
    owner.delete(detail_url)
    assert api_client.get(detail_url).status_code == 404
    assert api_client.get(f"{detail_url}/lessons/").status_code == 404


def test_short_ttl_is_the_backstop_for_lost_invalidations(api_client, instructor, make_course, settings):
    course = make_course(instructor, lessons=1, publish=True, title="Old")
    api_client.get(f"/api/v1/courses/{course['id']}")
    _rename_behind_the_apps_back(course["id"], "New")
    settings.CATALOG_CACHE_TTL_SECONDS = 0  # as if the 60 s had passed

    assert api_client.get(f"/api/v1/courses/{course['id']}").json()["title"] == "New"


def test_instructor_listing_is_never_served_from_the_shared_cache(
    client_for, api_client, instructor, make_course
):
    make_course(instructor, lessons=1, publish=True)
    api_client.get("/api/v1/courses/")  # warm the public page
    draft = make_course(instructor, title="Fresh draft")
    cache_gen = cache.get(catalog_cache.GENERATION_KEY)

    ids = [c["id"] for c in client_for(instructor).get("/api/v1/courses/").json()["results"]]

    assert draft["id"] in ids
    assert cache.get(catalog_cache.GENERATION_KEY) == cache_gen


def test_draft_detail_is_not_cached(client_for, instructor, make_course):
    course = make_course(instructor, title="Draft")
    owner = client_for(instructor)
    owner.get(f"/api/v1/courses/{course['id']}")
    _rename_behind_the_apps_back(course["id"], "Draft renamed")

    assert owner.get(f"/api/v1/courses/{course['id']}").json()["title"] == "Draft renamed"


def test_enrollment_lookup_is_cached_and_invalidated(
    student, instructor, make_course, enroll, django_assert_num_queries
):
    course = make_course(instructor, lessons=1, publish=True)

    with django_assert_num_queries(1):
        assert selectors.enrollment_is_active(user_id=student.id, course_id=course["id"]) is False
    with django_assert_num_queries(0):
        assert selectors.enrollment_is_active(user_id=student.id, course_id=course["id"]) is False
    enroll(student, course)
    assert selectors.enrollment_is_active(user_id=student.id, course_id=course["id"]) is True
    with django_assert_num_queries(0):
        assert selectors.enrollment_is_active(user_id=student.id, course_id=course["id"]) is True


def test_lost_generation_key_still_invalidates(api_client, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True, title="A")
    api_client.get(f"/api/v1/courses/{course['id']}")
    cache.delete(catalog_cache.GENERATION_KEY)  # evicted
    _rename_behind_the_apps_back(course["id"], "B")

    assert api_client.get(f"/api/v1/courses/{course['id']}").json()["title"] == "B"


def test_cold_public_list_costs_the_same_for_any_page_size(
    api_client, instructor, other_instructor, make_course, django_assert_num_queries, mongo_commands
):
    for i in range(6):
        make_course(instructor if i % 2 else other_instructor, lessons=2, publish=True)

    with django_assert_num_queries(1), mongo_commands.recording() as commands:  # instructor names, batched
        response = api_client.get("/api/v1/courses/")

    assert response.json()["count"] == 6
    assert {c["instructor"]["id"] for c in response.json()["results"]} == {instructor.id, other_instructor.id}
    assert [(name, target) for name, target in commands] == [
        ("aggregate", "courses"),  # count
        ("find", "courses"),  # the page
        ("find", "lessons"),  # total_duration for the whole page (one read per IN_BATCH courses)
    ]


def test_cold_list_reads_lesson_stats_in_batches_of_in_batch_courses(
    api_client, instructor, make_course, mongo_commands
):
    # SecantusDB answers a long `$in` past the MongoDB deadline at 10x the catalog: the page's lesson
    # stats are read IN_BATCH courses at a time, and must add up exactly as one read would.
    batch = IN_BATCH
    for i in range(batch + 2):
        make_course(instructor, lessons=1 + i % 3, durations=[10.0 * (i + 1)] * (1 + i % 3), publish=True)
    # A lesson of a course that is not in its course's ordered list does not count (half-created).
    stray = make_course(instructor, lessons=1, durations=[7.0], publish=True)
    collection("courses").update_one({"_id": oid(stray["id"])}, {"$set": {"lesson_ids": []}})

    with mongo_commands.recording() as commands:
        response = api_client.get("/api/v1/courses/?page_size=100")

    body = response.json()
    assert body["count"] == batch + 3
    assert [(name, target) for name, target in commands] == [
        ("aggregate", "courses"),
        ("find", "courses"),
        ("find", "lessons"),  # the first IN_BATCH courses of the page
        ("find", "lessons"),  # the other three
    ]
    got = {c["title"]: (c["lesson_count"], c["total_duration"]) for c in body["results"]}
    expected = {f"Course {i + 1}": (1 + i % 3, 10.0 * (i + 1) * (1 + i % 3)) for i in range(batch + 2)}
    assert got == {**expected, f"Course {batch + 3}": (0, 0.0)}


# --- stampede protection (catalog.cache.cached_read) -------------------------------------------------
def _slow_compute(calls, value, delay=0.3):
    def compute():
        calls.append(threading.get_ident())
        time.sleep(delay)
        return value, True

    return compute


def test_one_recompute_per_key_however_many_readers_miss_at_once():
    calls, results = [], []
    barrier = threading.Barrier(8)

    def read():
        barrier.wait()
        results.append(catalog_cache.cached_read("catalog:test:stampede", _slow_compute(calls, "page")))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(calls) == 1
    assert [(r.value, r.stale) for r in results] == [("page", False)] * 8


def test_readers_get_the_current_copy_at_once_while_one_recomputes(settings):
    catalog_cache.cached_read("catalog:test:busy", lambda: ("old", True))
    settings.CATALOG_CACHE_TTL_SECONDS = 0  # every copy is past its freshness
    calls = []
    slow = threading.Thread(
        target=catalog_cache.cached_read, args=("catalog:test:busy", _slow_compute(calls, "new", delay=1.0))
    )
    slow.start()
    time.sleep(0.2)  # the slow reader holds the recompute lock

    started = time.monotonic()
    other = catalog_cache.cached_read("catalog:test:busy", _slow_compute(calls, "never"))
    elapsed = time.monotonic() - started
    slow.join()

    assert (other.value, other.stale, len(calls)) == ("old", False, 1)
    assert elapsed < 0.5
    assert catalog_cache.cached_read("catalog:test:busy", lambda: ("later", True)).value in ("new", "later")


def test_a_failed_recompute_is_logged_and_backs_off(settings, caplog):
    catalog_cache.cached_read("catalog:test:down", lambda: ("last", True))
    settings.CATALOG_CACHE_TTL_SECONDS = 0
    attempts = []

    def failing():
        attempts.append(1)
        raise ServerSelectionTimeoutError("MongoDB did not answer")

    with caplog.at_level(logging.WARNING, logger="catalog.cache"):
        first = catalog_cache.cached_read("catalog:test:down", failing)
        second = catalog_cache.cached_read("catalog:test:down", failing)

    assert [(r.value, r.stale) for r in (first, second)] == [("last", True), ("last", True)]
    assert attempts == [1]  # the second reader did not hit the store again during the back-off
    assert [r.getMessage() for r in caplog.records if r.name == "catalog.cache"] == [
        "catalog cache: recompute of catalog:test:down failed (ServerSelectionTimeoutError); backing off"
    ]


def test_after_a_write_readers_wait_for_the_one_recompute_instead_of_all_computing():
    catalog_cache.cached_read("catalog:test:write", lambda: ("before", True))
    catalog_cache.catalog_invalidate()
    calls, results = [], []
    barrier = threading.Barrier(6)

    def read():
        barrier.wait()
        results.append(catalog_cache.cached_read("catalog:test:write", _slow_compute(calls, "after")))

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(calls) == 1
    assert [r.value for r in results] == ["after"] * 6  # never the copy from before the write

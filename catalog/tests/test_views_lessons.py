"""Lessons API: create/list/detail/update/delete, ordering and reorder, and no video internals."""

import random
import threading

import pytest

from catalog import cache as catalog_cache
from catalog import selectors, services
from catalog.repositories.base import collection, oid
from catalog.selectors import lessons as lesson_selectors
from catalog.tests.helpers import assert_error
from learnstream.errors import Conflict

pytestmark = pytest.mark.django_db

LESSON_KEYS = {
    "id", "course_id", "title", "description", "position", "duration", "is_preview", "video_status",
    "created_at", "updated_at",
    "section_id", "available_after_days",  # v1.1: sections and release rules
}  # fmt: skip


def _titles(client, course_id):
    response = client.get(f"/api/v1/courses/{course_id}/lessons/")
    assert response.status_code == 200, response.content
    return [(lesson["position"], lesson["title"]) for lesson in response.json()["results"]]


def test_owner_adds_lessons_in_order_and_at_positions(client_for, instructor, make_course):
    course = make_course(instructor)
    client = client_for(instructor)
    url = f"/api/v1/courses/{course['id']}/lessons/"

    first = client.post(url, {"title": "A", "duration": 60}, format="json")
    client.post(url, {"title": "C"}, format="json")
    middle = client.post(url, {"title": "B", "position": 2, "is_preview": True}, format="json")
    client.post(url, {"title": "Z", "position": 99}, format="json")

    assert first.status_code == 201
    assert set(first.json()) == LESSON_KEYS
    assert first.json()["video_status"] == "none"
    assert first.json()["duration"] == 60.0
    assert middle.json()["position"] == 2
    assert middle.json()["is_preview"] is True
    assert _titles(client, course["id"]) == [(1, "A"), (2, "B"), (3, "C"), (4, "Z")]


def test_lesson_validation_errors(client_for, instructor, make_course):
    course = make_course(instructor)
    url = f"/api/v1/courses/{course['id']}/lessons/"
    client = client_for(instructor)

    for payload, field in [
        ({}, "title"),
        ({"title": "T", "position": 0}, "position"),
        ({"title": "T", "duration": -1}, "duration"),
        ({"title": "T", "duration": "NaN"}, "duration"),
        ({"title": "T", "is_preview": "maybe"}, "is_preview"),
    ]:
        error = assert_error(client.post(url, payload, format="json"), 400, "validation_error")
        assert field in error["details"]
    assert collection("lessons").count_documents({}) == 0


def test_only_owner_or_admin_adds_lessons(
    client_for, instructor, other_instructor, student, admin_user, make_course
):
    course = make_course(instructor, lessons=1, publish=True)
    url = f"/api/v1/courses/{course['id']}/lessons/"

    assert_error(client_for(other_instructor).post(url, {"title": "X"}, format="json"), 403)
    assert_error(client_for(student).post(url, {"title": "X"}, format="json"), 403)
    assert client_for(admin_user).post(url, {"title": "Admin's"}, format="json").status_code == 201
    assert collection("lessons").count_documents({}) == 2


def test_catalog_payloads_never_expose_video_internals(
    client_for, api_client, instructor, make_course, lessons_of
):
    course = make_course(instructor, lessons=1, publish=True)
    lesson = lessons_of(course)[0]
    collection("lessons").update_one(
        {"_id": oid(lesson["id"])},
        {"$set": {"video": {"status": "ready", "upload_id": "up-secret", "asset_id": "as-secret",
                            "playback_id": "pb-secret", "rev": 3}}},
    )  # fmt: skip
    catalog_cache.lesson_invalidate(lesson_id=lesson["id"])

    responses = [
        api_client.get(f"/api/v1/courses/{course['id']}/lessons/"),
        api_client.get(f"/api/v1/lessons/{lesson['id']}"),
        api_client.get(f"/api/v1/courses/{course['id']}"),
        client_for(instructor).get(f"/api/v1/lessons/{lesson['id']}"),
    ]

    for response in responses:
        assert response.status_code == 200
        text = response.content.decode()
        for secret in ("up-secret", "as-secret", "pb-secret", "playback", "asset", "upload"):
            assert secret not in text
    assert responses[1].json()["video_status"] == "ready"
    assert responses[0].json()["results"][0]["video_status"] == "ready"


def test_lesson_detail_visibility_follows_course(
    client_for, api_client, instructor, other_instructor, make_course, lessons_of
):
    draft = make_course(instructor, lessons=1)
    lesson = lessons_of(draft)[0]
    url = f"/api/v1/lessons/{lesson['id']}"

    assert_error(api_client.get(url), 404)
    assert_error(client_for(other_instructor).get(url), 404)
    assert_error(client_for(other_instructor).patch(url, {"title": "X"}, format="json"), 404)
    assert client_for(instructor).get(url).json()["position"] == 1
    assert_error(api_client.get("/api/v1/lessons/nope"), 404)


def test_owner_patches_lesson_and_moves_it(client_for, instructor, make_course, lessons_of):
    course = make_course(instructor, lessons=3)
    first = lessons_of(course)[0]
    client = client_for(instructor)

    response = client.patch(
        f"/api/v1/lessons/{first['id']}",
        {"title": "Renamed", "duration": 42.5, "position": 3, "course_id": "f" * 24, "video_status": "ready"},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["duration"], body["position"], body["video_status"]) == (
        "Renamed",
        42.5,
        3,
        "none",
    )
    assert body["course_id"] == course["id"]
    assert _titles(client, course["id"]) == [(1, "Lesson 2"), (2, "Lesson 3"), (3, "Renamed")]


def test_other_instructor_cannot_patch_or_delete_published_lessons(
    client_for, other_instructor, instructor, make_course, lessons_of
):
    course = make_course(instructor, lessons=2, publish=True)
    lesson = lessons_of(course)[0]
    intruder = client_for(other_instructor)

    assert_error(intruder.patch(f"/api/v1/lessons/{lesson['id']}", {"title": "X"}, format="json"), 403)
    assert_error(intruder.delete(f"/api/v1/lessons/{lesson['id']}"), 403)
    assert selectors.lesson_get(lesson_id=lesson["id"])["title"] == "Lesson 1"


def test_delete_removes_lesson_order_entry_and_progress(
    client_for, instructor, student, make_course, lessons_of, enroll
):
    course = make_course(instructor, lessons=2, publish=True)
    first, second = lessons_of(course)
    enroll(student, course)
    client_for(student).put(f"/api/v1/lessons/{first['id']}/progress", {"position": 10}, format="json")

    response = client_for(instructor).delete(f"/api/v1/lessons/{first['id']}")

    assert response.status_code == 204
    assert selectors.lesson_get(lesson_id=first["id"]) is None
    assert selectors.course_get(course_id=course["id"])["lesson_ids"] == [second["id"]]
    assert collection("progress").count_documents({"lesson_id": oid(first["id"])}) == 0
    assert_error(
        client_for(student).put(f"/api/v1/lessons/{first['id']}/progress", {"position": 1}, format="json"),
        404,
    )


def test_last_lesson_of_published_course_cannot_be_deleted(client_for, instructor, make_course, lessons_of):
    course = make_course(instructor, lessons=1, publish=True)
    lesson = lessons_of(course)[0]

    assert_error(client_for(instructor).delete(f"/api/v1/lessons/{lesson['id']}"), 409)

    assert selectors.lesson_get(lesson_id=lesson["id"]) is not None
    assert selectors.course_get(course_id=course["id"])["lesson_ids"] == [lesson["id"]]


def test_reorder_with_permutation(client_for, instructor, make_course, lessons_of):
    course = make_course(instructor, lessons=3)
    a, b, c = (lesson["id"] for lesson in lessons_of(course))
    client = client_for(instructor)

    response = client.post(
        f"/api/v1/courses/{course['id']}/lessons/reorder", {"lesson_ids": [c, a, b]}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"lesson_ids": [c, a, b]}
    assert _titles(client, course["id"]) == [(1, "Lesson 3"), (2, "Lesson 1"), (3, "Lesson 2")]


@pytest.mark.parametrize("variant", ["missing", "duplicate", "foreign", "malformed", "empty"])
def test_reorder_rejects_non_permutations(client_for, instructor, make_course, lessons_of, variant):
    course = make_course(instructor, lessons=3)
    ids = [lesson["id"] for lesson in lessons_of(course)]
    other = make_course(instructor, lessons=1)
    payload = {
        "missing": ids[:2],
        "duplicate": [ids[0], ids[0], ids[1], ids[2]],
        "foreign": [*ids[:2], lessons_of(other)[0]["id"]],
        "malformed": [*ids[:2], "xyz"],
        "empty": [],
    }[variant]

    response = client_for(instructor).post(
        f"/api/v1/courses/{course['id']}/lessons/reorder", {"lesson_ids": payload}, format="json"
    )

    error = assert_error(response, 400, "validation_error")
    assert "lesson_ids" in error["details"]
    assert selectors.course_get(course_id=course["id"])["lesson_ids"] == ids


def test_reorder_loses_to_a_concurrent_lesson_change_with_409(instructor, make_course, lessons_of):
    course = make_course(instructor, lessons=2)
    stale = selectors.course_get(course_id=course["id"])
    services.lesson_create(course=stale, title="Added meanwhile")

    with pytest.raises(Conflict):
        services.lesson_reorder(course=stale, lesson_ids=list(reversed(stale["lesson_ids"])))

    assert len(selectors.course_get(course_id=course["id"])["lesson_ids"]) == 3


def test_concurrent_readers_never_see_duplicate_positions(instructor, make_course):
    course = make_course(instructor, lessons=6, publish=True)
    ids = list(course["lesson_ids"])
    stop = threading.Event()
    seen: list[list[int]] = []
    errors: list[BaseException] = []

    def writer() -> None:
        rng = random.Random(7)
        try:
            for _ in range(30):
                order = ids[:]
                rng.shuffle(order)
                current = selectors.course_get(course_id=course["id"])
                services.lesson_reorder(course=current, lesson_ids=order)
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    def reader() -> None:
        try:
            while not stop.is_set():
                current = selectors.course_get(course_id=course["id"])
                lessons = lesson_selectors.ordered_lessons(current)
                seen.append([lesson["position"] for lesson in lessons])
                assert sorted(lesson["id"] for lesson in lessons) == sorted(ids)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer), *(threading.Thread(target=reader) for _ in range(2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert seen
    assert all(positions == [1, 2, 3, 4, 5, 6] for positions in seen)

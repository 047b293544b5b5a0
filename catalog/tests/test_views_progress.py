"""Progress: heartbeat semantics, completion, access rules, BOLA, mass assignment,
idempotency/monotonicity (hypothesis + 20 threads) and the heartbeat's query budget."""

import random
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import selectors, services
from catalog.repositories.base import collection, oid
from catalog.selectors.metrics import ProgressView
from catalog.serializers import ProgressSerializer
from catalog.tests.helpers import assert_error
from catalog.views.lessons import progress_body
from learnstream.permissions import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(instructor, make_course):
    return make_course(instructor, durations=[100.0, 200.0, None], publish=True)


@pytest.fixture
def learner(student, course, enroll):
    enroll(student, course)
    return student


def _doc(user_id, lesson_id):
    return collection("progress").find_one({"user_id": user_id, "lesson_id": oid(lesson_id)})


def _put(client, lesson_id, body):
    return client.put(f"/api/v1/lessons/{lesson_id}/progress", body, format="json")


def test_heartbeat_records_and_never_moves_back(client_for, learner, course):
    lesson_id = course["lesson_ids"][0]
    client = client_for(learner)

    # `watched_seconds` from the client is ignored (v1.1): the server measures it from `segments`.
    first = _put(client, lesson_id, {"position": 30, "watched_seconds": 31, "segments": [[0, 4]]})
    back = _put(client, lesson_id, {"position": 10})

    assert first.status_code == 200
    assert set(first.json()) == {
        "lesson_id", "position", "max_position", "watched_seconds", "coverage", "percent", "completed",
        "completed_at", "updated_at",
    }  # fmt: skip
    assert (first.json()["position"], first.json()["max_position"], first.json()["percent"]) == (
        30.0,
        30.0,
        30.0,
    )
    body = back.json()
    assert (body["position"], body["max_position"], body["watched_seconds"], body["completed"]) == (
        10.0,
        30.0,
        4.0,
        False,
    )
    doc = _doc(learner.id, lesson_id)
    assert (doc["course_id"], doc["preview"]) == (oid(course["id"]), False)
    assert collection("progress").count_documents({}) == 1


def test_position_is_clamped_and_never_completes_alone(client_for, learner, course):
    """v1.1: completion comes from watched coverage (test_coverage.py), never from the position."""
    lesson_id = course["lesson_ids"][0]
    client = client_for(learner)

    almost = _put(client, lesson_id, {"position": 89.9}).json()
    at_90 = _put(client, lesson_id, {"position": 90}).json()
    beyond = _put(client, lesson_id, {"position": 5000}).json()
    rewind = _put(client, lesson_id, {"position": 0}).json()

    assert (almost["completed"], almost["percent"]) == (False, 89.9)
    assert (at_90["completed"], at_90["percent"]) == (False, 90.0)
    assert (beyond["position"], beyond["max_position"], beyond["completed"]) == (100.0, 100.0, False)
    assert (rewind["position"], rewind["max_position"], rewind["completed"]) == (0.0, 100.0, False)
    assert rewind["completed_at"] is None


def test_unknown_duration_never_auto_completes_but_complete_endpoint_does(client_for, learner, course):
    lesson_id = course["lesson_ids"][2]
    client = client_for(learner)

    beat = _put(client, lesson_id, {"position": 10_000}).json()
    done = client.post(f"/api/v1/lessons/{lesson_id}/complete").json()
    again = client.post(f"/api/v1/lessons/{lesson_id}/complete").json()

    assert (beat["completed"], beat["percent"], beat["max_position"]) == (False, 0.0, 10_000.0)
    assert (done["completed"], done["percent"], done["max_position"]) == (True, 100.0, 10_000.0)
    assert again["completed_at"] == done["completed_at"]


def test_complete_before_any_heartbeat(client_for, learner, course):
    lesson_id = course["lesson_ids"][1]

    body = client_for(learner).post(f"/api/v1/lessons/{lesson_id}/complete").json()

    assert (body["position"], body["max_position"], body["completed"], body["percent"]) == (
        0.0,
        0.0,
        True,
        100.0,
    )


@pytest.mark.parametrize(
    "body",
    [{}, {"position": -1}, {"position": "abc"}, {"position": None}, {"position": True}, {"position": 1e12},
     {"position": 1, "watched_seconds": -5}, {"position": "Infinity"}],
)  # fmt: skip
def test_heartbeat_validation(client_for, learner, course, body):
    error = assert_error(_put(client_for(learner), course["lesson_ids"][0], body), 400, "validation_error")

    assert error["details"]
    assert collection("progress").count_documents({}) == 0


def test_not_enrolled_is_403_on_visible_and_404_on_invisible_courses(
    client_for, student, other_instructor, instructor, course, make_course
):
    draft = make_course(instructor, lessons=1)
    for user in (student, other_instructor):
        client = client_for(user)
        assert_error(_put(client, course["lesson_ids"][0], {"position": 1}), 403)
        assert_error(client.post(f"/api/v1/lessons/{course['lesson_ids'][0]}/complete"), 403)
        assert_error(_put(client, draft["lesson_ids"][0], {"position": 1}), 404)
        assert_error(client.get(f"/api/v1/courses/{course['id']}/progress"), 403)
        assert_error(client.get(f"/api/v1/courses/{draft['id']}/progress"), 404)
    assert_error(_put(client_for(student), "f" * 24, {"position": 1}), 404)
    assert collection("progress").count_documents({}) == 0


def test_anonymous_cannot_record(api_client, course):
    assert_error(_put(api_client, course["lesson_ids"][0], {"position": 1}), 401)


def test_unenrolled_student_loses_access(client_for, learner, course):
    client = client_for(learner)
    assert _put(client, course["lesson_ids"][0], {"position": 1}).status_code == 200

    client.delete(f"/api/v1/courses/{course['id']}/enroll")

    assert_error(_put(client, course["lesson_ids"][0], {"position": 2}), 403)
    assert _doc(learner.id, course["lesson_ids"][0])["max_position"] == 1.0


def test_owner_and_admin_record_preview_progress(client_for, instructor, admin_user, course):
    for user in (instructor, admin_user):
        assert _put(client_for(user), course["lesson_ids"][0], {"position": 50}).status_code == 200
        assert _doc(user.id, course["lesson_ids"][0])["preview"] is True


def test_user_id_comes_from_token_never_body_bola(client_for, learner, other_student, course, enroll):
    """a body naming another user, or trying to set results, changes only the caller's doc."""
    enroll(other_student, course)
    lesson_id = course["lesson_ids"][0]
    _put(client_for(other_student), lesson_id, {"position": 20})
    before = _doc(other_student.id, lesson_id)

    response = _put(
        client_for(learner),
        lesson_id,
        {
            "position": 5,
            "user_id": other_student.id,
            "user": other_student.id,
            "completed": True,
            "percent": 100,
            "max_position": 99,
        },
    )

    assert response.status_code == 200
    assert (response.json()["completed"], response.json()["max_position"]) == (False, 5.0)
    assert _doc(other_student.id, lesson_id) == before
    assert _doc(learner.id, lesson_id)["max_position"] == 5.0
    assert_error(_put(client_for(learner), lesson_id, {"position": 5, "$set": {"completed": True}}), 400)
    assert_error(client_for(learner).get(f"/api/v1/courses/{course['id']}/progress?user_id[$ne]=1"), 400)
    assert _doc(learner.id, lesson_id)["completed"] is False


def test_course_progress_and_resume_point(client_for, learner, course):
    client = client_for(learner)
    first, second, third = course["lesson_ids"]
    _put(client, first, {"position": 95})
    client.post(f"/api/v1/lessons/{first}/complete")  # no video: completing needs no coverage
    _put(client, second, {"position": 50})

    body = client.get(f"/api/v1/courses/{course['id']}/progress").json()

    assert (body["lesson_count"], body["completed_lessons"], body["percent"]) == (3, 1, 33.3)
    assert body["last_lesson_id"] == second
    assert [(r["lesson_id"], r["percent"], r["completed"]) for r in body["lessons"]] == [
        (first, 100.0, True),
        (second, 25.0, False),
        (third, 0.0, False),
    ]


def test_me_progress_one_row_per_enrolled_course(
    client_for, learner, course, instructor, make_course, enroll
):
    other = make_course(instructor, title="Second", lessons=2, publish=True)
    enroll(learner, other)
    client = client_for(learner)
    client.post(f"/api/v1/lessons/{other['lesson_ids'][0]}/complete")

    body = client.get("/api/v1/me/progress").json()

    rows = {r["course_id"]: r for r in body["results"]}
    assert body["count"] == 2
    assert (rows[other["id"]]["percent"], rows[other["id"]]["last_lesson_id"]) == (
        50.0,
        other["lesson_ids"][0],
    )
    assert (rows[course["id"]]["percent"], rows[course["id"]]["last_lesson_id"]) == (0.0, None)
    assert rows[other["id"]]["title"] == "Second"


def test_heartbeat_budget_zero_pg_queries_one_mongo_command(
    client_for, learner, course, django_assert_num_queries, mongo_commands
):
    client = client_for(learner)
    lesson_id = course["lesson_ids"][0]
    _put(client, lesson_id, {"position": 1})  # warms the enrollment, lesson and auth caches

    with django_assert_num_queries(0), mongo_commands.recording() as commands:
        response = _put(client, lesson_id, {"position": 2})

    assert response.status_code == 200
    assert commands == [("findAndModify", "progress")]


# --- idempotent and monotonic ------------------------------------------------------------------
events = st.lists(
    st.one_of(
        st.tuples(st.just("beat"), st.floats(min_value=0, max_value=150, allow_nan=False)),
        st.tuples(st.just("complete"), st.just(0.0)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=events)
def test_property_max_position_is_max_of_clamped_and_completion_is_final(learner, course, sequence):
    collection("progress").delete_many({})
    lesson_id = course["lesson_ids"][0]  # duration 100
    completed_seen = False
    for kind, value in sequence:
        if kind == "beat":
            result = services.progress_record(actor=Actor.of(learner), lesson_id=lesson_id, position=value)
        else:
            result = services.progress_complete(actor=Actor.of(learner), lesson_id=lesson_id)
        completed_seen = completed_seen or result["completed"]
        assert result["completed"] == completed_seen  # never true → false

    beats = [min(round(v, 3), 100.0) for k, v in sequence if k == "beat"]  # millisecond precision
    doc = _doc(learner.id, lesson_id)
    assert doc["max_position"] == (max(beats) if beats else 0.0)
    assert doc["completed"] == any(k == "complete" for k, _ in sequence)  # positions never complete (v1.1)
    assert collection("progress").count_documents({}) == 1
    # A retry of the last request changes nothing that matters.
    kind, value = sequence[-1]
    again = (
        services.progress_record(actor=Actor.of(learner), lesson_id=lesson_id, position=value)
        if kind == "beat"
        else services.progress_complete(actor=Actor.of(learner), lesson_id=lesson_id)
    )
    assert (again["max_position"], again["completed"]) == (doc["max_position"], doc["completed"])


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_of_shuffled_duplicate_heartbeats(
    client_for, instructor, student, make_course, patient_mongo
):
    course = make_course(instructor, durations=[100.0], publish=True)
    services.enrollment_create(actor=Actor.of(student), course_id=course["id"])
    lesson_id = course["lesson_ids"][0]
    rng = random.Random(3)
    positions = [round(rng.uniform(0, 85), 2) for _ in range(60)]
    positions += positions[:20]  # duplicates (retries)
    rng.shuffle(positions)
    clients = [client_for(student) for _ in range(20)]
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            for position in positions[index::20]:
                status = _put(clients[index], lesson_id, {"position": position}).status_code
                with lock:
                    statuses.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert statuses == [200] * len(positions)
    docs = list(collection("progress").find({}))
    assert len(docs) == 1
    assert docs[0]["max_position"] == max(positions)
    assert docs[0]["completed"] is False
    assert selectors.course_progress_get(user_id=student.id, course=course)["lessons"][0][
        "max_position"
    ] == max(positions)


@pytest.mark.parametrize("completed", [False, True])
def test_the_progress_body_is_what_its_serializer_documents(completed):
    updated = datetime(2026, 12, 4, 16, 0, 0, 123000, tzinfo=UTC)
    view: ProgressView = {
        "lesson_id": "a" * 24,
        "position": 12.5,
        "max_position": 40.0,
        "watched_seconds": 37.0,
        "coverage": 0.3083,
        "percent": 100.0 if completed else 33.3,
        "completed": completed,
        # Another zone than UTC: both forms must write the same instant in UTC.
        "completed_at": updated.astimezone(timezone(timedelta(hours=2))) if completed else None,
        "updated_at": updated,
    }

    assert progress_body(view) == ProgressSerializer(view).data
    assert progress_body(view)["updated_at"] == "2026-12-04T16:00:00.123000Z"

"""Staff enrollment: `POST courses/{id}/enrollments/` (JSON list or CSV upload) with its per-row report,
and `DELETE courses/{id}/enrollments/{user_id}`. Real PostgreSQL, Redis and SecantusDB; nothing written
on a refused roster; 10 000 rows timed end to end."""

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from accounts.models import User
from catalog import selectors, services
from catalog.models import Enrollment, EnrollmentStatus
from catalog.tests.helpers import assert_error
from learnstream.permissions import Actor

COURSES = "/api/v1/courses/"
REAL_CLOCKS = ["pymongo", "redis", "django_redis", "psycopg", "django.db"]


def url(course):
    return f"{COURSES}{course['id']}/enrollments/"


def csv_upload(client, course, text: str | bytes, name: str = "roster.csv"):
    data = text.encode() if isinstance(text, str) else text
    upload = io.BytesIO(data)
    upload.name = name
    return client.post(url(course), {"file": upload}, format="multipart")


def active_users(course) -> set[int]:
    return set(
        Enrollment.objects.filter(course_id=course["id"], status=EnrollmentStatus.ACTIVE).values_list(
            "user_id", flat=True
        )
    )


@pytest.fixture
def course(make_course, instructor):
    return make_course(instructor, lessons=1, publish=True)


# --- JSON -------------------------------------------------------------------------------------------
def test_json_roster_report_and_rows(client_for, instructor, course, make_user, enroll):
    new, again, enrolled = make_user(email="new@example.com"), make_user(), make_user(email="in@example.com")
    enroll(enrolled, course)
    emails = [
        "  NEW@Example.com ",  # normalised like registration: trimmed, lower-cased
        "in@example.com",
        "nobody@example.com",
        "not-an-email",
        "new@example.com",  # again: a duplicate of row 1
        "=cmd|' /C calc'!A0@example.com",
        again.email,
    ]

    response = client_for(instructor).post(url(course), {"emails": emails}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "enrolled": ["new@example.com", again.email],
        "already_enrolled": ["in@example.com"],
        "invited": ["nobody@example.com"],
        "invalid": [
            {"row": 4, "email": "not-an-email", "error": "invalid_email"},
            {"row": 5, "email": "new@example.com", "error": "duplicate"},
            {"row": 6, "email": "'=cmd|' /C calc'!A0@example.com", "error": "invalid_email"},
        ],
    }
    assert active_users(course) == {new.id, again.id, enrolled.id}
    assert Enrollment.objects.count() == 3


def test_staff_enrollment_ignores_invite_only_and_the_window(client_for, instructor, course, make_user):
    services.course_update(
        course=course,
        fields={"enrollment": "invite_only", "enrollment_closes_at": datetime.now(UTC) - timedelta(days=1)},
    )
    learner = make_user()

    response = client_for(instructor).post(url(course), {"emails": [learner.email]}, format="json")

    assert response.json()["enrolled"] == [learner.email]
    assert active_users(course) == {learner.id}


def test_over_capacity_enrolls_up_to_the_cap_in_roster_order(
    client_for, admin_user, course, make_user, enroll
):
    services.course_update(course=course, fields={"capacity": 3})
    seated = make_user()
    enroll(seated, course)
    learners = [make_user() for _ in range(4)]

    body = (
        client_for(admin_user)
        .post(url(course), {"emails": [seated.email, *[u.email for u in learners]]}, format="json")
        .json()
    )

    assert body["already_enrolled"] == [seated.email]
    assert body["enrolled"] == [learners[0].email, learners[1].email]
    assert body["invalid"] == [
        {"row": 4, "email": learners[2].email, "error": "course_full"},
        {"row": 5, "email": learners[3].email, "error": "course_full"},
    ]
    assert active_users(course) == {seated.id, learners[0].id, learners[1].id}


def test_expired_and_cancelled_learners_start_a_new_period(client_for, instructor, course, make_user):
    services.course_update(course=course, fields={"access_days": 5})
    expired, cancelled = make_user(), make_user()
    with freeze_time(datetime.now(UTC) - timedelta(days=9), ignore=REAL_CLOCKS):
        services.enrollment_create(actor=Actor.of(expired), course_id=course["id"])
    services.enrollment_create(actor=Actor.of(cancelled), course_id=course["id"])
    services.enrollment_cancel(actor=Actor.of(cancelled), course_id=course["id"])

    body = (
        client_for(instructor)
        .post(url(course), {"emails": [expired.email, cancelled.email]}, format="json")
        .json()
    )

    assert body["enrolled"] == [expired.email, cancelled.email]
    for user in (expired, cancelled):
        row = Enrollment.objects.get(user=user)
        assert row.status == EnrollmentStatus.ACTIVE
        assert row.expires_at == row.created_at + timedelta(days=5)
        assert row.expires_at > datetime.now(UTC)


def test_staff_enrollment_is_visible_to_playback_at_once(
    client_for, instructor, course, make_user, django_capture_on_commit_callbacks
):
    learner = make_user()
    lesson_url = f"/api/v1/lessons/{course['lesson_ids'][0]}/playback"
    client = client_for(learner)
    assert_error(client.get(lesson_url), 403)  # caches "not enrolled"

    with django_capture_on_commit_callbacks(execute=True):
        client_for(instructor).post(url(course), {"emails": [learner.email]}, format="json")

    assert_error(client.get(lesson_url), 409)  # past the gate: the video is just not ready
    assert selectors.enrollment_state(user_id=learner.id, course_id=course["id"]) == "active"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "emails"),
        ({"emails": "a@example.com"}, "emails"),
        ({"emails": []}, "emails"),
        ({"emails": ["a@example.com"] * 10_001}, "emails"),
        ({"emails": [{"$gt": ""}]}, None),  # an operator key anywhere in a body is refused first
    ],
)
def test_bad_json_rosters_are_400_and_nothing_is_written(
    client_for, instructor, course, make_user, body, field
):
    make_user(email="a@example.com")
    error = assert_error(
        client_for(instructor).post(url(course), body, format="json"), 400, "validation_error"
    )
    if field:
        assert field in error["details"]
    assert Enrollment.objects.count() == 0


def test_only_published_courses_and_not_archived(client_for, instructor, make_course, make_user):
    draft = make_course(instructor, lessons=1)
    archived = make_course(instructor, lessons=1, publish=True)
    services.course_archive(course=archived)
    learner = make_user()
    client = client_for(instructor)

    assert_error(client.post(url(draft), {"emails": [learner.email]}, format="json"), 409)
    assert_error(client.post(url(archived), {"emails": [learner.email]}, format="json"), 409)
    assert Enrollment.objects.count() == 0


def test_other_instructors_and_students_are_refused(client_for, other_instructor, student, course, make_user):
    learner = make_user()
    assert_error(
        client_for(other_instructor).post(url(course), {"emails": [learner.email]}, format="json"), 403
    )
    assert_error(client_for(student).post(url(course), {"emails": [learner.email]}, format="json"), 403)
    assert_error(
        client_for(student).post(f"{COURSES}{'a' * 24}/enrollments/", {"emails": []}, format="json"), 404
    )
    assert Enrollment.objects.count() == 0


# --- CSV --------------------------------------------------------------------------------------------
def test_csv_roster_with_bom_extra_columns_and_blank_lines(client_for, instructor, course, make_user):
    ann, bob = make_user(email="ann@example.com"), make_user(email="bob@example.com")
    text = (
        "\ufeffName,EMAIL,team\r\n"
        "Ann,ann@example.com,a\r\n"
        "\r\n"
        'Bob,"bob@example.com",b\r\n'
        "=HYPERLINK(\"http://evil\"),=cmd|' /C calc'!A0,c\r\n"
        "Short row\r\n"
        "Nul,\x00x@example.com,d\r\n"
    )

    response = csv_upload(client_for(instructor), course, text)

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "enrolled": ["ann@example.com", "bob@example.com"],
        "already_enrolled": [],
        "invited": [],
        "invalid": [
            {"row": 4, "email": "'=cmd|' /C calc'!A0", "error": "invalid_email"},
            {"row": 5, "email": "", "error": "invalid_email"},
            {"row": 6, "email": "\ufffdx@example.com", "error": "invalid_email"},
        ],
    }
    assert active_users(course) == {ann.id, bob.id}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"name,mail\r\nAnn,ann@example.com\r\n", "No `email` column"),
        ("email\r\nren\u00e9@example.com\r\n".encode("latin-1"), "not UTF-8"),
        ("email\r\nann@example.com\r\n".encode("utf-16"), "not UTF-8"),
        (b"", "empty"),
        (b"email\r\n", "no data rows"),
        (b'email\r\n"' + b"a" * 200_000 + b'"\r\n', "not valid CSV"),
    ],
)
def test_bad_csv_is_400_and_nothing_is_written(client_for, instructor, course, make_user, payload, message):
    make_user(email="ann@example.com")

    error = assert_error(csv_upload(client_for(instructor), course, payload), 400, "validation_error")

    assert message in error["details"]["file"][0]
    assert Enrollment.objects.count() == 0


def test_csv_with_10001_rows_is_400_and_nothing_is_written(client_for, instructor, course, make_user):
    make_user(email="u0@example.com")
    text = "email\n" + "".join(f"u{n}@example.com\n" for n in range(10_001))

    error = assert_error(csv_upload(client_for(instructor), course, text), 400, "validation_error")

    assert error["details"] == {"file": ["At most 10000 rows."]}
    assert Enrollment.objects.count() == 0


def test_a_50_mb_upload_is_refused_before_it_is_read(client_for, instructor, course):
    text = b"email\n" + b"x" * (50 * 1024 * 1024)

    response = csv_upload(client_for(instructor), course, text)

    assert_error(response, 413, "request_too_large")
    assert Enrollment.objects.count() == 0


# --- 10 000 rows ------------------------------------------------------------------------------------
def test_ten_thousand_rows_end_to_end_in_bounded_queries(client_for, instructor, course, capsys):
    """10 000 known learners from one CSV: a constant number of PostgreSQL queries (bulk insert in one
    pass) and well within the 30 s request timeout (the figure is printed for the report)."""
    password = make_password(None)
    User.objects.bulk_create(
        [User(email=f"bulk{n}@example.com", name=f"Bulk {n}", password=password) for n in range(10_000)],
        batch_size=2000,
    )
    text = "email,name\n" + "".join(f"bulk{n}@example.com,Bulk {n}\n" for n in range(10_000))
    client = client_for(instructor)

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = csv_upload(client, course, text)
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    body = response.json()
    assert (len(body["enrolled"]), body["already_enrolled"], body["invalid"]) == (10_000, [], [])
    assert Enrollment.objects.filter(course_id=course["id"], status=EnrollmentStatus.ACTIVE).count() == 10_000
    data_queries = [q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(data_queries) <= 15, [q["sql"][:80] for q in data_queries]
    assert elapsed < 10.0, elapsed
    with capsys.disabled():
        print(
            f"\nstaff enrollment: 10 000 CSV rows in {elapsed:.2f} s, {len(data_queries)} PostgreSQL queries"
        )


# --- unenroll ---------------------------------------------------------------------------------------
def test_staff_unenroll_refuses_playback_at_once(
    client_for, instructor, other_instructor, course, make_user, django_capture_on_commit_callbacks
):
    learner = make_user()
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_create(actor=Actor.of(learner), course_id=course["id"])
    lesson_url = f"/api/v1/lessons/{course['lesson_ids'][0]}/playback"
    client = client_for(learner)
    assert_error(client.get(lesson_url), 409)  # enrolled (the answer is cached now): past the gate
    target = f"{url(course)}{learner.id}"

    assert_error(client_for(other_instructor).delete(target), 403)
    assert Enrollment.objects.get(user=learner).status == EnrollmentStatus.ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(instructor).delete(target).status_code == 204

    assert_error(client.get(lesson_url), 403, "permission_denied")
    assert Enrollment.objects.get(user=learner).status == EnrollmentStatus.CANCELLED
    assert_error(client_for(instructor).delete(target), 404)
    assert_error(client_for(instructor).delete(f"{url(course)}999999"), 404)


def test_staff_unenroll_and_reenroll_move_progress_out_of_and_back_into_the_rollups(
    client_for, instructor, course, make_user, mongo_db
):
    learner = make_user()
    services.enrollment_create(actor=Actor.of(learner), course_id=course["id"])
    lesson_id = course["lesson_ids"][0]
    assert client_for(learner).post(f"/api/v1/lessons/{lesson_id}/complete").status_code == 200
    staff = client_for(instructor)

    assert staff.delete(f"{url(course)}{learner.id}").status_code == 204
    assert [d.get("retired") for d in mongo_db["progress"].find({"user_id": learner.id})] == [True]

    assert staff.post(url(course), {"emails": [learner.email]}, format="json").json()["enrolled"] == [
        learner.email
    ]
    assert [d.get("retired") for d in mongo_db["progress"].find({"user_id": learner.id})] == [None]

"""Enrolling again, the hot repeat call: answered from the remembered active row while the cached
enrollment answer names the same start and expiry (catalog/cache.py `enrolled_row_remember`), so it
reads no store but Redis; every enroll, unenroll, reactivation or expiry retires the row."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from catalog import services
from catalog.models import Enrollment, EnrollmentStatus
from catalog.policy import EnrollmentExpired
from catalog.views.learning import EnrollmentCreatedSerializer, enrollment_body
from learnstream.permissions import Actor
from tests.support.roundtrips import count_round_trips

COURSES = "/api/v1/courses/"
REAL_CLOCKS = ["pymongo", "redis", "django_redis", "psycopg", "django.db"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.django_db
def test_enroll_again_answers_the_same_row_from_redis_alone(
    client_for, student, instructor, make_course, django_capture_on_commit_callbacks
):
    course = make_course(instructor, lessons=1, publish=True)
    client, url = client_for(student), f"{COURSES}{course['id']}/enroll"
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url)
    second = client.post(url)  # reads the active row once and remembers it

    with count_round_trips() as trips:
        third = client.post(url)

    row = Enrollment.objects.get(user=student, course_id=course["id"])
    assert (first.status_code, second.status_code, third.status_code) == (201, 200, 200)
    assert first.json() == second.json() == third.json()
    assert third.json() == {
        "id": row.pk,
        "user_id": student.id,
        "course_id": course["id"],
        "status": "active",
        "created_at": iso(row.created_at),
    }
    assert (trips.pg, trips.mongo, trips.redis) == (0, 0, 2), trips.describe()  # revocation + one MGET


@pytest.mark.django_db
def test_a_reactivated_enrollment_retires_the_remembered_row(
    client_for, student, instructor, make_course, django_capture_on_commit_callbacks
):
    course = make_course(instructor, lessons=1, publish=True)
    client, url = client_for(student), f"{COURSES}{course['id']}/enroll"
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url)
    client.post(url)  # remembered with the first start
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(url).status_code == 204
        back = client.post(url)  # reactivated: a new start

    again = client.post(url)
    once_more = client.post(url)

    row = Enrollment.objects.get(user=student, course_id=course["id"])
    assert back.status_code == 201
    assert (again.status_code, once_more.status_code) == (200, 200)
    assert again.json()["created_at"] == once_more.json()["created_at"] == iso(row.created_at)
    assert row.created_at != datetime.fromisoformat(first.json()["created_at"].replace("Z", "+00:00"))
    assert once_more.json()["id"] == first.json()["id"] == row.pk


@pytest.mark.django_db
def test_an_expired_enrollment_is_refused_although_its_row_was_remembered(
    student, instructor, make_course, django_capture_on_commit_callbacks
):
    course = make_course(instructor, lessons=1, publish=True)
    services.course_update(course=course, fields={"access_days": 1})
    actor = Actor.of(student)
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_create(actor=actor, course_id=course["id"])
    services.enrollment_create(actor=actor, course_id=course["id"])  # remembered
    enrollment, created = services.enrollment_create(actor=actor, course_id=course["id"])
    assert (enrollment.pk, created, enrollment.status) == (
        Enrollment.objects.get(user=student).pk,
        False,
        EnrollmentStatus.ACTIVE,
    )

    later = freeze_time(datetime.now(UTC) + timedelta(days=2), ignore=REAL_CLOCKS)
    with later, pytest.raises(EnrollmentExpired):
        services.enrollment_create(actor=actor, course_id=course["id"])

    stored = Enrollment.objects.get(user=student)
    assert (stored.status, stored.expires_at) == (EnrollmentStatus.ACTIVE, enrollment.expires_at)


@pytest.mark.django_db
def test_the_remembered_row_is_the_whole_row(
    student, instructor, make_course, django_capture_on_commit_callbacks
):
    course = make_course(instructor, lessons=1, publish=True)
    services.course_update(course=course, fields={"access_days": 30})
    actor = Actor.of(student)
    with django_capture_on_commit_callbacks(execute=True):
        services.enrollment_create(actor=actor, course_id=course["id"])
    services.enrollment_create(actor=actor, course_id=course["id"])

    with count_round_trips() as trips:
        remembered, created = services.enrollment_create(actor=actor, course_id=course["id"])

    stored = Enrollment.objects.get(user=student)
    fields = [f.attname for f in Enrollment._meta.concrete_fields]
    assert trips.pg == 0, trips.describe()
    assert created is False
    assert [getattr(remembered, f) for f in fields] == [getattr(stored, f) for f in fields]
    assert remembered._state.adding is False


def test_the_enrollment_body_is_what_its_serializer_documents():
    enrollment = Enrollment(
        pk=7,
        user_id=3,
        course_id="a" * 24,
        status=EnrollmentStatus.ACTIVE,
        created_at=datetime(2026, 12, 3, 21, 30, 5, 123456, tzinfo=UTC),
    )

    documented = EnrollmentCreatedSerializer(
        {
            "id": enrollment.pk,
            "user_id": enrollment.user_id,
            "course_id": enrollment.course_id,
            "status": enrollment.status,
            "created_at": enrollment.created_at,
        }
    ).data

    assert enrollment_body(enrollment) == documented
    assert documented["created_at"] == "2026-12-03T21:30:05.123456Z"

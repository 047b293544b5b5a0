"""The enrollment policy in the admin: the course page edits it (same validation as the API) and the
enrollment changelist lists expiring and expired enrollments."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from catalog import selectors, services
from catalog.models import Enrollment
from learnstream.permissions import Actor
from tests.admin.builders import course_with_lessons

pytestmark = pytest.mark.django_db

COURSES = "/admin/catalog/courses/"
CHANGELIST = "/admin/catalog/enrollment/"
REAL_CLOCKS = ["pymongo", "redis", "django_redis", "psycopg", "django.db"]


def _form(course, **policy):
    return {
        "action": "save",
        "title": course["title"],
        "slug": course["slug"],
        "description": course["description"],
        "tags": ", ".join(course["tags"]),
        "level": course["level"],
        **policy,
    }


def current(course):
    stored = selectors.course_get(course_id=course["id"])
    assert stored is not None
    return stored


def test_admin_edits_the_enrollment_policy(admin_web, instructor):
    course, _ = course_with_lessons(instructor, title="Cohort", lessons=["L1"], publish=True)

    response = admin_web.post(
        f"{COURSES}{course['id']}/",
        _form(
            course,
            enrollment="invite_only",
            capacity="12",
            enrollment_opens_at="2030-01-01 09:00",
            enrollment_closes_at="2030-02-01 09:00",
            access_days="60",
        ),
        follow=True,
    )

    assert response.status_code == 200
    stored = current(course)
    assert (stored["enrollment"], stored["capacity"], stored["access_days"]) == ("invite_only", 12, 60)
    assert stored["enrollment_opens_at"] == datetime(2030, 1, 1, 9, tzinfo=UTC)
    assert stored["enrollment_closes_at"] == datetime(2030, 2, 1, 9, tzinfo=UTC)
    page = admin_web.get(f"{COURSES}{course['id']}/").content.decode()
    assert 'value="12"' in page
    assert "expiring within 7 days" in page
    listing = admin_web.get(COURSES).content.decode()
    assert "invite_only, 12 seats, 60 days" in listing


def test_admin_refuses_a_backwards_window_and_a_capacity_below_enrollments(admin_web, instructor, student):
    course, _ = course_with_lessons(instructor, title="Cohort", lessons=["L1"], publish=True)
    services.enrollment_create(actor=Actor.of(student), course_id=course["id"])
    before = current(course)

    response = admin_web.post(
        f"{COURSES}{course['id']}/",
        _form(course, enrollment_opens_at="2030-02-01 09:00", enrollment_closes_at="2030-01-01 09:00"),
    )
    assert response.context["form"].errors["enrollment_closes_at"] == [
        "Enrollment must close after it opens."
    ]

    response = admin_web.post(f"{COURSES}{course['id']}/", _form(course, capacity="0"))
    assert response.context["form"].errors["capacity"] == [
        "Active enrollments: 1; the capacity cannot be lower."
    ]
    assert current(course) == before


def test_changelist_lists_expiring_and_expired_enrollments(
    admin_web, instructor, student, other_student, make_user
):
    course, _ = course_with_lessons(instructor, title="Timed", lessons=["L1"], publish=True)
    services.course_update(course=course, fields={"access_days": 10})
    forever_learner = make_user()
    with freeze_time(datetime.now(UTC) - timedelta(days=12), ignore=REAL_CLOCKS):
        services.enrollment_create(actor=Actor.of(student), course_id=course["id"])  # expired
    with freeze_time(datetime.now(UTC) - timedelta(days=5), ignore=REAL_CLOCKS):
        services.enrollment_create(actor=Actor.of(other_student), course_id=course["id"])  # 5 days left
    services.course_update(course=current(course), fields={"access_days": None})
    services.enrollment_create(actor=Actor.of(forever_learner), course_id=course["id"])

    def emails(expiry):
        response = admin_web.get(CHANGELIST, {"expiry": expiry})
        assert response.status_code == 200
        return [e.user.email for e in response.context["cl"].result_list]

    assert emails("expired") == [student.email]
    assert emails("expiring") == [other_student.email]
    assert emails("never") == [forever_learner.email]
    assert Enrollment.objects.count() == 3
    page = admin_web.get(CHANGELIST).content.decode()
    assert "Expiring within 7 days" in page

"""Analytics: exact metric values, empty courses, preview exclusion, permissions."""

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from catalog import services
from catalog.repositories.base import collection
from catalog.tests.helpers import assert_error
from learnstream.permissions import Actor

pytestmark = pytest.mark.django_db


def test_course_analytics_exact_values(client_for, make_user, instructor, make_course, enroll):
    course = make_course(instructor, durations=[100.0, 200.0], publish=True)
    first, second = course["lesson_ids"]
    alice, bob, carol, dave = (make_user("student") for _ in range(4))
    for user in (alice, bob, carol, dave):
        enroll(user, course)
    services.progress_complete(actor=Actor.of(alice), lesson_id=first)
    services.progress_complete(actor=Actor.of(alice), lesson_id=second)  # alice: 2/2
    services.progress_record(actor=Actor.of(bob), lesson_id=first, position=50)  # bob: 0/2, 50 % of lesson 1
    with freeze_time(timezone.now() - timedelta(days=10)):  # carol was last active 10 days ago
        services.progress_record(actor=Actor.of(carol), lesson_id=first, position=95)
        services.progress_complete(actor=Actor.of(carol), lesson_id=first)  # carol: 1/2 (no video: explicit)
        services.progress_record(actor=Actor.of(carol), lesson_id=second, position=20)  # 10 % of lesson 2
    services.progress_record(
        actor=Actor.of(instructor), lesson_id=first, position=100
    )  # owner preview: excluded
    quitter = make_user("student")
    enroll(quitter, course)
    services.progress_complete(actor=Actor.of(quitter), lesson_id=first)
    services.enrollment_cancel(
        actor=Actor.of(quitter), course_id=course["id"]
    )  # no longer enrolled: excluded

    response = client_for(instructor).get(f"/api/v1/courses/{course['id']}/analytics")

    assert response.status_code == 200
    assert response.json() == {
        "course_id": course["id"],
        "enrollments": 4,
        "active_learners_7d": 2,  # alice, bob
        "completion_rate": 0.25,  # alice
        "average_percent": 37.5,  # (100 + 0 + 50 + 0) / 4
        "lessons": [
            # starters alice (100), bob (50), carol (100)
            {
                "lesson_id": first,
                "title": "Lesson 1",
                "starts": 3,
                "completions": 2,
                "average_percent": 83.3,
                # v1.1 additions: nothing was played (no segments); furthest positions 0, 50, 95
                "watch_time_seconds": 0.0,
                "dropoff": [1.0] + [0.6667] * 5 + [0.3333] * 4,
            },
            # starters alice (100), carol (10)
            {
                "lesson_id": second,
                "title": "Lesson 2",
                "starts": 2,
                "completions": 1,
                "average_percent": 55.0,
                "watch_time_seconds": 0.0,
                "dropoff": [1.0, 0.5] + [0.0] * 8,  # furthest positions 0 and 20 of 200
            },
        ],
    }


def test_course_analytics_on_empty_course(client_for, instructor, make_course):
    course = make_course(instructor)

    body = client_for(instructor).get(f"/api/v1/courses/{course['id']}/analytics").json()

    assert body == {
        "course_id": course["id"],
        "enrollments": 0,
        "active_learners_7d": 0,
        "completion_rate": 0.0,
        "average_percent": 0.0,
        "lessons": [],
    }


def test_course_analytics_with_lessons_but_no_learners(client_for, admin_user, instructor, make_course):
    course = make_course(instructor, lessons=2, publish=True)

    body = client_for(admin_user).get(f"/api/v1/courses/{course['id']}/analytics").json()

    assert (body["enrollments"], body["completion_rate"], body["average_percent"]) == (0, 0.0, 0.0)
    assert [(r["starts"], r["completions"], r["average_percent"]) for r in body["lessons"]] == [
        (0, 0, 0.0)
    ] * 2


def test_course_analytics_permissions(
    client_for, api_client, student, other_instructor, instructor, make_course, enroll
):
    course = make_course(instructor, lessons=1, publish=True)
    draft = make_course(instructor)
    enroll(student, course)

    assert_error(client_for(student).get(f"/api/v1/courses/{course['id']}/analytics"), 403)
    assert_error(client_for(other_instructor).get(f"/api/v1/courses/{course['id']}/analytics"), 403)
    assert_error(client_for(other_instructor).get(f"/api/v1/courses/{draft['id']}/analytics"), 404)
    assert_error(api_client.get(f"/api/v1/courses/{course['id']}/analytics"), 401)


def test_overview_totals(client_for, admin_user, instructor, student, other_student, make_course, enroll):
    published = make_course(instructor, lessons=2, publish=True)
    make_course(instructor)
    archived = make_course(instructor, lessons=1, publish=True)
    services.course_archive(course=archived)
    enroll(student, published)
    enroll(other_student, published)
    services.progress_record(actor=Actor.of(student), lesson_id=published["lesson_ids"][0], position=5)
    services.progress_record(actor=Actor.of(student), lesson_id=published["lesson_ids"][1], position=5)
    services.progress_record(actor=Actor.of(other_student), lesson_id=published["lesson_ids"][0], position=5)
    services.progress_record(
        actor=Actor.of(instructor), lesson_id=published["lesson_ids"][0], position=5
    )  # preview
    collection("progress").update_one(
        {"user_id": other_student.id}, {"$set": {"updated_at": timezone.now() - timedelta(days=8)}}
    )

    response = client_for(admin_user).get("/api/v1/analytics/overview")

    assert response.status_code == 200
    assert response.json() == {
        "users_by_role": {"student": 2, "instructor": 1, "admin": 1},
        "courses_by_status": {"draft": 1, "published": 1, "archived": 1},
        "enrollments": 2,
        "lessons_watched_7d": 2,
    }


def test_overview_on_empty_platform_and_admin_only(client_for, admin_user, instructor, api_client):
    body = client_for(admin_user).get("/api/v1/analytics/overview").json()

    assert body["courses_by_status"] == {"draft": 0, "published": 0, "archived": 0}
    assert (body["enrollments"], body["lessons_watched_7d"]) == (0, 0)
    assert_error(client_for(instructor).get("/api/v1/analytics/overview"), 403)
    assert_error(api_client.get("/api/v1/analytics/overview"), 401)

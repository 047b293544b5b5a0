"""Enrollments: enroll/unenroll, listings with progress, students list, BOLA and concurrency."""

import pytest

from catalog import selectors, services
from catalog.models import Enrollment
from catalog.tests.helpers import assert_error
from learnstream.permissions import Actor
from tests.support.concurrency import run_at_once

COURSES = "/api/v1/courses/"


@pytest.mark.django_db
def test_enroll_201_then_200_and_one_row(client_for, student, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)
    client = client_for(student)

    first = client.post(f"{COURSES}{course['id']}/enroll")
    second = client.post(f"{COURSES}{course['id']}/enroll/")

    assert first.status_code == 201
    assert second.status_code == 200
    assert set(first.json()) == {"id", "user_id", "course_id", "status", "created_at"}
    assert first.json()["id"] == second.json()["id"]
    assert (first.json()["user_id"], first.json()["status"]) == (student.id, "active")
    assert Enrollment.objects.filter(user=student, course_id=course["id"]).count() == 1
    assert selectors.enrollment_is_active(user_id=student.id, course_id=course["id"]) is True


@pytest.mark.django_db
def test_enroll_body_cannot_choose_user_or_status(
    client_for, student, other_student, instructor, make_course
):
    course = make_course(instructor, lessons=1, publish=True)

    response = client_for(student).post(
        f"{COURSES}{course['id']}/enroll", {"user": other_student.id, "status": "cancelled"}, format="json"
    )

    assert response.status_code == 201
    assert list(Enrollment.objects.values_list("user_id", "status")) == [(student.id, "active")]


@pytest.mark.django_db
def test_cannot_enroll_in_draft_archived_or_missing_courses(client_for, student, instructor, make_course):
    draft = make_course(instructor, lessons=1)
    archived = make_course(instructor, lessons=1, publish=True)
    services.course_archive(course=archived)
    client = client_for(student)

    assert_error(client.post(f"{COURSES}{draft['id']}/enroll"), 404)
    assert_error(client.post(f"{COURSES}{archived['id']}/enroll"), 404)
    assert_error(client.post(f"{COURSES}{'a' * 24}/enroll"), 404)
    assert_error(client.post(f"{COURSES}bad/enroll"), 404)
    assert_error(client_for(instructor).post(f"{COURSES}{draft['id']}/enroll"), 409)  # visible, not published
    assert Enrollment.objects.count() == 0


@pytest.mark.django_db
def test_anonymous_cannot_enroll(api_client, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)

    assert_error(api_client.post(f"{COURSES}{course['id']}/enroll"), 401)
    assert Enrollment.objects.count() == 0


@pytest.mark.django_db
def test_unenroll_then_reenroll(client_for, student, instructor, make_course):
    course = make_course(instructor, lessons=1, publish=True)
    client = client_for(student)
    client.post(f"{COURSES}{course['id']}/enroll")

    assert client.delete(f"{COURSES}{course['id']}/enroll").status_code == 204
    assert selectors.enrollment_is_active(user_id=student.id, course_id=course["id"]) is False
    assert Enrollment.objects.get().status == "cancelled"
    assert_error(client.delete(f"{COURSES}{course['id']}/enroll"), 404)
    assert client.post(f"{COURSES}{course['id']}/enroll").status_code == 201
    assert Enrollment.objects.get().status == "active"
    assert selectors.enrollment_is_active(user_id=student.id, course_id=course["id"]) is True


@pytest.mark.django_db
def test_my_enrollments_list_title_and_percent_batched(
    client_for,
    student,
    other_student,
    instructor,
    make_course,
    enroll,
    django_assert_num_queries,
    mongo_commands,
):
    courses = [make_course(instructor, lessons=4, publish=True, title=f"Course {i}") for i in range(3)]
    for course in courses:
        enroll(student, course)
    enroll(other_student, courses[0])
    first_lessons = selectors.course_get(course_id=courses[0]["id"])["lesson_ids"]
    for lid in first_lessons[:3]:
        services.progress_complete(actor=Actor.of(student), lesson_id=lid)
    client = client_for(student)

    with django_assert_num_queries(2), mongo_commands.recording() as commands:  # count + page; no N+1
        response = client.get("/api/v1/enrollments/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    rows = {r["course_id"]: r for r in body["results"]}
    assert set(rows) == {c["id"] for c in courses}
    assert rows[courses[0]["id"]]["percent"] == 75.0
    assert rows[courses[0]["id"]]["completed_lessons"] == 3
    assert rows[courses[0]["id"]]["course_title"] == "Course 0"
    assert rows[courses[1]["id"]]["percent"] == 0.0
    assert all(r["user_id"] == student.id for r in body["results"])
    assert [name for name, _ in commands] == ["find", "aggregate"]


@pytest.mark.django_db
def test_enrollment_list_bola_and_admin_filters(
    client_for, student, other_student, admin_user, instructor, make_course, enroll
):
    """a student only ever sees their own rows; ?user= is ignored for non-admins; no detail route."""
    a = make_course(instructor, lessons=1, publish=True)
    b = make_course(instructor, lessons=1, publish=True)
    enroll(student, a)
    enroll(other_student, a)
    enroll(other_student, b)
    theirs = Enrollment.objects.filter(user=other_student).first()
    client = client_for(student)

    mine = client.get(f"/api/v1/enrollments/?user={other_student.id}").json()
    assert [r["user_id"] for r in mine["results"]] == [student.id]
    for method in ("get", "patch", "delete"):
        assert_error(getattr(client, method)(f"/api/v1/enrollments/{theirs.id}"), 404)
    assert Enrollment.objects.get(pk=theirs.pk).status == "active"

    admin = client_for(admin_user)
    assert admin.get("/api/v1/enrollments/").json()["count"] == 3
    assert {
        r["course_id"] for r in admin.get(f"/api/v1/enrollments/?user={other_student.id}").json()["results"]
    } == {a["id"], b["id"]}
    assert admin.get(f"/api/v1/enrollments/?course={b['id']}").json()["count"] == 1
    assert_error(admin.get("/api/v1/enrollments/?course=nope"), 400)
    assert_error(admin.get("/api/v1/enrollments/?user=x"), 400)


@pytest.mark.django_db
def test_students_list_for_owner_and_admin_only(
    client_for, student, other_student, instructor, other_instructor, admin_user, make_course, enroll,
    django_assert_num_queries, mongo_commands,
):  # fmt: skip
    course = make_course(instructor, lessons=2, publish=True)
    enroll(student, course)
    enroll(other_student, course)
    services.progress_complete(actor=Actor.of(student), lesson_id=course["lesson_ids"][0])
    url = f"{COURSES}{course['id']}/students/"
    owner = client_for(instructor)

    with django_assert_num_queries(2), mongo_commands.recording() as commands:
        response = owner.get(url)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["user"] for r in rows] == [
        {"id": student.id, "name": "Stu Dent"},
        {"id": other_student.id, "name": "Other Student"},
    ]
    assert [r["percent"] for r in rows] == [50.0, 0.0]
    assert "email" not in response.content.decode()
    assert [name for name, _ in commands] == ["find", "aggregate"]  # course (permission) + progress
    assert client_for(admin_user).get(url).status_code == 200
    assert_error(client_for(other_instructor).get(url), 403)
    assert_error(client_for(student).get(url), 403)


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_enrollments_make_exactly_one_row(client_for, student, instructor, make_course):
    """50 threads, 50 PostgreSQL connections, the same (user, course): one row, one 201, no 5xx."""
    course = make_course(instructor, lessons=1, publish=True)
    clients = [client_for(student) for _ in range(50)]
    statuses: list[int] = []  # list.append is atomic: no lock needed

    errors = run_at_once(
        [lambda c=c: statuses.append(c.post(f"{COURSES}{course['id']}/enroll").status_code) for c in clients],
        timeout=60,
    )

    assert errors == []
    assert len(statuses) == 50
    assert statuses.count(201) == 1
    assert statuses.count(200) == 49
    assert Enrollment.objects.filter(user=student, course_id=course["id"]).count() == 1


def test_an_empty_course_filter_is_refused_not_ignored(client_for, admin_user, student, make_course):
    course = make_course(admin_user, lessons=1, publish=True)
    services.enrollment_create(actor=Actor.of(student), course_id=course["id"])
    admin = client_for(admin_user)

    body = assert_error(admin.get("/api/v1/enrollments/?course="), 400, "validation_error")

    assert body["details"] == {"course": ["This field may not be blank."]}

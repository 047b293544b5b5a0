"""Browsable API: instructors log in with a session and author courses and lessons through the rendered
forms; the same permissions as JWT apply and unsafe session requests need the CSRF token."""

import re

import pytest
from django.test import Client

from catalog import selectors
from catalog.repositories.base import collection

pytestmark = pytest.mark.django_db

HTML = {"HTTP_ACCEPT": "text/html"}


def _csrf(client: Client) -> str:
    return client.cookies["csrftoken"].value


def _session_login(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/api-auth/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(
        "/api-auth/login/",
        {
            "username": user.email,
            "password": user.raw_password,
            "csrfmiddlewaretoken": token,
            "next": "/api/v1/courses/",
        },
    )
    assert response.status_code == 302, response.content[:500]
    return client


def test_instructor_sees_create_form_with_choices_and_help(instructor):
    client = _session_login(instructor)

    page = client.get("/api/v1/courses/", **HTML)

    html = page.content.decode()
    assert page.status_code == 200
    for field in ('name="title"', 'name="slug"', 'name="description"', 'name="tags"', 'name="level"'):
        assert field in html
    assert '<option value="intermediate"' in html
    assert "Audience level." in html  # help_text is rendered


def test_instructor_creates_course_and_lesson_through_forms(instructor):
    client = _session_login(instructor)
    client.get("/api/v1/courses/", **HTML)

    created = client.post(
        "/api/v1/courses/",
        {
            "title": "Form course",
            "description": "",
            "tags": "django, web",
            "level": "advanced",
            "slug": "",
            "csrfmiddlewaretoken": _csrf(client),
        },
        **HTML,
    )

    assert created.status_code == 201, created.content[:500]
    course = collection("courses").find_one({"title": "Form course"})
    assert (course["tags"], course["level"], course["slug"], course["owner_id"]) == (
        ["django", "web"], "advanced", "form-course", instructor.id,
    )  # fmt: skip
    course_id = str(course["_id"])
    lessons_page = client.get(f"/api/v1/courses/{course_id}/lessons/", **HTML)
    assert 'name="is_preview"' in lessons_page.content.decode()
    lesson = client.post(
        f"/api/v1/courses/{course_id}/lessons/",
        {
            "title": "Form lesson",
            "description": "d",
            "duration": "61.5",
            "csrfmiddlewaretoken": _csrf(client),
        },
        **HTML,
    )
    assert lesson.status_code == 201, lesson.content[:500]
    assert (
        selectors.lesson_get(lesson_id=selectors.course_get(course_id=course_id)["lesson_ids"][0])["duration"]
        == 61.5
    )


def test_detail_page_prefills_edit_form_for_owner_only(client_for, instructor, other_instructor, make_course):
    course = make_course(instructor, title="Prefilled", tags=["alpha", "beta"], lessons=1, publish=True)

    own = _session_login(instructor).get(f"/api/v1/courses/{course['id']}", **HTML).content.decode()
    other = _session_login(other_instructor).get(f"/api/v1/courses/{course['id']}", **HTML).content.decode()

    assert 'value="Prefilled"' in own
    assert 'value="alpha, beta"' in own
    assert 'name="title"' not in other  # no edit form for someone who may not edit


def test_session_put_with_csrf_edits_and_without_is_refused(instructor, make_course):
    course = make_course(instructor, title="Before")
    client = _session_login(instructor)
    client.get("/api/v1/courses/", **HTML)
    url = f"/api/v1/courses/{course['id']}"

    refused = client.put(url, "title=Hacked&level=beginner", content_type="application/x-www-form-urlencoded")
    edited = client.put(
        url,
        "title=After&level=intermediate&tags=x&description=&slug=",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_CSRFTOKEN=_csrf(client),
    )

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] in {"csrf_failed", "permission_denied"}
    assert edited.status_code == 200, edited.content[:500]
    stored = selectors.course_get(course_id=course["id"])
    assert (stored["title"], stored["level"], stored["tags"], stored["slug"]) == (
        "After",
        "intermediate",
        ["x"],
        course["slug"],
    )


def test_student_session_gets_no_form_and_is_refused(student):
    client = _session_login(student)

    page = client.get("/api/v1/courses/", **HTML).content.decode()
    response = client.post(
        "/api/v1/courses/", {"title": "X", "level": "beginner", "csrfmiddlewaretoken": _csrf(client)}, **HTML
    )

    assert 'name="title"' not in page
    assert response.status_code == 403
    assert collection("courses").count_documents({}) == 0


def test_other_instructor_session_cannot_edit(other_instructor, instructor, make_course):
    course = make_course(instructor, title="Theirs", lessons=1, publish=True)
    client = _session_login(other_instructor)
    client.get("/api/v1/courses/", **HTML)

    response = client.patch(
        f"/api/v1/courses/{course['id']}", '{"title": "Mine now"}', content_type="application/json",
        HTTP_X_CSRFTOKEN=_csrf(client),
    )  # fmt: skip

    assert response.status_code == 403
    assert selectors.course_get(course_id=course["id"])["title"] == "Theirs"


def test_create_answers_with_a_fresh_form_for_the_next_course(instructor):
    client = _session_login(instructor)
    client.get("/api/v1/courses/", **HTML)

    created = client.post(
        "/api/v1/courses/",
        {"title": "First of many", "level": "beginner", "tags": "", "csrfmiddlewaretoken": _csrf(client)},
        **HTML,
    )

    html = created.content.decode()
    assert created.status_code == 201
    assert 'name="title"' in html
    assert 'value="First of many"' not in html  # the form is empty, ready for the next course


def test_reorder_form_accepts_comma_separated_ids(instructor, make_course):
    course = make_course(instructor, title="Order me", lessons=3)
    first, second, third = course["lesson_ids"]
    client = _session_login(instructor)
    page = client.get(f"/api/v1/courses/{course['id']}/lessons/reorder", **HTML).content.decode()

    response = client.post(
        f"/api/v1/courses/{course['id']}/lessons/reorder",
        {"lesson_ids": f"{third}, {first},{second}", "csrfmiddlewaretoken": _csrf(client)},
        **HTML,
    )

    assert 'name="lesson_ids"' in page
    assert response.status_code == 200, response.content[:500]
    assert selectors.course_get(course_id=course["id"])["lesson_ids"] == [third, first, second]


def test_instructor_adds_and_reorders_sections_with_the_forms(instructor, make_course):
    course = make_course(instructor, title="Structured", lessons=1)
    client = _session_login(instructor)
    url = f"/api/v1/courses/{course['id']}/sections/"
    page = client.get(url, **HTML).content.decode()

    first = client.post(url, {"title": "Part one", "csrfmiddlewaretoken": _csrf(client)}, **HTML)
    second = client.post(url, {"title": "Part two", "csrfmiddlewaretoken": _csrf(client)}, **HTML)
    ids = [s["id"] for s in selectors.course_get(course_id=course["id"])["sections"]]
    reordered = client.post(
        f"/api/v1/courses/{course['id']}/sections/reorder",
        {"section_ids": f"{ids[1]}, {ids[0]}", "csrfmiddlewaretoken": _csrf(client)},
        **HTML,
    )
    curriculum = client.get(f"/api/v1/courses/{course['id']}/curriculum", **HTML)

    assert 'name="title"' in page
    assert (first.status_code, second.status_code, reordered.status_code) == (201, 201, 200)
    assert [s["title"] for s in selectors.course_get(course_id=course["id"])["sections"]] == [
        "Part two",
        "Part one",
    ]
    assert curriculum.status_code == 200
    assert "Part two" in curriculum.content.decode()


def test_instructor_sets_the_enrollment_policy_through_the_form(instructor):
    client = _session_login(instructor)
    page = client.get("/api/v1/courses/", **HTML).content.decode()
    for field in ("enrollment", "capacity", "enrollment_opens_at", "enrollment_closes_at", "access_days"):
        assert f'name="{field}"' in page
    assert '<option value="invite_only"' in page

    created = client.post(
        "/api/v1/courses/",
        {
            "title": "Cohort course",
            "level": "beginner",
            "enrollment": "invite_only",
            "capacity": "25",
            "enrollment_opens_at": "2030-01-01T09:00",
            "enrollment_closes_at": "",
            "access_days": "",
            "csrfmiddlewaretoken": _csrf(client),
        },
        **HTML,
    )

    assert created.status_code == 201, created.content[:500]
    course = collection("courses").find_one({"title": "Cohort course"})
    assert (course["enrollment"], course["capacity"], course["access_days"]) == ("invite_only", 25, None)
    assert course["enrollment_opens_at"].isoformat().startswith("2030-01-01T09:00")
    assert course["enrollment_closes_at"] is None

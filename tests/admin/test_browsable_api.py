"""The browsable API as an instructor uses it: session login, HTML pages (Accept: text/html) and the
form-encoded POSTs its HTML forms send. Every page must render (never a 500) and offer the forms and
help texts an instructor needs. The browser-level flow is tests/browser/test_browsable_api.py."""

import re

import pytest

from catalog import selectors
from tests.admin.builders import course_with_lessons

pytestmark = pytest.mark.django_db

HTML = {"HTTP_ACCEPT": "text/html"}


@pytest.fixture
def web(login, instructor):
    return login(instructor)


def _html(response, status=200):
    assert response.status_code == status, response.content[:2000]
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_login_and_logout_links_are_on_every_page(client):
    html = _html(client.get("/api/v1/courses/", **HTML))
    assert "href='/api-auth/login/?next=/api/v1/courses/'" in html
    html = _html(client.get("/api-auth/login/?next=/api/v1/courses/"))
    assert 'name="username"' in html
    assert 'name="password"' in html


def test_logged_in_instructor_sees_the_logout_link(web):
    html = _html(web.get("/api/v1/courses/", **HTML))
    assert "/api-auth/logout/" in html


def test_course_list_offers_a_create_form_with_help_and_choices(web):
    html = _html(web.get("/api/v1/courses/", **HTML))
    form = html.split('id="post-object-form"', 1)[1].split("</form>", 1)[0]
    for name in ("title", "slug", "description", "tags", "level"):
        assert f'name="{name}"' in form
    for value in ("beginner", "intermediate", "advanced"):
        assert f'value="{value}"' in form
    assert "Course title (1-200 characters)." in form
    assert "Up to 20 tags" in form


def test_instructor_creates_a_course_with_the_html_form(web, instructor):
    response = web.post(
        "/api/v1/courses/",
        {"title": "Forms", "description": "", "tags": "a, b", "level": "beginner", "slug": ""},
        **HTML,
    )
    html = _html(response, 201)
    course_id = re.search(r"&quot;id&quot;: &quot;([0-9a-f]{24})&quot;", html).group(1)
    stored = selectors.course_get(course_id=course_id)
    assert (stored["title"], stored["owner_id"], stored["tags"], stored["status"]) == (
        "Forms",
        instructor.id,
        ["a", "b"],
        "draft",
    )


def test_course_pages_render_for_the_owner(web, instructor):
    course, (lesson,) = course_with_lessons(instructor, title="Mine", lessons=["L1"])
    for path in (
        f"/api/v1/courses/{course['id']}/",
        f"/api/v1/courses/{course['id']}/lessons/",
        f"/api/v1/courses/{course['id']}/analytics/",
        f"/api/v1/courses/{course['id']}/students/",
        f"/api/v1/lessons/{lesson['id']}/",
        "/api/v1/courses/?status=draft",
        "/api/v1/auth/me/",
        "/api/v1/enrollments/",
        "/api/v1/me/progress/",
    ):
        _html(web.get(path, **HTML))
    # POST-only actions show their page (405) with the form to POST, never a 500.
    for path in (f"/api/v1/lessons/{lesson['id']}/upload/", f"/api/v1/courses/{course['id']}/publish/"):
        _html(web.get(path, **HTML), 405)


def test_admin_pages_render(login, admin_user, student):
    web = login(admin_user)
    for path in ("/api/v1/users/", f"/api/v1/users/{student.id}/", "/api/v1/analytics/overview/"):
        _html(web.get(path, **HTML))


def test_instructor_adds_a_lesson_with_the_html_form(web, instructor):
    course, _ = course_with_lessons(instructor, title="Mine")
    response = web.post(
        f"/api/v1/courses/{course['id']}/lessons/",
        {"title": "First", "description": "", "position": "", "duration": ""},
        **HTML,
    )
    _html(response, 201)
    stored = selectors.course_get(course_id=course["id"])
    assert [selectors.lesson_get(lesson_id=i)["title"] for i in stored["lesson_ids"]] == ["First"]


def test_lesson_create_form_has_help_texts(web, instructor):
    course, _ = course_with_lessons(instructor, title="Mine")
    html = _html(web.get(f"/api/v1/courses/{course['id']}/lessons/", **HTML))
    form = html.split('id="post-object-form"', 1)[1].split("</form>", 1)[0]
    assert "Lesson title (1-200 characters)." in form
    assert "1-based position" in form
    assert "Preview lessons can be played by anyone." in form


def test_instructor_reorders_with_the_raw_data_form(web, instructor):
    course, (a, b) = course_with_lessons(instructor, title="Mine", lessons=["A", "B"])
    html = _html(web.get(f"/api/v1/courses/{course['id']}/lessons/reorder/", **HTML), 405)
    assert "lesson_ids" in html  # the page still shows the form to POST
    response = web.post(
        f"/api/v1/courses/{course['id']}/lessons/reorder/",
        {"lesson_ids": [b["id"], a["id"]]},
        content_type="application/json",
        **HTML,
    )
    _html(response)
    assert selectors.course_get(course_id=course["id"])["lesson_ids"] == [b["id"], a["id"]]


def test_instructor_requests_an_upload_url(web, instructor, mux_emulator):
    _course, (lesson,) = course_with_lessons(instructor, title="Mine", lessons=["A"])
    html = _html(web.post(f"/api/v1/lessons/{lesson['id']}/upload/", {}, **HTML), 201)
    assert "upload_url" in html
    assert selectors.lesson_get(lesson_id=lesson["id"])["video"]["status"] == "waiting_upload"


def test_student_enrolls_from_the_browsable_api(login, student, instructor):
    course, _ = course_with_lessons(instructor, title="Open course", lessons=["A"], publish=True)
    web = login(student)
    _html(web.post(f"/api/v1/courses/{course['id']}/enroll/", {}, **HTML), 201)
    _html(web.get(f"/api/v1/courses/{course['id']}/progress/", **HTML))
    _html(web.get("/api/v1/me/progress/", **HTML))

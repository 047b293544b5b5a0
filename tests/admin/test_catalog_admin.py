"""The MongoDB catalog's admin pages (catalog/admin_views.py) through Django's test client."""

import pytest
from bson import ObjectId
from django.test import Client

from catalog import selectors, services
from tests.admin.builders import (
    asset_ready_payload,
    course_with_lessons,
    current,
    raw,
    video_waiting_upload,
)
from webhooks.services import webhook_event_process, webhook_event_receive

pytestmark = pytest.mark.django_db

COURSES = "/admin/catalog/courses/"
LESSONS = "/admin/catalog/lessons/"


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def _follow(client, url, data):
    return client.post(url, data, follow=True)


# --- access -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [COURSES, LESSONS, f"{COURSES}{ObjectId()}/", f"{LESSONS}{ObjectId()}/"])
def test_pages_send_anonymous_users_to_the_admin_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/admin/login/?next={path}")


@pytest.mark.parametrize("role", ["student", "instructor"])
def test_pages_are_admin_only(login, make_user, instructor, role):
    course, _ = course_with_lessons(instructor, title="Python")
    user_client = login(make_user(role))
    for path in (COURSES, f"{COURSES}{course['id']}/"):
        assert user_client.get(path).status_code == 302
    response = user_client.post(f"{COURSES}{course['id']}/", {"action": "archive", "confirm": "yes"})
    assert response.status_code == 302
    assert current(course)["status"] == "draft"


def test_posts_need_the_csrf_token(admin_user, instructor):
    course, _ = course_with_lessons(instructor, title="Python", lessons=["L1"])
    client = Client(enforce_csrf_checks=True)
    assert client.login(email=admin_user.email, password=admin_user.raw_password)
    response = client.post(f"{COURSES}{course['id']}/", {"action": "publish"})
    assert response.status_code == 403
    assert current(course)["status"] == "draft"


# --- course list ------------------------------------------------------------------------------------
def test_course_list_shows_drafts_and_published_with_instructor_and_lesson_count(admin_web, instructor):
    draft, _ = course_with_lessons(instructor, title="Draft course", lessons=["a", "b"])
    published, _ = course_with_lessons(instructor, title="Published course", lessons=["a"], publish=True)
    archived, _ = course_with_lessons(instructor, title="Archived course")
    services.course_archive(course=archived)

    response = admin_web.get(COURSES)

    assert response.status_code == 200
    rows = [
        (c["title"], c["status"], c["lesson_count"], c["instructor"]["name"])
        for c in response.context["courses"]
    ]
    assert rows == [
        ("Published course", "published", 1, "Ins Tructor"),
        ("Draft course", "draft", 2, "Ins Tructor"),
    ]
    assert response.context["total"] == 2
    html = response.content.decode()
    assert f'href="/admin/catalog/courses/{draft["id"]}/"' in html
    assert f'href="/admin/catalog/courses/{published["id"]}/"' in html


def test_course_list_filters_by_status_and_searches_title_and_tags(admin_web, instructor):
    course_with_lessons(instructor, title="Intro to Django", tags=["web"])
    course_with_lessons(instructor, title="Cooking", tags=["food"])
    archived, _ = course_with_lessons(instructor, title="Old Django")
    services.course_archive(course=archived)

    def titles(query):
        return [c["title"] for c in admin_web.get(COURSES, query).context["courses"]]

    assert titles({"q": "django"}) == ["Intro to Django"]
    assert titles({"q": "FOOD"}) == ["Cooking"]
    assert titles({"status": "archived"}) == ["Old Django"]
    assert titles({"q": "django", "status": "archived"}) == ["Old Django"]
    assert titles({"q": ".*"}) == []  # the search is a literal substring, not a pattern


def test_course_list_ignores_invalid_filters(admin_web, instructor):
    course_with_lessons(instructor, title="Python")
    response = admin_web.get(COURSES, {"status": "deleted", "page": "x"})
    assert response.status_code == 200
    assert [c["title"] for c in response.context["courses"]] == ["Python"]


# --- course page ------------------------------------------------------------------------------------
def test_course_page_lists_lessons_in_order_with_video_status_and_mux_ids(admin_web, instructor):
    course, lessons = course_with_lessons(instructor, title="Video course", lessons=["One", "Two"])
    video_waiting_upload(lessons[1]["id"], upload_id="upload-abc")

    response = admin_web.get(f"{COURSES}{course['id']}/")

    assert response.status_code == 200
    rows = [
        (r["position"], r["lesson"]["title"], r["video"]["status"], r["video"]["upload_id"])
        for r in response.context["lessons"]
    ]
    assert rows == [(1, "One", "none", ""), (2, "Two", "waiting_upload", "upload-abc")]
    assert "upload-abc" in response.content.decode()


def test_unknown_or_malformed_course_is_404(admin_web):
    assert admin_web.get(f"{COURSES}{ObjectId()}/").status_code == 404
    assert admin_web.get(f"{COURSES}not-an-id/").status_code == 404


def test_admin_edits_title_description_tags_and_level(admin_web, instructor):
    course, _ = course_with_lessons(instructor, title="Old title", tags=["a"], level="beginner")

    response = _follow(
        admin_web,
        f"{COURSES}{course['id']}/",
        {
            "action": "save",
            "title": "  New title ",
            "slug": course["slug"],
            "description": "Now with a description.",
            "tags": "Python, web, python",
            "level": "advanced",
        },
    )

    assert response.status_code == 200
    assert _messages(response) == ["Saved description, level, tags, title."]
    stored = current(course)
    assert (stored["title"], stored["description"], stored["tags"], stored["level"], stored["slug"]) == (
        "New title",
        "Now with a description.",
        ["python", "web"],
        "advanced",
        course["slug"],
    )


def test_invalid_edit_shows_field_errors_and_writes_nothing(admin_web, instructor):
    course, _ = course_with_lessons(instructor, title="Keep me")

    response = admin_web.post(
        f"{COURSES}{course['id']}/",
        {
            "action": "save",
            "title": "",
            "slug": "Not A Slug",
            "description": "",
            "tags": "ok",
            "level": "expert",
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"title", "level"}  # Django's own field checks first
    assert current(course) == course

    response = admin_web.post(
        f"{COURSES}{course['id']}/",
        {
            "action": "save",
            "title": "Fine",
            "slug": "Not A Slug",
            "description": "",
            "tags": "b@d",
            "level": "beginner",
        },
    )
    errors = response.context["form"].errors
    assert errors["slug"] == ["Use lower-case letters, digits and single hyphens."]
    assert errors["tags"] == ["Tags are 1-40 characters: lower-case letters, digits and + # . _ -"]
    assert current(course) == course


def test_taken_slug_is_a_field_error_and_nothing_changes(admin_web, instructor):
    other, _ = course_with_lessons(instructor, title="Other")
    course, _ = course_with_lessons(instructor, title="Mine")

    response = admin_web.post(
        f"{COURSES}{course['id']}/",
        {
            "action": "save",
            "title": "Mine renamed",
            "slug": other["slug"],
            "description": "",
            "tags": "",
            "level": "beginner",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"slug": ["This slug is already taken."]}
    assert current(course) == course


def test_unchanged_form_writes_nothing(admin_web, instructor):
    course, _ = course_with_lessons(instructor, title="Same", tags=["x"])
    response = _follow(
        admin_web,
        f"{COURSES}{course['id']}/",
        {
            "action": "save",
            "title": "Same",
            "slug": course["slug"],
            "description": "",
            "tags": "x",
            "level": "beginner",
        },
    )
    assert _messages(response) == ["No changes."]
    assert current(course)["updated_at"] == course["updated_at"]


def test_publish_needs_a_lesson_then_unpublish(admin_web, instructor):
    empty, _ = course_with_lessons(instructor, title="Empty")
    response = _follow(admin_web, f"{COURSES}{empty['id']}/", {"action": "publish"})
    assert _messages(response) == ["A course needs at least one lesson to be published."]
    assert current(empty)["status"] == "draft"

    course, _ = course_with_lessons(instructor, title="Ready", lessons=["L1"])
    response = _follow(admin_web, f"{COURSES}{course['id']}/", {"action": "publish"})
    assert _messages(response) == ["The course is published."]
    assert current(course)["status"] == "published"
    assert current(course)["published_at"] is not None

    response = _follow(admin_web, f"{COURSES}{course['id']}/", {"action": "unpublish"})
    assert _messages(response) == ["The course is back to draft."]
    assert current(course)["status"] == "draft"


def test_archive_asks_for_confirmation_first(admin_web, instructor):
    course, _ = course_with_lessons(instructor, title="Doomed", lessons=["L1"], publish=True)

    response = admin_web.post(f"{COURSES}{course['id']}/", {"action": "archive"})
    assert response.status_code == 200
    assert response.context["confirm_archive"] is True
    assert current(course)["status"] == "published"

    response = _follow(admin_web, f"{COURSES}{course['id']}/", {"action": "archive", "confirm": "yes"})
    assert _messages(response) == ["The course is archived: it left every listing; enrollments stay."]
    assert current(course)["status"] == "archived"
    assert response.context["read_only"] is True
    assert 'id="ls-course-form"' not in response.content.decode()


def test_archived_course_refuses_edits(admin_web, instructor):
    course, _ = course_with_lessons(instructor, title="Frozen", lessons=["L1"])
    services.course_archive(course=course)
    before = current(course)

    response = _follow(
        admin_web,
        f"{COURSES}{course['id']}/",
        {
            "action": "save",
            "title": "Thawed",
            "slug": course["slug"],
            "description": "",
            "tags": "",
            "level": "beginner",
        },
    )
    assert response.context["form"].errors == {"__all__": ["This course is archived."]}
    response = _follow(admin_web, f"{COURSES}{course['id']}/", {"action": "publish"})
    assert _messages(response) == ["This course is archived."]
    assert current(course) == before


def test_reorder_lessons_by_position(admin_web, instructor):
    course, (a, b, c) = course_with_lessons(instructor, title="Ordered", lessons=["A", "B", "C"])

    response = _follow(
        admin_web,
        f"{COURSES}{course['id']}/",
        {
            "action": "reorder",
            f"position-{a['id']}": "3",
            f"position-{b['id']}": "1",
            f"position-{c['id']}": "2",
        },
    )

    assert _messages(response) == ["Lessons reordered."]
    assert current(course)["lesson_ids"] == [b["id"], c["id"], a["id"]]
    assert [r["lesson"]["title"] for r in response.context["lessons"]] == ["B", "C", "A"]


def test_reorder_rejects_bad_positions_and_keeps_the_order(admin_web, instructor):
    course, (a, b) = course_with_lessons(instructor, title="Ordered", lessons=["A", "B"])
    for bad in ("0", "-1", "x"):
        response = _follow(
            admin_web, f"{COURSES}{course['id']}/", {"action": "reorder", f"position-{a['id']}": bad}
        )
        assert _messages(response) == ["Positions must be whole numbers from 1."]
    response = _follow(admin_web, f"{COURSES}{course['id']}/", {"action": "reorder"})
    assert _messages(response) == ["The order is unchanged."]
    assert current(course)["lesson_ids"] == [a["id"], b["id"]]


def test_unknown_action_changes_nothing(admin_web, instructor):
    course, _ = course_with_lessons(instructor, title="Stay")
    response = _follow(admin_web, f"{COURSES}{course['id']}/", {"action": "drop_database"})
    assert _messages(response) == ["Unknown action."]
    assert current(course) == course


# --- lessons ----------------------------------------------------------------------------------------
def test_lesson_page_shows_mux_ids_after_the_asset_is_ready(admin_web, instructor):
    _course, (lesson,) = course_with_lessons(instructor, title="Video", lessons=["Intro"])
    video_waiting_upload(lesson["id"], upload_id="up-1")
    event, created = webhook_event_receive(
        raw_body=raw(
            payload := asset_ready_payload(
                lesson_id=lesson["id"],
                upload_id="up-1",
                asset_id="asset-1",
                playback_id="play-1",
                event_id="ev-1",
            )
        ),
        payload=payload,
    )
    assert created
    assert webhook_event_process(event_pk=event.pk) == "applied"

    response = admin_web.get(f"{LESSONS}{lesson['id']}/")

    assert response.status_code == 200
    video = response.context["video"]
    assert (
        video["status"],
        video["upload_id"],
        video["asset_id"],
        video["playback_id"],
        video["aspect_ratio"],
    ) == (
        "ready",
        "up-1",
        "asset-1",
        "play-1",
        "16:9",
    )
    html = response.content.decode()
    for text in ("asset-1", "play-1", "up-1", "42.5"):
        assert text in html


def test_lesson_list_searches_titles_and_mux_ids_and_filters_by_video_status(admin_web, instructor):
    _course, (intro, deep) = course_with_lessons(instructor, title="Course A", lessons=["Intro", "Deep dive"])
    video_waiting_upload(deep["id"], upload_id="upload-xyz")

    def titles(query):
        response = admin_web.get(LESSONS, query)
        assert response.status_code == 200
        return [(r["lesson"]["title"], r["course_title"], r["position"]) for r in response.context["lessons"]]

    assert titles({}) == [("Deep dive", "Course A", 2), ("Intro", "Course A", 1)]
    assert titles({"q": "INTRO"}) == [("Intro", "Course A", 1)]
    assert titles({"q": "upload-xyz"}) == [("Deep dive", "Course A", 2)]
    assert titles({"q": intro["id"]}) == [("Intro", "Course A", 1)]
    assert titles({"video_status": "waiting_upload"}) == [("Deep dive", "Course A", 2)]
    assert titles({"video_status": "ready"}) == []
    assert titles({"q": "(", "video_status": "bogus"}) == [
        ("Deep dive", "Course A", 2),
        ("Intro", "Course A", 1),
    ]


def test_lesson_edit_changes_fields_and_moves_it(admin_web, instructor):
    course, (a, b, c) = course_with_lessons(instructor, title="Course", lessons=["A", "B", "C"])

    response = _follow(
        admin_web,
        f"{LESSONS}{c['id']}/",
        {"title": "C renamed", "description": "About C", "position": "1", "is_preview": "on"},
    )

    assert _messages(response) == ["Saved description, is_preview, position, title."]
    stored = selectors.lesson_get(lesson_id=c["id"])
    assert (stored["title"], stored["description"], stored["is_preview"]) == ("C renamed", "About C", True)
    assert current(course)["lesson_ids"] == [c["id"], a["id"], b["id"]]


def test_invalid_lesson_edit_writes_nothing(admin_web, instructor):
    _course, (a,) = course_with_lessons(instructor, title="Course", lessons=["A"])
    response = admin_web.post(f"{LESSONS}{a['id']}/", {"title": "   ", "position": "0"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"title", "position"}
    assert selectors.lesson_get(lesson_id=a["id"]) == a


def test_lessons_of_archived_courses_are_read_only(admin_web, instructor):
    course, (a,) = course_with_lessons(instructor, title="Course", lessons=["A"])
    services.course_archive(course=course)

    page = admin_web.get(f"{LESSONS}{a['id']}/")
    assert page.context["read_only"] is True
    assert 'id="ls-lesson-form"' not in page.content.decode()
    response = _follow(admin_web, f"{LESSONS}{a['id']}/", {"title": "Changed", "position": "1"})
    assert _messages(response) == [
        "This lesson cannot be edited: its course is archived or no longer lists it."
    ]
    assert selectors.lesson_get(lesson_id=a["id"]) == a


def test_unknown_lesson_is_404(admin_web):
    assert admin_web.get(f"{LESSONS}{ObjectId()}/").status_code == 404


# --- degradation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [COURSES, LESSONS, f"{COURSES}{ObjectId()}/", f"{LESSONS}{ObjectId()}/"])
def test_mongodb_down_is_a_503_page_not_a_500(admin_web, mongo_down, path):
    response = admin_web.get(path)
    assert response.status_code == 503
    assert "MongoDB" in response.content.decode()
    assert "Nothing was changed." in response.content.decode()


def test_mongodb_down_during_a_save_says_it_may_not_be_saved(admin_web, instructor, mongo_outage):
    course, _ = course_with_lessons(instructor, title="Python", lessons=["L1"])
    with mongo_outage():
        response = admin_web.post(f"{COURSES}{course['id']}/", {"action": "publish"})
    assert response.status_code == 503
    assert "Your change may not have been saved" in response.content.decode()
    assert current(course)["status"] == "draft"


@pytest.mark.parametrize("path", [COURSES, LESSONS])
def test_an_absurd_page_number_is_an_empty_page_not_a_500(admin_web, instructor, path):
    course_with_lessons(instructor, title="Python", lessons=["L1"])
    response = admin_web.get(path, {"page": "9" * 30})
    assert response.status_code == 200

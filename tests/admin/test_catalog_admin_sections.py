"""Sections and release rules in the catalog's admin pages (catalog/admin_views.py)."""

import pytest

from tests.admin.builders import course_with_lessons, current

pytestmark = pytest.mark.django_db

COURSES = "/admin/catalog/courses/"
LESSONS = "/admin/catalog/lessons/"


def _messages(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_admin_adds_renames_reorders_fills_and_deletes_sections(admin_web, instructor):
    course, (a, b) = course_with_lessons(instructor, title="Sectioned", lessons=["A", "B"])
    url = f"{COURSES}{course['id']}/"

    admin_web.post(url, {"action": "section_add", "section_title": "Basics"}, follow=True)
    response = admin_web.post(url, {"action": "section_add", "section_title": "Advanced"}, follow=True)
    assert _messages(response) == ["Section “Advanced” added."]
    basics, advanced = current(course)["sections"]
    assert "Basics" in response.content.decode()

    response = admin_web.post(
        url,
        {
            "action": "section_save",
            f"section-title-{basics['id']}": "Intro",
            f"section-position-{basics['id']}": "2",
            f"section-position-{advanced['id']}": "1",
        },
        follow=True,
    )
    assert _messages(response) == ["Sections saved."]
    assert [(s["title"], s["id"]) for s in current(course)["sections"]] == [
        ("Advanced", advanced["id"]),
        ("Intro", basics["id"]),
    ]

    response = admin_web.post(
        url,
        {
            "action": "reorder",
            f"position-{a['id']}": "1",
            f"position-{b['id']}": "2",
            f"section-{b['id']}": basics["id"],
        },
        follow=True,
    )
    assert _messages(response) == ["Lessons reordered."]
    stored = current(course)["sections"]
    assert [s["lesson_ids"] for s in stored] == [[], [b["id"]]]

    response = admin_web.post(url, {"action": "section_delete", "section_id": basics["id"]}, follow=True)
    assert _messages(response) == ["The section still has lessons; move or delete them first."]
    response = admin_web.post(url, {"action": "section_delete", "section_id": advanced["id"]}, follow=True)
    assert _messages(response) == ["Section deleted."]
    assert [s["title"] for s in current(course)["sections"]] == ["Intro"]


def test_admin_edits_release_rules_and_a_lessons_section(admin_web, instructor):
    course, (a,) = course_with_lessons(instructor, title="Rules", lessons=["A"])
    url = f"{COURSES}{course['id']}/"
    admin_web.post(url, {"action": "section_add", "section_title": "Week 1"}, follow=True)
    (week,) = current(course)["sections"]

    response = admin_web.post(
        url,
        {
            "action": "save",
            "title": "Rules",
            "slug": current(course)["slug"],
            "level": "beginner",
            "sequential": "on",
        },
        follow=True,
    )
    assert _messages(response) == ["Saved sequential."]
    assert current(course)["sequential"] is True

    lesson_url = f"{LESSONS}{a['id']}/"
    assert admin_web.get(lesson_url).status_code == 200
    response = admin_web.post(
        lesson_url,
        {"title": "A", "position": "1", "section_id": week["id"], "available_after_days": "7"},
        follow=True,
    )
    assert _messages(response) == ["Saved available_after_days, section_id."]
    assert current(course)["sections"][0]["lesson_ids"] == [a["id"]]
    response = admin_web.post(
        lesson_url, {"title": "A", "position": "1", "section_id": "0" * 24}, follow=True
    )
    assert response.status_code == 200
    assert current(course)["sections"][0]["lesson_ids"] == [a["id"]]

"""An instructor authoring through the browsable API's HTML forms, and a student who must not see the
draft, in a real browser (Chromium via Playwright), logged in with the session login link."""

import re

import pytest
from playwright.sync_api import expect

from catalog import selectors
from tests.browser.helpers import api_login

pytestmark = pytest.mark.live

COURSES = "/api/v1/courses/"


def _submit_html_form(page, form_id: str) -> None:
    """Press the POST button of the browsable API's HTML form (not the raw-data one)."""
    page.locator(f"#{form_id} form button.btn-primary").click()
    page.wait_for_load_state()


def test_instructor_creates_a_course_and_a_lesson_with_the_html_forms(
    browser, live_server, page, screenshot, instructor, student
):
    api_login(page, instructor, COURSES)
    expect(page.locator(".breadcrumb, .page-header").first).to_be_visible()

    form = page.locator("#post-object-form")
    form.locator("[name=title]").fill("Playwright for Django developers")
    form.locator("[name=description]").fill("Testing admin sites the way people use them.")
    form.locator("[name=tags]").fill("testing, browsers")
    form.locator("select[name=level]").select_option("intermediate")
    _submit_html_form(page, "post-object-form")

    expect(page.locator(".response-info")).to_contain_text("HTTP 201 Created")
    body = page.locator(".response-info pre").inner_text()
    course_id = re.search(r'"id": "([0-9a-f]{24})"', body).group(1)
    stored = selectors.course_get(course_id=course_id)
    assert stored is not None
    assert (stored["title"], stored["status"], stored["owner_id"], stored["tags"], stored["level"]) == (
        "Playwright for Django developers",
        "draft",
        instructor.id,
        ["testing", "browsers"],
        "intermediate",
    )
    screenshot("course-created")

    page.goto(f"{COURSES}{course_id}/lessons/")
    lesson_form = page.locator("#post-object-form")
    lesson_form.locator("[name=title]").fill("Launching Chromium")
    lesson_form.locator("[name=description]").fill("executable_path and headless flags.")
    _submit_html_form(page, "post-object-form")
    expect(page.locator(".response-info")).to_contain_text("HTTP 201 Created")

    page.goto(f"{COURSES}{course_id}/lessons/")
    listing = page.locator(".response-info")
    expect(listing).to_contain_text("Launching Chromium")
    expect(listing).to_contain_text('"position": 1')
    screenshot("lessons")

    page.goto(f"{COURSES}?status=draft")
    expect(page.locator(".response-info")).to_contain_text("Playwright for Django developers")
    assert selectors.course_get(course_id=course_id)["lesson_ids"] != []

    # A student in another browser session sees neither the draft in the list nor its page.
    student_context = browser.new_context(base_url=live_server.url)
    student_page = student_context.new_page()
    try:
        api_login(student_page, student, COURSES)
        expect(student_page.locator(".response-info")).to_contain_text("HTTP 200 OK")
        expect(student_page.locator(".response-info")).not_to_contain_text("Playwright for Django developers")
        student_page.goto(f"{COURSES}{course_id}/")
        expect(student_page.locator(".response-info")).to_contain_text("HTTP 404 Not Found")
        screenshot("student-404", of=student_page)
    finally:
        student_context.close()

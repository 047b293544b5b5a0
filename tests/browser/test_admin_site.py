"""An administrator's whole job in the admin site, in a real browser (Chromium via Playwright)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from catalog import selectors
from tests.admin.builders import asset_ready_payload, course_with_lessons, current, raw, video_waiting_upload
from tests.browser.helpers import admin_login, run_admin_action
from webhooks.models import WebhookEventStatus
from webhooks.services import webhook_event_receive

pytestmark = pytest.mark.live


def test_admin_promotes_a_student_and_deactivates_a_user(
    page, screenshot, admin_user, student, other_student
):
    epoch_before = student.auth_epoch
    admin_login(page, admin_user)

    page.get_by_role("link", name="Users").first.click()
    page.fill("#searchbar", student.email)
    page.press("#searchbar", "Enter")
    page.get_by_role("link", name=student.email).click()
    page.select_option("#id_role", "instructor")
    page.click("input[name=_save]")
    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    screenshot("promoted")

    student.refresh_from_db()
    assert student.role == "instructor"
    assert student.auth_epoch > epoch_before  # their old tokens stopped working

    page.goto("/admin/accounts/user/?role__exact=student")
    run_admin_action(page, label_contains="Deactivate", row_checkbox_values=[str(other_student.pk)])
    expect(page.locator("ul.messagelist")).to_contain_text("Deactivated 1 user(s).")

    other_student.refresh_from_db()
    assert other_student.is_active is False
    assert User.objects.get(pk=admin_user.pk).is_active is True


def test_admin_reprocesses_a_failed_webhook_and_sees_the_video_ready(
    page, screenshot, admin_user, instructor, mongo_outage
):
    course, (lesson,) = course_with_lessons(instructor, title="Filmed course", lessons=["Welcome"])
    video_waiting_upload(lesson["id"], upload_id="up-42")
    payload = asset_ready_payload(
        lesson_id=lesson["id"],
        upload_id="up-42",
        asset_id="asset-42",
        playback_id="play-42",
        event_id="evt-42",
    )
    with mongo_outage():  # processing fails for real: MongoDB does not answer
        event, _created = webhook_event_receive(raw_body=raw(payload), payload=payload)
    event.refresh_from_db()
    assert event.status == WebhookEventStatus.FAILED
    assert "ServerSelectionTimeoutError" in event.last_error

    admin_login(page, admin_user)
    failed = page.locator("#ls-webhooks-module tr.alert")
    expect(failed).to_contain_text("Failed")
    expect(failed).to_contain_text("1")
    screenshot("dashboard")
    failed.get_by_role("link").click()
    expect(page.locator("#result_list")).to_contain_text("evt-42")

    run_admin_action(page, label_contains="Reprocess", row_checkbox_values=[str(event.pk)])
    expect(page.locator("ul.messagelist")).to_contain_text("Processed 1, failed 0")
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEventStatus.PROCESSED, 2)

    page.goto("/admin/")
    page.locator("#ls-catalog-module").get_by_role("link", name="Lessons").click()
    page.fill("#searchbar", "asset-42")
    page.press("#searchbar", "Enter")
    page.get_by_role("link", name="Welcome").click()
    video = page.locator("#ls-video")
    expect(video).to_contain_text("ready")
    expect(video).to_contain_text("play-42")
    expect(video).to_contain_text("asset-42")
    stored = selectors.lesson_get(lesson_id=lesson["id"])
    assert stored is not None
    assert stored["video"]["status"] == "ready"
    assert current(course)["status"] == "draft"


def test_admin_reorders_and_publishes_a_course_in_the_catalog_pages(page, screenshot, admin_user, instructor):
    course, (first, second) = course_with_lessons(
        instructor, title="Rust for Pythonistas", lessons=["Ownership", "Borrowing"]
    )
    course_with_lessons(instructor, title="Unrelated course")

    admin_login(page, admin_user)
    page.locator("#ls-catalog-module").get_by_role("link", name="Courses").click()
    page.fill("#searchbar", "rust")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Rust for Pythonistas").click()

    page.get_by_label("Position of Ownership").fill("2")
    page.get_by_label("Position of Borrowing").fill("1")
    page.click("input[name=reorder]")
    expect(page.locator("ul.messagelist")).to_contain_text("Lessons reordered.")
    page.fill("#id_description", "Memory safety without a garbage collector.")
    page.click("input[name=save]")
    expect(page.locator("ul.messagelist")).to_contain_text("Saved description.")
    page.click("input[name=publish]")
    expect(page.locator("ul.messagelist")).to_contain_text("The course is published.")
    expect(page.locator("#ls-course-facts .field-status")).to_have_text(re.compile("published"))

    stored = current(course)
    assert stored["status"] == "published"
    assert stored["lesson_ids"] == [second["id"], first["id"]]
    assert stored["description"] == "Memory safety without a garbage collector."

"""Inbox processing: failures are recorded and retried with backoff; `manage.py webhooks_replay` and the
admin's "reprocess" action re-drive unprocessed events; processed events are never processed twice."""

import io
import itertools
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.tests.video.video_helpers import (
    VIDEO_BYTES,
    Deliverer,
    course_with_lesson,
    run_on_commit,  # noqa: F401
    upload_to_ready,
    video_of,
)
from webhooks.models import WebhookEvent
from webhooks.services import MAX_AUTOMATIC_ATTEMPTS, retry_delay, webhook_event_receive, webhook_events_due

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


def replay(*args):
    out = io.StringIO()
    call_command("webhooks_replay", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def replacement_ready(api_client, client_for, mux_emulator, mongo_db, instructor):
    """A ready lesson, and a replacement upload whose asset is ready at Mux; its webhooks not yet sent."""
    _course, lesson = course_with_lesson(instructor)
    owner = client_for(instructor)
    deliverer = Deliverer(mux_emulator, api_client)
    first = upload_to_ready(owner, deliverer, lesson["id"])
    ticket = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
    new_asset = mux_emulator.asset_for_upload(ticket["upload_id"])
    mux_emulator.make_ready(new_asset["id"])
    return {"lesson": lesson, "old": first["asset"], "new": new_asset, "deliverer": deliverer}


def test_failed_processing_is_recorded_retried_with_backoff_and_replayed(
    mux_emulator, mongo_db, replacement_ready
):
    """Mux down while the old asset must be deleted: the state change is kept, the event fails, and a
    later replay finishes the job exactly once."""
    mux_emulator.fail_next(503, count=3, method="DELETE")  # every attempt of the (retried) DELETE
    replacement_ready["deliverer"].deliver_new()
    [ready] = [
        e
        for e in mux_emulator.events("video.asset.ready")
        if e["payload"]["data"]["id"] == replacement_ready["new"]["id"]
    ]
    row = WebhookEvent.objects.get(event_id=ready["id"])
    assert (row.status, row.attempts, row.outcome) == ("failed", 1, "failed")
    assert row.last_error.startswith("IntegrationError: ")
    assert row.next_attempt_at is not None
    assert abs((row.next_attempt_at - timezone.now()) - retry_delay(attempts=1)) < timedelta(seconds=5)
    video = video_of(mongo_db, replacement_ready["lesson"]["id"])
    assert video["status"] == "ready"  # the new video plays already
    assert video["retired_asset_ids"] == [replacement_ready["old"]["id"]]  # the old one awaits deletion

    # Not due yet: a plain replay leaves it alone.
    assert "0 selected" in replay()
    WebhookEvent.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert "1 selected, 1 processed, 0 failed" in replay()
    row.refresh_from_db()
    assert (row.status, row.attempts, row.outcome, row.last_error) == (
        "processed",
        2,
        "ignored_no_change",
        "",
    )
    assert row.processed_at is not None
    assert row.next_attempt_at is None
    assert video_of(mongo_db, replacement_ready["lesson"]["id"])["retired_asset_ids"] == []
    assert {a["id"] for a in mux_emulator.assets()} == {replacement_ready["new"]["id"]}
    # Processed events are never processed again, whatever asks.
    assert "0 selected" in replay("--all")
    assert "1 selected, 0 processed, 0 failed, 1 skipped" in replay("--event-id", ready["id"])
    row.refresh_from_db()
    assert row.attempts == 2


def test_backoff_grows_and_stops_after_the_last_automatic_attempt(mux_emulator, replacement_ready):
    # 400: not retried inside the Mux client, so each failing attempt is quick.
    mux_emulator.fail_next(400, count=MAX_AUTOMATIC_ATTEMPTS + 1, method="DELETE")
    replacement_ready["deliverer"].deliver_new()
    row = WebhookEvent.objects.get(status="failed")
    delays = []
    for _ in range(MAX_AUTOMATIC_ATTEMPTS - 1):
        delays.append(row.next_attempt_at - timezone.now())
        WebhookEvent.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        replay()
        row.refresh_from_db()
    assert row.attempts == MAX_AUTOMATIC_ATTEMPTS
    assert row.status == "failed"
    assert row.next_attempt_at is None  # exhausted: no automatic retry any more
    assert all(later > earlier for earlier, later in itertools.pairwise(delays))
    assert "0 selected" in replay()
    # A human re-drives it once Mux is back.
    mux_emulator.clear_faults()
    assert "1 selected, 1 processed" in replay("--all")


def test_pending_event_whose_task_was_lost_is_replayed(mux_emulator, mongo_db, client_for, instructor):
    """The row is committed but the enqueue never happened (e.g. the process died): replay finds it."""
    _course, lesson = course_with_lesson(instructor)
    client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload")
    [created] = mux_emulator.events("video.upload.created")
    # Stored without running on-commit work: exactly what a crash right after COMMIT leaves behind.
    webhook_event_receive(raw_body=created["body"].encode(), payload=json.loads(created["body"]))
    assert list(webhook_events_due().values_list("event_id", flat=True)) == [created["id"]]
    assert "1 selected, 1 processed" in replay()
    assert WebhookEvent.objects.get().status == "processed"


def test_signed_event_with_unusable_data_fails_without_retry(api_client, mux_emulator):
    body = json.dumps({"id": "bad-1", "type": "video.asset.ready", "created_at": 1, "data": {}}).encode()
    response = api_client.generic(
        "POST",
        "/webhooks/mux",
        body,
        content_type="application/json",
        HTTP_MUX_SIGNATURE=mux_emulator.signature(body),
    )
    assert response.status_code == 200  # stored: it is Mux's, and visible in the admin
    row = WebhookEvent.objects.get()
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, None)
    assert "without data.id" in row.last_error


# --- the admin --------------------------------------------------------------------------------------------


@pytest.fixture
def admin_browser(admin_user):
    from django.test import Client

    browser = Client()
    assert browser.login(username=admin_user.email, password=admin_user.raw_password)
    return browser


def test_admin_lists_filters_and_shows_pretty_payloads(
    admin_browser, api_client, client_for, mux_emulator, instructor
):
    _course, lesson = course_with_lesson(instructor)
    upload_to_ready(client_for(instructor), Deliverer(mux_emulator, api_client), lesson["id"])
    page = admin_browser.get("/admin/webhooks/webhookevent/")
    assert page.status_code == 200
    html = page.content.decode()
    for event in mux_emulator.events():
        assert event["id"] in html
    filtered = admin_browser.get(
        "/admin/webhooks/webhookevent/?type=video.asset.ready&status__exact=processed"
    )
    assert filtered.status_code == 200
    assert filtered.content.decode().count("video.asset.ready") >= 1
    row = WebhookEvent.objects.get(type="video.asset.ready")
    detail = admin_browser.get(f"/admin/webhooks/webhookevent/{row.pk}/change/")
    assert detail.status_code == 200
    assert (
        "&quot;type&quot;: &quot;video.asset.ready&quot;" in detail.content.decode()
    )  # indented JSON in <pre>
    assert admin_browser.get("/admin/webhooks/webhookevent/add/").status_code == 403


def test_admin_reprocess_action(admin_browser, mux_emulator, replacement_ready, mongo_db):
    mux_emulator.fail_next(503, count=3, method="DELETE")
    replacement_ready["deliverer"].deliver_new()
    failed = WebhookEvent.objects.get(status="failed")
    processed = WebhookEvent.objects.filter(status="processed").first()
    response = admin_browser.post(
        "/admin/webhooks/webhookevent/",
        {"action": "reprocess", "_selected_action": [failed.pk, processed.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Processed 1, failed 0, skipped 1" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == "processed"
    assert video_of(mongo_db, replacement_ready["lesson"]["id"])["retired_asset_ids"] == []


def test_inbox_admin_is_for_admins_only(client_for, instructor):
    from django.test import Client

    browser = Client()
    browser.login(username=instructor.email, password=instructor.raw_password)
    response = browser.get("/admin/webhooks/webhookevent/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_automatic_retries_cover_the_24_hour_redelivery_horizon(mux_emulator, replacement_ready):
    """Issue 10, item 13: a MongoDB or Mux outage of a day must not leave lessons stuck. The waits
    between automatic attempts add up to at least 24 h (Mux's own horizon), none longer than 12 h."""
    mux_emulator.fail_next(400, count=MAX_AUTOMATIC_ATTEMPTS + 1, method="DELETE")
    replacement_ready["deliverer"].deliver_new()
    row = WebhookEvent.objects.get(status="failed")
    waits = []
    while row.next_attempt_at is not None:
        failed_at = timezone.now()
        waits.append(row.next_attempt_at - failed_at)
        WebhookEvent.objects.filter(pk=row.pk).update(next_attempt_at=failed_at)
        assert "1 selected, 0 processed, 1 failed" in replay()
        row.refresh_from_db()
    assert row.attempts == MAX_AUTOMATIC_ATTEMPTS == len(waits) + 1
    assert sum(waits, timedelta(0)) >= timedelta(hours=24)
    assert max(waits) <= timedelta(hours=12) + timedelta(seconds=5)
    assert waits[0] < timedelta(minutes=1)  # a blip is retried quickly

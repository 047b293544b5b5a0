"""`POST /webhooks/mux`: signatures, tolerance, duplicates, ordering, staleness, secrets.

Events are real: produced by the Mux emulator from a real upload (capture mode), then posted with the
exact bytes the emulator signed, re-signed as each test requires.
"""

import json
import logging
import time

import pytest

from catalog.tests.video.video_helpers import VIDEO_BYTES, course_with_lesson, run_on_commit, video_of  # noqa: F401
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


def _events_by_type(mux_emulator):
    return {e["type"]: e for e in mux_emulator.events()}


@pytest.fixture
def uploaded(mux_emulator, client_for, instructor):
    """A lesson whose upload was received and whose asset was made ready at the emulator; the
    webhooks are captured, not delivered: each test posts them itself."""
    _course, lesson = course_with_lesson(instructor)
    response = client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload")
    assert response.status_code == 201
    upload_id = response.json()["upload_id"]
    assert mux_emulator.upload_bytes(response.json()["upload_url"], VIDEO_BYTES) == 200
    asset = mux_emulator.asset_for_upload(upload_id)
    mux_emulator.make_ready(asset["id"], duration=42.0, aspect_ratio="4:3")
    return {"lesson": lesson, "upload_id": upload_id, "asset": asset, "events": _events_by_type(mux_emulator)}


def _post_raw(client, body: bytes, signature: str | None):
    extra = {"HTTP_MUX_SIGNATURE": signature} if signature is not None else {}
    return client.generic("POST", "/webhooks/mux", body, content_type="application/json", **extra)


def _rejected(response):
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"


# --- signatures ---- --------------------------------------------------------------------------------


def test_unsigned_forged_and_tampered_deliveries_are_rejected_and_not_stored(
    api_client, mux_emulator, uploaded, mongo_db, caplog
):
    event = uploaded["events"]["video.asset.ready"]
    body = event["body"].encode()
    before = video_of(mongo_db, uploaded["lesson"]["id"])
    caplog.set_level(logging.WARNING, logger="webhooks.views")

    _rejected(_post_raw(api_client, body, None))
    _rejected(_post_raw(api_client, body, mux_emulator.signature(body, secrets=["some-other-secret"])))
    flipped = body.replace(b'"ready"', b'"reddy"', 1)
    _rejected(_post_raw(api_client, flipped, mux_emulator.signature(body)))
    _rejected(_post_raw(api_client, body, "t=abc,v1=zz"))

    assert WebhookEvent.objects.count() == 0
    assert video_of(mongo_db, uploaded["lesson"]["id"]) == before
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "webhooks.views"]
    assert len(warnings) == 4
    logged = "\n".join(r.getMessage() for r in warnings)
    assert mux_emulator.webhook_secret not in logged
    assert "v1=" not in logged


def test_valid_signature_and_one_valid_of_several_v1_values_are_accepted(api_client, mux_emulator, uploaded):
    ready = uploaded["events"]["video.asset.ready"]
    created = uploaded["events"]["video.asset.created"]
    assert mux_emulator.post_event(api_client, ready).status_code == 200

    body = created["body"].encode()
    t = int(time.time())
    good = mux_emulator.signature(body, timestamp=t).split("v1=")[1]
    response = _post_raw(api_client, body, f"t={t},v1={'0' * 64},v1={good}")
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {ready["id"], created["id"]}


@pytest.mark.parametrize(("offset", "status"), [(-301, 400), (301, 400), (-10, 200), (10, 200)])
def test_timestamp_tolerance_past_and_future(api_client, mux_emulator, uploaded, offset, status):
    event = uploaded["events"]["video.asset.created"]
    response = mux_emulator.post_event(api_client, event, timestamp=int(time.time()) + offset)
    assert response.status_code == status
    assert WebhookEvent.objects.count() == (1 if status == 200 else 0)


def test_emulator_stale_and_wrong_secret_faults_are_refused(
    live_server, mux_emulator, uploaded, transactional_db, mongo_db
):
    """The same faults delivered by the emulator itself, over HTTP, to the live server."""
    mux_emulator.set_webhook_url(f"{live_server.url}/webhooks/mux")
    mux_emulator.webhook_faults(stale=1, wrong_secret=1)
    mux_emulator.emit_event("video.asset.warning", {"id": "a1"}, object_id="a1")
    mux_emulator.emit_event("video.asset.warning", {"id": "a2"}, object_id="a2")
    mux_emulator.flush_webhooks()
    faulty = [d for d in mux_emulator.deliveries() if d["fault"]]
    assert sorted((d["fault"], d["status"]) for d in faulty) == [("stale", 400), ("wrong_secret", 400)]
    assert WebhookEvent.objects.count() == 0


def test_rotated_secrets_any_configured_secret_verifies(api_client, mux_emulator, uploaded, settings):
    event = uploaded["events"]["video.asset.created"]
    old = mux_emulator.webhook_secret
    settings.MUX_WEBHOOK_SECRETS = ["the-new-secret-0123456789", old]
    # Mux still signs with the old secret; then with both (two v1 values); then with the new one only.
    assert mux_emulator.post_event(api_client, event, secrets=[old]).status_code == 200
    assert (
        mux_emulator.post_event(api_client, event, secrets=["the-new-secret-0123456789", old]).status_code
        == 200
    )
    assert (
        mux_emulator.post_event(api_client, event, secrets=["the-new-secret-0123456789"]).status_code == 200
    )
    # A secret that was rotated out no longer verifies.
    settings.MUX_WEBHOOK_SECRETS = ["the-new-secret-0123456789"]
    _rejected(mux_emulator.post_event(api_client, event, secrets=[old]))
    assert WebhookEvent.objects.count() == 1


def test_no_configured_secret_fails_closed(api_client, mux_emulator, uploaded, settings):
    settings.MUX_WEBHOOK_SECRETS = []
    _rejected(mux_emulator.post_event(api_client, uploaded["events"]["video.asset.ready"]))
    assert WebhookEvent.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"type": "video.asset.ready"}',
        b'{"id": "", "type": "x"}',
        b'{"id": "e1"}',
        b'{"id": "e1", "type": "x", "n": NaN}',
        b'{"id": "e1", "type": "x\\u0000"}',
    ],
)
def test_signed_but_malformed_bodies_are_400_and_not_stored(api_client, mux_emulator, body):
    response = _post_raw(api_client, body, mux_emulator.signature(body))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"
    assert WebhookEvent.objects.count() == 0


def test_get_is_not_allowed(api_client):
    response = api_client.get("/webhooks/mux")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_csrf_and_authentication_do_not_apply(mux_emulator, uploaded, client):
    """A plain Django client with CSRF checks on: the signature is the only authentication."""
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert mux_emulator.post_event(strict, uploaded["events"]["video.asset.created"]).status_code == 200


# --- duplicates, order, staleness, unknown types ------------------------------------------------


def test_duplicate_delivery_is_acknowledged_and_not_reprocessed(api_client, mux_emulator, uploaded, mongo_db):
    ready = uploaded["events"]["video.asset.ready"]
    answers = [mux_emulator.post_event(api_client, ready) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["duplicate"] for a in answers] == [False, True, True]
    row = WebhookEvent.objects.get()
    assert (row.event_id, row.status, row.attempts, row.outcome) == (ready["id"], "processed", 1, "applied")
    assert row.raw_body == ready["body"]
    assert row.payload == json.loads(ready["body"])
    video = video_of(mongo_db, uploaded["lesson"]["id"])
    assert video["status"] == "ready"
    assert video["rev"] == 2  # waiting_upload (1) → ready (2): applied exactly once


def test_ready_before_created_and_stale_errored_keep_ready(api_client, mux_emulator, uploaded, mongo_db):
    events = uploaded["events"]
    lesson_id = uploaded["lesson"]["id"]
    for name in ("video.asset.ready", "video.asset.created", "video.upload.asset_created"):
        assert mux_emulator.post_event(api_client, events[name]).status_code == 200
    video = video_of(mongo_db, lesson_id)
    assert video["status"] == "ready"
    assert video["asset_id"] == uploaded["asset"]["id"]
    assert video["duration"] == 42.0

    # An `errored` for the same asset whose created_at is older than the ready event changes nothing.
    ready_payload = json.loads(events["video.asset.ready"]["body"])
    stale = {
        **ready_payload,
        "id": "stale-errored-1",
        "type": "video.asset.errored",
        "created_at": "2001-01-01T00:00:00Z",
        "data": {**ready_payload["data"], "status": "errored", "errors": {"type": "x", "messages": ["late"]}},
    }
    body = json.dumps(stale).encode()
    assert _post_raw(api_client, body, mux_emulator.signature(body)).status_code == 200
    assert video_of(mongo_db, lesson_id) == video
    assert WebhookEvent.objects.get(event_id="stale-errored-1").outcome == "ignored_stale"
    assert (
        WebhookEvent.objects.filter(event_id=events["video.asset.created"]["id"]).get().outcome
        == "ignored_stale"
    )


@pytest.mark.parametrize(
    "created_at",
    [9_000_000_000, "9000000000", {"seconds": 9_000_000_000, "nanos": 5}, "2255-03-14T16:00:00Z"],
)
def test_every_created_at_form_orders_events(api_client, mux_emulator, uploaded, mongo_db, created_at):
    """A far-future `created_at` in each accepted form makes every real event after it stale."""
    events = uploaded["events"]
    created = json.loads(events["video.asset.created"]["body"])
    created.update(id=f"future-{type(created_at).__name__}", created_at=created_at)
    body = json.dumps(created).encode()
    assert _post_raw(api_client, body, mux_emulator.signature(body)).status_code == 200
    assert video_of(mongo_db, uploaded["lesson"]["id"])["status"] == "processing"
    assert mux_emulator.post_event(api_client, events["video.asset.ready"]).status_code == 200
    assert video_of(mongo_db, uploaded["lesson"]["id"])["status"] == "processing"
    assert WebhookEvent.objects.get(event_id=events["video.asset.ready"]["id"]).outcome == "ignored_stale"


def test_unknown_event_types_are_stored_and_acknowledged(api_client, mux_emulator, uploaded):
    # A real Mux type LearnStream has no use for (track events became handled with captions).
    mux_emulator.emit_event("video.live_stream.created", {"id": "live-1"}, object_type="live")
    event = mux_emulator.events("video.live_stream.created")[0]
    assert mux_emulator.post_event(api_client, event).status_code == 200
    row = WebhookEvent.objects.get()
    assert (row.type, row.status, row.outcome) == (
        "video.live_stream.created",
        "processed",
        "ignored_unhandled_type",
    )


def test_events_for_unknown_lessons_are_acknowledged(api_client, mux_emulator, uploaded, mongo_db):
    mongo_db.lessons.delete_many({})
    assert mux_emulator.post_event(api_client, uploaded["events"]["video.asset.ready"]).status_code == 200
    assert WebhookEvent.objects.get().outcome == "ignored_no_lesson"


def test_oversized_body_is_413_and_not_stored(api_client, mux_emulator, settings):
    body = b'{"id": "big", "type": "x", "pad": "' + b"a" * (1024 * 1024) + b'"}'
    response = _post_raw(api_client, body, mux_emulator.signature(body))
    assert response.status_code == 413
    assert WebhookEvent.objects.count() == 0


def test_an_absurd_timestamp_is_a_400_not_a_500(api_client):
    _rejected(_post_raw(api_client, b'{"id": "e", "type": "video.asset.ready"}', f"t={'9' * 400},v1=00"))
    assert WebhookEvent.objects.count() == 0

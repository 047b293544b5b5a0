"""The dashboard shows exhausted webhook events prominently (issue 10, item 13): failed events no
automatic retry will touch again, above every other block, linking to exactly those events."""

from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def _event(event_id: str, **fields: object) -> WebhookEvent:
    return WebhookEvent.objects.create(
        event_id=event_id, type="video.asset.ready", raw_body="{}", payload={}, **fields
    )


def test_exhausted_events_are_a_banner_linking_to_them(admin_web):
    _event("exhausted-1", status="failed", attempts=13)
    _event("exhausted-2", status="failed", attempts=1)  # unusable data: never retried
    _event("scheduled-1", status="failed", attempts=2, next_attempt_at=timezone.now() + timedelta(minutes=2))
    _event("pending-1", status="pending", next_attempt_at=timezone.now())
    _event(
        "running-1",
        status="failed",
        attempts=3,
        lease_token="6f1c7c1e-8d1e-4d0b-9a57-0d5d1c1b2a03",
        lease_expires_at=timezone.now() + timedelta(minutes=5),
    )

    response = admin_web.get("/admin/")

    assert response.status_code == 200
    exhausted = response.context["webhook_exhausted"]
    assert exhausted.count == 2
    html = response.content.decode()
    banner = html[html.index('id="ls-webhooks-exhausted"') :]
    assert html.index('id="ls-webhooks-exhausted"') < html.index('id="ls-webhooks-module"')
    assert '<a href="/admin/webhooks/webhookevent/?retry=exhausted">' in banner
    assert "2 Mux webhook events exhausted their automatic retries" in banner

    listed = admin_web.get("/admin/webhooks/webhookevent/?retry=exhausted")
    assert listed.status_code == 200
    shown = {e.event_id for e in listed.context["cl"].result_list}
    assert shown == {"exhausted-1", "exhausted-2"}
    scheduled = admin_web.get("/admin/webhooks/webhookevent/?retry=scheduled")
    assert {e.event_id for e in scheduled.context["cl"].result_list} == {"scheduled-1"}
    running = admin_web.get("/admin/webhooks/webhookevent/?retry=running")
    assert {e.event_id for e in running.context["cl"].result_list} == {"running-1"}


def test_no_banner_without_exhausted_events(admin_web):
    _event("scheduled-1", status="failed", attempts=2, next_attempt_at=timezone.now() + timedelta(minutes=2))
    _event("done-1", status="processed", attempts=1)

    response = admin_web.get("/admin/")

    assert response.context["webhook_exhausted"] is None
    assert 'id="ls-webhooks-exhausted"' not in response.content.decode()

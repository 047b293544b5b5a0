"""Stripe's events through POST /webhooks/stripe → the inbox → orders and enrollments. The events are the
emulator's own (exact bodies, Stripe's signature scheme); the test decides their order and duplicates."""

import time
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from typing import Any

import pytest
import stripe
from django.core.cache import cache
from django.utils import timezone

from catalog.models import Enrollment, EnrollmentStatus
from catalog.tests.helpers import assert_error
from catalog.tests.video.video_helpers import run_on_commit  # noqa: F401
from commerce.emulator import signature_header
from commerce.models import Order, OrderStatus
from commerce.tests.conftest import session_of
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


def heartbeat(client: Any, course: dict[str, Any]) -> int:
    lesson_id = course["lesson_ids"][0]
    response = client.put(f"/api/v1/lessons/{lesson_id}/progress", {"position": 5}, format="json")
    return int(response.status_code)


def buy(stripe_emulator: Any, api_client: Any, checkout: Any, user: Any, course: Any, **pay: Any) -> Order:
    """Checkout, pay on the emulator, deliver checkout.session.completed; returns the order."""
    order_id = checkout(user, course).json()["order_id"]
    stripe_emulator.pay(session_of(stripe_emulator, order_id)["id"], **pay)
    event = stripe_emulator.events("checkout.session.completed")[-1]
    assert order_id in event["payload"]
    response = stripe_emulator.post_event(api_client, event)
    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "duplicate": False}
    return Order.objects.get(pk=order_id)


def active_enrollments() -> list[tuple[int, str]]:
    return list(Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE).values_list("user_id", "course_id"))


def test_a_paid_checkout_enrolls_exactly_once(
    stripe_emulator, api_client, checkout, student, paid_course, client_for
):
    order = buy(stripe_emulator, api_client, checkout, student, paid_course)

    assert order.status == OrderStatus.PAID
    assert (order.paid_amount, order.paid_currency) == (4900, "usd")
    assert order.paid_at is not None
    assert order.stripe_payment_intent_id == stripe_emulator.state()["payment_intents"][0]["id"]
    assert active_enrollments() == [(student.id, paid_course["id"])]
    assert heartbeat(client_for(student), paid_course) == 200
    row = WebhookEvent.objects.get(type="checkout.session.completed")
    assert (row.source, row.status, row.outcome) == ("stripe", "processed", "paid")
    # Stripe's redelivery of the same event: acknowledged, not reprocessed.
    again = stripe_emulator.post_event(api_client, stripe_emulator.event("checkout.session.completed"))
    assert again.json() == {"received": True, "duplicate": True}
    assert WebhookEvent.objects.filter(type="checkout.session.completed").count() == 1
    assert active_enrollments() == [(student.id, paid_course["id"])]
    # The learner sees the order.
    mine = client_for(student).get("/api/v1/orders/").json()
    assert mine["count"] == 1
    assert mine["results"][0] == {
        "id": str(order.pk),
        "course_id": paid_course["id"],
        "course_title": "Paid course",
        "amount": 4900,
        "currency": "usd",
        "status": "paid",
        "created_at": mine["results"][0]["created_at"],
        "paid_at": mine["results"][0]["paid_at"],
    }
    assert mine["results"][0]["paid_at"] is not None
    # ... and enrolling again is the idempotent 200, not 402.
    assert client_for(student).post(f"/api/v1/courses/{paid_course['id']}/enroll").status_code == 200


def test_a_refund_revokes_access_at_once(
    stripe_emulator, api_client, checkout, student, paid_course, client_for, admin_user
):
    order = buy(stripe_emulator, api_client, checkout, student, paid_course)
    learner = client_for(student)
    assert heartbeat(learner, paid_course) == 200  # the enrollment answer is now cached

    response = client_for(admin_user).post(f"/api/v1/orders/{order.pk}/refund")

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "paid"  # until Stripe's event says otherwise
    refund = stripe_emulator.state()["refunds"]
    assert [(r["amount"], r["payment_intent"]) for r in refund] == [(4900, order.stripe_payment_intent_id)]
    assert stripe_emulator.post_event(api_client, stripe_emulator.event("charge.refunded")).status_code == 200
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 4900)
    assert active_enrollments() == []
    assert heartbeat(learner, paid_course) == 403
    # Asking again: 409, and still one refund at Stripe.
    assert_error(client_for(admin_user).post(f"/api/v1/orders/{order.pk}/refund"), 409)
    assert len(stripe_emulator.state()["refunds"]) == 1


def test_refund_before_completed_ends_refunded_without_access(
    stripe_emulator, api_client, checkout, student, paid_course
):
    order_id = checkout(student, paid_course).json()["order_id"]
    paid = stripe_emulator.pay(session_of(stripe_emulator, order_id)["id"])
    form = urllib.parse.urlencode({"payment_intent": paid["payment_intent"]}).encode()
    request = urllib.request.Request(f"{stripe_emulator.url}/v1/refunds", data=form, method="POST")  # noqa: S310
    request.add_header("Authorization", f"Bearer {stripe_emulator.api_key}")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200

    # Stripe delivers the refund first, then the payment.
    assert stripe_emulator.post_event(api_client, stripe_emulator.event("charge.refunded")).status_code == 200
    assert Order.objects.get(pk=order_id).status == OrderStatus.REFUNDED
    assert (
        stripe_emulator.post_event(
            api_client, stripe_emulator.event("checkout.session.completed")
        ).status_code
        == 200
    )

    order = Order.objects.get(pk=order_id)
    assert (order.status, order.refunded_amount) == (OrderStatus.REFUNDED, 4900)
    assert order.stripe_payment_intent_id == paid["payment_intent"]
    assert active_enrollments() == []
    assert WebhookEvent.objects.get(type="checkout.session.completed").outcome == "already_refunded"


def test_a_dispute_revokes_access(stripe_emulator, api_client, checkout, student, paid_course, client_for):
    order = buy(stripe_emulator, api_client, checkout, student, paid_course)
    assert heartbeat(client_for(student), paid_course) == 200

    stripe_emulator.dispute(order.stripe_payment_intent_id)
    assert (
        stripe_emulator.post_event(api_client, stripe_emulator.event("charge.dispute.created")).status_code
        == 200
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.DISPUTED
    assert active_enrollments() == []
    assert heartbeat(client_for(student), paid_course) == 403


def test_an_expired_session_expires_the_order_and_the_next_checkout_opens_a_new_one(
    stripe_emulator, api_client, checkout, student, paid_course
):
    order_id = checkout(student, paid_course).json()["order_id"]
    stripe_emulator.expire(session_of(stripe_emulator, order_id)["id"])

    assert (
        stripe_emulator.post_event(api_client, stripe_emulator.event("checkout.session.expired")).status_code
        == 200
    )

    assert Order.objects.get(pk=order_id).status == OrderStatus.EXPIRED
    assert active_enrollments() == []
    assert checkout(student, paid_course).json()["order_id"] != order_id
    assert Order.objects.filter(status=OrderStatus.PENDING).count() == 1


@pytest.mark.parametrize(
    ("pay", "reason"),
    [
        ({"amount": 100}, "Stripe charged 100 usd, the order is 4900 usd."),
        ({"currency": "eur"}, "Stripe charged 4900 eur, the order is 4900 usd."),
    ],
)
def test_an_amount_or_currency_mismatch_fails_the_order_and_enrolls_nobody(
    stripe_emulator, api_client, checkout, student, paid_course, pay, reason
):
    order = buy(stripe_emulator, api_client, checkout, student, paid_course, **pay)

    assert order.status == OrderStatus.FAILED
    assert order.failure_reason == reason
    assert active_enrollments() == []
    assert WebhookEvent.objects.get(type="checkout.session.completed").outcome == "amount_mismatch"


def _stripe_session_for(stripe_emulator: Any, *, metadata: dict[str, str]) -> str:
    client = stripe.StripeClient(stripe_emulator.api_key, base_addresses={"api": stripe_emulator.url})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "success_url": "https://elsewhere.example.com/ok",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "x"}},
                }
            ],
            "metadata": metadata,
        }
    )
    return str(session.id)


def test_an_event_for_an_unknown_order_is_kept_for_review(stripe_emulator, api_client):
    ghost = str(uuid.uuid4())
    stripe_emulator.pay(_stripe_session_for(stripe_emulator, metadata={"order_id": ghost}))

    response = stripe_emulator.post_event(api_client, stripe_emulator.event("checkout.session.completed"))

    assert response.status_code == 200
    row = WebhookEvent.objects.get(type="checkout.session.completed")
    assert (row.status, row.next_attempt_at) == ("failed", None)  # not retried: a human looks at it
    assert row.last_error == f"MalformedPayload: unknown order {ghost}"
    assert not Order.objects.exists()
    assert not Enrollment.objects.exists()


def test_a_session_of_another_integration_is_ignored(stripe_emulator, api_client):
    stripe_emulator.pay(_stripe_session_for(stripe_emulator, metadata={}))

    stripe_emulator.post_event(api_client, stripe_emulator.event("checkout.session.completed"))

    row = WebhookEvent.objects.get(type="checkout.session.completed")
    assert (row.status, row.outcome) == ("processed", "ignored_not_ours")
    assert not Enrollment.objects.exists()


def _completed(stripe_emulator: Any, checkout: Any, student: Any, course: Any) -> dict[str, Any]:
    order_id = checkout(student, course).json()["order_id"]
    stripe_emulator.pay(session_of(stripe_emulator, order_id)["id"])
    return stripe_emulator.event("checkout.session.completed")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "t=notanumber,v1=abc",
        "v1=" + "0" * 64,
    ],
)
def test_missing_or_malformed_signatures_are_400_and_store_nothing(
    stripe_emulator, api_client, checkout, student, paid_course, header
):
    event = _completed(stripe_emulator, checkout, student, paid_course)
    kwargs = {} if header is None else {"HTTP_STRIPE_SIGNATURE": header}

    response = api_client.post(
        "/webhooks/stripe", data=event["payload"].encode(), content_type="application/json", **kwargs
    )

    assert_error(response, 400, "invalid_signature")
    assert not WebhookEvent.objects.exists()
    assert Order.objects.get().status == OrderStatus.PENDING


@pytest.mark.parametrize(
    ("secret", "age"),
    [
        ("whsec_forged_by_someone_else_000000", 0),  # wrong secret
        (None, 301),  # stale: outside the 300 s tolerance
        (None, -400),  # far future
    ],
)
def test_forged_and_stale_signatures_are_400_and_store_nothing(
    stripe_emulator, api_client, checkout, student, paid_course, secret, age
):
    event = _completed(stripe_emulator, checkout, student, paid_course)
    header = signature_header(
        secrets=[secret or stripe_emulator.webhook_secret],
        payload=event["payload"],
        timestamp=int(time.time()) - age,
    )

    assert_error(stripe_emulator.post_event(api_client, event, signature=header), 400, "invalid_signature")

    assert not WebhookEvent.objects.exists()
    assert not Enrollment.objects.exists()


def test_a_tampered_body_does_not_verify(stripe_emulator, api_client, checkout, student, paid_course):
    event = _completed(stripe_emulator, checkout, student, paid_course)
    tampered = dict(event, payload=event["payload"].replace('"amount_total": 4900', '"amount_total": 1'))
    assert tampered["payload"] != event["payload"]

    assert_error(stripe_emulator.post_event(api_client, tampered, signature=event["signature"]), 400)
    assert not WebhookEvent.objects.exists()


def test_any_of_several_secrets_verifies_during_rotation(
    stripe_emulator, api_client, checkout, student, paid_course, settings
):
    settings.STRIPE_WEBHOOK_SECRETS = ["whsec_the_new_one_0123456789", stripe_emulator.webhook_secret]
    event = _completed(stripe_emulator, checkout, student, paid_course)

    assert stripe_emulator.post_event(api_client, event).status_code == 200
    assert Order.objects.get().status == OrderStatus.PAID


def test_no_configured_secret_fails_closed(
    stripe_emulator, api_client, checkout, student, paid_course, settings
):
    settings.STRIPE_WEBHOOK_SECRETS = []
    event = _completed(stripe_emulator, checkout, student, paid_course)

    assert_error(stripe_emulator.post_event(api_client, event), 400, "invalid_signature")
    assert not WebhookEvent.objects.exists()


def test_mux_and_stripe_share_the_inbox_with_ids_unique_per_provider(
    stripe_emulator, api_client, checkout, student, paid_course
):
    from webhooks.services import webhook_event_receive

    event = _completed(stripe_emulator, checkout, student, paid_course)
    stripe_emulator.post_event(api_client, event)
    # A Mux event that happens to carry the same id is a different event.
    _row, created = webhook_event_receive(
        raw_body=b"{}", payload={"id": event["id"], "type": "video.asset.ready"}
    )

    assert created is True
    assert sorted(WebhookEvent.objects.values_list("source", flat=True)) == ["mux", "stripe"]


def test_a_paid_enrollment_follows_the_courses_access_days(
    stripe_emulator, api_client, checkout, student, instructor, paid_course, client_for
):
    patched = client_for(instructor).patch(
        f"/api/v1/courses/{paid_course['id']}", {"access_days": 30}, format="json"
    )
    assert patched.status_code == 200, patched.content

    first = buy(stripe_emulator, api_client, checkout, student, paid_course)

    enrollment = Enrollment.objects.get(user=student, course_id=paid_course["id"])
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.expires_at == enrollment.created_at + timedelta(days=30)
    assert first.paid_at is not None
    assert abs((enrollment.created_at - first.paid_at).total_seconds()) < 5
    assert heartbeat(client_for(student), paid_course) == 200

    # The period runs out: heartbeats are refused, and the learner may buy a new period.
    ended = timezone.now() - timedelta(seconds=1)
    Enrollment.objects.filter(pk=enrollment.pk).update(
        created_at=ended - timedelta(days=30), expires_at=ended
    )
    cache.clear()
    assert heartbeat(client_for(student), paid_course) == 403

    second = buy(stripe_emulator, api_client, checkout, student, paid_course)

    assert second.pk != first.pk
    assert second.status == OrderStatus.PAID
    renewed = Enrollment.objects.get(user=student, course_id=paid_course["id"])
    assert renewed.pk == enrollment.pk
    assert renewed.created_at > ended
    assert renewed.expires_at == renewed.created_at + timedelta(days=30)
    assert heartbeat(client_for(student), paid_course) == 200


@pytest.mark.parametrize("policy", ["invite_only", "full", "closed"])
def test_checkout_refuses_what_self_enrollment_would_refuse(
    policy, stripe_emulator, checkout, student, other_student, instructor, paid_course, client_for
):
    changes: dict[str, Any] = {
        "invite_only": {"enrollment": "invite_only"},
        "full": {"capacity": 1},
        "closed": {"enrollment_closes_at": (timezone.now() - timedelta(days=1)).isoformat()},
    }[policy]
    if policy == "full":
        Enrollment.objects.create(user=other_student, course_id=paid_course["id"])
    patched = client_for(instructor).patch(f"/api/v1/courses/{paid_course['id']}", changes, format="json")
    assert patched.status_code == 200, patched.content

    status, code = {
        "invite_only": (403, "invite_only"),
        "full": (409, "course_full"),
        "closed": (409, "enrollment_closed"),
    }[policy]
    assert_error(checkout(student, paid_course), status, code)
    assert not Order.objects.exists()
    assert stripe_emulator.requests() == []

"""Commerce under faults, on the real stores: concurrent duplicate deliveries, and PostgreSQL down while
Stripe delivers."""

import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from catalog.models import Enrollment
from commerce.emulator import signature_header
from commerce.models import Order, OrderStatus
from commerce.tests.conftest import session_of
from tests.support.stripe import WEBHOOK_ATTEMPTS
from webhooks.models import WebhookEvent
from webhooks.tests.test_webhook_outage import postgres_refusing_connections

CONCURRENCY = 20


def _post_concurrently(bodies: list[tuple[bytes, str]]) -> list[tuple[int, Any]]:
    """POST each (body, signature) from its own thread and connection, all released at once."""
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, Any]] = [(0, None)] * len(bodies)

    def run(index: int, body: bytes, signature: str) -> None:
        try:
            barrier.wait(timeout=30)
            response = Client().post(
                "/webhooks/stripe",
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature,
            )
            results[index] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, b, s)) for i, (b, s) in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _paid_session_event(
    stripe_emulator: Any, checkout: Any, student: Any, course: Any
) -> tuple[str, dict[str, Any]]:
    order_id = checkout(student, course).json()["order_id"]
    stripe_emulator.pay(session_of(stripe_emulator, order_id)["id"])
    return order_id, stripe_emulator.event("checkout.session.completed")


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_deliveries_of_one_event_make_one_paid_order_and_one_enrollment(
    stripe_emulator, checkout, student, paid_course
):
    order_id, event = _paid_session_event(stripe_emulator, checkout, student, paid_course)

    results = _post_concurrently([(event["payload"].encode(), event["signature"])] * CONCURRENCY)

    assert [status for status, _ in results] == [200] * CONCURRENCY
    assert sorted(body["duplicate"] for _, body in results) == [False] + [True] * (CONCURRENCY - 1)
    assert WebhookEvent.objects.filter(source="stripe").count() == 1
    assert WebhookEvent.objects.get().outcome == "paid"
    order = Order.objects.get()
    assert (str(order.pk), order.status) == (order_id, OrderStatus.PAID)
    assert list(Enrollment.objects.values_list("user_id", "course_id", "status")) == [
        (student.id, paid_course["id"], "active")
    ]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_events_for_one_session_enroll_once(
    stripe_emulator, checkout, student, paid_course
):
    """Distinct event ids about the same payment (e.g. completed and async_payment_succeeded, or a
    resend): the order lock, not the inbox, makes them one payment."""
    order_id, event = _paid_session_event(stripe_emulator, checkout, student, paid_course)
    bodies = []
    for n in range(CONCURRENCY):
        payload = json.loads(event["payload"])
        payload["id"] = f"{payload['id']}_{n}"
        raw = json.dumps(payload)
        bodies.append((raw.encode(), signature_header(secrets=[stripe_emulator.webhook_secret], payload=raw)))

    results = _post_concurrently(bodies)

    assert [status for status, _ in results] == [200] * CONCURRENCY
    assert WebhookEvent.objects.count() == CONCURRENCY
    outcomes = sorted(WebhookEvent.objects.values_list("outcome", flat=True))
    assert outcomes == ["already_paid"] * (CONCURRENCY - 1) + ["paid"]
    assert Order.objects.get(pk=order_id).status == OrderStatus.PAID
    assert Enrollment.objects.filter(user=student, course_id=paid_course["id"], status="active").count() == 1


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_postgres_down_during_delivery_is_503_and_redelivery_stores_once(
    live_server, stripe_emulator, checkout, student, paid_course
):
    order_id = checkout(student, paid_course).json()["order_id"]
    stripe_emulator.set_webhook_url(f"{live_server.url}/webhooks/stripe")
    try:
        with postgres_refusing_connections():
            stripe_emulator.pay(session_of(stripe_emulator, order_id)["id"])
            events = stripe_emulator.events()
            assert len(events) == 3  # charge.succeeded, payment_intent.succeeded, checkout.session.completed
            deliveries = stripe_emulator.wait_for_deliveries(len(events) * WEBHOOK_ATTEMPTS)
            assert len(deliveries) == len(events) * WEBHOOK_ATTEMPTS
            assert {d["status"] for d in deliveries} == {503}  # every attempt: never acknowledged

        assert WebhookEvent.objects.count() == 0
        assert Order.objects.get(pk=order_id).status == OrderStatus.PENDING
        # Stripe keeps retrying; twice for good measure (the duplicate must be absorbed too).
        for _ in range(2):
            assert all(stripe_emulator.redeliver(e["id"]) for e in events)
    finally:
        stripe_emulator.set_webhook_url(None)

    assert sorted(WebhookEvent.objects.values_list("event_id", flat=True)) == sorted(e["id"] for e in events)
    assert set(WebhookEvent.objects.values_list("status", "attempts").distinct()) == {("processed", 1)}
    assert Order.objects.get(pk=order_id).status == OrderStatus.PAID
    assert Enrollment.objects.filter(user=student, course_id=paid_course["id"], status="active").count() == 1

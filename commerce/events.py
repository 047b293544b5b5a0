"""What Stripe's events do to orders and enrollments (run by the webhook inbox, in the background).

Duplicate- and order-safe: each handler locks the order row (SELECT ... FOR UPDATE), so concurrent
deliveries serialise, and only moves it forward: `pending` → `paid` | `expired` | `failed`;
`paid` → `refunded` | `disputed`. A refund or dispute that arrives before the payment leaves the order
`refunded`/`disputed`, and the late `checkout.session.completed` then grants nothing. The amount and
currency come from Stripe's event, never from the client; a mismatch with the order fails it.
"""

import logging
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from catalog.services import enrollment_grant, enrollment_revoke
from commerce import stripe_api
from commerce.models import Order, OrderStatus

logger = logging.getLogger(__name__)

# States a payment can no longer move the order out of (a refund or dispute may still come later).
SETTLED = frozenset({OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.DISPUTED, OrderStatus.FAILED})


class MalformedEvent(Exception):
    """Signed by Stripe but unusable, or about an order LearnStream does not have: kept for review."""


def _object(payload: Mapping[str, Any]) -> dict[str, Any]:
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, dict):
        raise MalformedEvent("event has no data.object")
    return obj


def _order_id(value: Any) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise MalformedEvent(f"order id {str(value)[:64]!r} is not ours") from None


def _locked(order_id: UUID) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise MalformedEvent(f"unknown order {order_id}")
    return order


def stripe_event_handle(*, payload: Mapping[str, Any]) -> str:
    """Apply one Stripe event; returns the outcome (for logs and the inbox admin)."""
    event_type = str(payload.get("type") or "")
    handler = HANDLERS.get(event_type)
    if handler is None:
        return "ignored_unhandled_type"
    return handler(_object(payload))


def _session_completed(session: dict[str, Any]) -> str:
    metadata = session.get("metadata") or {}
    raw_id = metadata.get("order_id") if isinstance(metadata, dict) else None
    raw_id = raw_id or session.get("client_reference_id")
    if not raw_id:
        return "ignored_not_ours"  # another integration's session on the same Stripe account
    if session.get("payment_status") != "paid":
        return "ignored_unpaid"  # delayed methods: checkout.session.async_payment_succeeded follows
    amount, currency = session.get("amount_total"), session.get("currency")
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
        raise MalformedEvent("session without amount_total/currency")
    intent = session.get("payment_intent")
    intent_id = intent if isinstance(intent, str) else None
    with transaction.atomic():
        order = _locked(_order_id(raw_id))
        if intent_id and not order.stripe_payment_intent_id:
            order.stripe_payment_intent_id = intent_id
        if order.status in SETTLED:
            order.save(update_fields=["stripe_payment_intent_id", "updated_at"])
            return f"already_{order.status}"
        order.paid_amount, order.paid_currency = amount, currency.lower()
        if amount != order.amount or currency.lower() != order.currency:
            order.status = OrderStatus.FAILED
            order.failure_reason = (
                f"Stripe charged {amount} {currency.lower()}, the order is {order.amount} {order.currency}."
            )
            order.save()
            logger.warning("order %s: amount mismatch (%s)", order.pk, order.failure_reason)
            return "amount_mismatch"
        order.status, order.paid_at = OrderStatus.PAID, timezone.now()
        order.save()
        if order.user_id is not None:
            enrollment_grant(user_id=order.user_id, course_id=order.course_id)
    return "paid"


def _session_expired(session: dict[str, Any]) -> str:
    metadata = session.get("metadata") or {}
    raw_id = (metadata.get("order_id") if isinstance(metadata, dict) else None) or session.get(
        "client_reference_id"
    )
    if not raw_id:
        return "ignored_not_ours"
    with transaction.atomic():
        order = _locked(_order_id(raw_id))
        # A learner who came back got a newer session for the same order: the old one expiring ends
        # nothing.
        if order.status != OrderStatus.PENDING or order.stripe_session_id not in (None, session.get("id")):
            return "ignored_stale_session"
        order.status = OrderStatus.EXPIRED
        order.save()
    return "expired"


def _order_for_intent(intent_id: Any) -> UUID:
    """The order a PaymentIntent paid: ours by id once the payment was recorded, else from the intent's
    metadata at Stripe (a refund or dispute can arrive before `checkout.session.completed`)."""
    if not isinstance(intent_id, str) or not intent_id:
        raise MalformedEvent("event without payment_intent")
    known = Order.objects.filter(stripe_payment_intent_id=intent_id).values_list("pk", flat=True).first()
    if known is not None:
        return known
    order_id = stripe_api.payment_intent_order_id(payment_intent_id=intent_id)
    if order_id is None:
        raise MalformedEvent(f"payment intent {intent_id[:64]} belongs to no order")
    return _order_id(order_id)


def _end_access(order: Order, status: OrderStatus) -> None:
    order.status = status
    order.save()
    if order.user_id is not None:
        enrollment_revoke(user_id=order.user_id, course_id=order.course_id)


def _charge_refunded(charge: dict[str, Any]) -> str:
    intent_id = charge.get("payment_intent")
    order_id = _order_for_intent(intent_id)
    refunded, amount = charge.get("amount_refunded"), charge.get("amount")
    if not isinstance(refunded, int) or not isinstance(amount, int):
        raise MalformedEvent("charge without amount/amount_refunded")
    with transaction.atomic():
        order = _locked(order_id)
        if not order.stripe_payment_intent_id:
            order.stripe_payment_intent_id = str(intent_id)
        # Refund events may arrive out of order: the refunded total only grows.
        order.refunded_amount = max(order.refunded_amount, refunded)
        if not (charge.get("refunded") is True or refunded >= amount):
            order.save()
            return "partially_refunded"
        if order.status == OrderStatus.REFUNDED:
            order.save()
            return "already_refunded"
        _end_access(order, OrderStatus.REFUNDED)
    return "refunded"


def _dispute_created(dispute: dict[str, Any]) -> str:
    intent_id = dispute.get("payment_intent")
    order_id = _order_for_intent(intent_id)
    with transaction.atomic():
        order = _locked(order_id)
        if not order.stripe_payment_intent_id:
            order.stripe_payment_intent_id = str(intent_id)
        if order.status in (OrderStatus.REFUNDED, OrderStatus.DISPUTED):
            order.save()
            return f"already_{order.status}"
        _end_access(order, OrderStatus.DISPUTED)
    return "disputed"


HANDLERS = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_completed,
    "checkout.session.expired": _session_expired,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
}

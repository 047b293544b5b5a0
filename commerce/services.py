"""Selling courses: checkout (an order in PostgreSQL + a Stripe Checkout Session) and refunds.

Stripe is called outside any transaction (a slow Stripe must not hold a row lock or a connection in a
transaction), and nothing is granted here: access follows only from Stripe's signed events
(`commerce/events.py`), so a failed or slow checkout leaves at most a pending order, which the next
checkout of the same learner and course reuses.
"""

import hashlib
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog import access
from catalog.models import Enrollment, EnrollmentStatus
from catalog.selectors.courses import course_get
from catalog.services.enrollments import purchase_check, require_prerequisites
from commerce import stripe_api
from commerce.models import Order, OrderStatus
from learnstream.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from learnstream.permissions import Actor


class EmailNotVerified(PermissionDenied):
    code = "email_not_verified"
    default_message = "Verify your email address before buying a course."


def _origin(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute http(s) URL without credentials, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{suffix}"


def allowed_redirect_origins() -> set[str]:
    return {o for o in (_origin(raw.strip()) for raw in settings.CHECKOUT_REDIRECT_ORIGINS) if o}


def redirect_urls_validate(*, success_url: str, cancel_url: str) -> None:
    """Both URLs must be on an allowed origin exactly (scheme, host, port): no open redirect."""
    allowed = allowed_redirect_origins()
    errors = {
        name: ["Must start with an allowed origin (CHECKOUT_REDIRECT_ORIGINS)."]
        for name, url in (("success_url", success_url), ("cancel_url", cancel_url))
        if _origin(url) not in allowed
    }
    if errors:
        raise ValidationFailed("A redirect URL is not allowed.", details=errors)


def _pending_order(*, user_id: int, course_id: str, title: str, amount: int, currency: str) -> Order:
    """The learner's open order for the course, or a new one at today's price. The partial unique
    constraint makes concurrent checkouts converge on one row."""
    found = Order.objects.filter(user_id=user_id, course_id=course_id, status=OrderStatus.PENDING).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Order.objects.create(
                user_id=user_id,
                course_id=course_id,
                course_title=title[:200],
                amount=amount,
                currency=currency,
            )
    except IntegrityError:
        found = Order.objects.filter(user_id=user_id, course_id=course_id, status=OrderStatus.PENDING).first()
        if found is None:
            raise Conflict("The order could not be opened; retry.") from None
        return found


def checkout_start(*, actor: Actor, course_id: str, success_url: str, cancel_url: str) -> Order:
    """Open (or reuse) the learner's order and a Stripe Checkout Session for it; the order carries the
    session's URL. Already enrolled, free or unpublished course → 409."""
    if actor.id is None:
        raise PermissionDenied()
    user = get_user_model().objects.filter(pk=actor.id, is_active=True).first()
    if user is None:
        raise PermissionDenied()
    redirect_urls_validate(success_url=success_url, cancel_url=cancel_url)
    course = course_get(course_id=course_id)
    access.require_visible(actor, access.CourseRef.of(course) if course else None)
    assert course is not None  # require_visible raised otherwise
    if course["status"] != "published":
        raise Conflict("Only published courses can be bought.", details={"status": [course["status"]]})
    price = course["price"]
    if price is None:
        raise Conflict("This course is free: enroll directly.", details={"price": [None]})
    now = timezone.now()
    if (
        Enrollment.objects.filter(user_id=actor.id, course_id=course_id, status=EnrollmentStatus.ACTIVE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .exists()
    ):  # an expired access period may be bought again
        raise Conflict("You are already enrolled in this course.", details={"enrolled": [True]})
    if not user.email_verified:
        # Stripe's receipt and any refund notice go to this address: it must be the learner's own.
        raise EmailNotVerified()
    if course["prerequisites"]:
        # Nobody pays for a course they may not enter yet (the paid grant itself skips the rule).
        require_prerequisites(user_id=actor.id, course=course)
    purchase_check(course=course, at=now)
    # A reused order keeps the price it was opened with, even if the course's price changed since.
    order = _pending_order(
        user_id=actor.id,
        course_id=course_id,
        title=course["title"],
        amount=price["amount"],
        currency=price["currency"],
    )
    # One idempotency key per order (and redirect pair): a retried or repeated checkout gets the same
    # session back from Stripe instead of a second one.
    urls = hashlib.sha256(f"{success_url}\n{cancel_url}".encode()).hexdigest()[:16]
    session = stripe_api.checkout_session_create(
        order_id=str(order.pk),
        amount=order.amount,
        currency=order.currency,
        product_name=order.course_title,
        success_url=success_url,
        cancel_url=cancel_url,
        customer_email=user.email,
        idempotency_key=f"checkout:{order.pk}:{urls}",
    )
    Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
        stripe_session_id=session.id, checkout_url=session.url, updated_at=timezone.now()
    )
    order.stripe_session_id, order.checkout_url = session.id, session.url
    return order


def order_refund(*, order_id: UUID) -> Order:
    """Ask Stripe to refund a paid order in full (admin). The order becomes `refunded`, and access ends,
    when Stripe's `charge.refunded` event arrives; asking twice is one refund (idempotency key)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound()
    if order.status != OrderStatus.PAID or not order.stripe_payment_intent_id:
        raise Conflict("Only paid orders can be refunded.", details={"status": [order.status]})
    stripe_api.refund_create(
        payment_intent_id=order.stripe_payment_intent_id,
        order_id=str(order.pk),
        idempotency_key=f"refund:{order.pk}",
    )
    Order.objects.filter(pk=order.pk).update(refund_requested_at=timezone.now())
    order.refresh_from_db()
    return order

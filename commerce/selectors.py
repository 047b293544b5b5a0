"""Order reads: the learner's own orders, everything for admins, and a course's revenue."""

from uuid import UUID

from django.db.models import F, QuerySet, Sum

from commerce.models import Order, OrderStatus
from learnstream.errors import NotFound
from learnstream.permissions import Actor


def orders_visible(
    *, actor: Actor, user_id: int | None = None, course_id: str | None = None, status: str | None = None
) -> QuerySet[Order]:
    """Mine; admins all, narrowed by `user_id`, `course_id`, `status` (filters a learner may not widen)."""
    if actor.id is None:
        return Order.objects.none()
    orders = Order.objects.all() if actor.is_admin else Order.objects.filter(user_id=actor.id)
    if actor.is_admin and user_id is not None:
        orders = orders.filter(user_id=user_id)
    if course_id is not None:
        orders = orders.filter(course_id=course_id)
    if status is not None:
        orders = orders.filter(status=status)
    return orders.order_by("-created_at", "-id")


def order_get(*, actor: Actor, order_id: str) -> Order:
    """The order, for its owner or an admin; anything else (someone else's, malformed id) → 404."""
    try:
        pk = UUID(order_id)
    except ValueError:
        raise NotFound() from None
    order = Order.objects.filter(pk=pk).first()
    if order is None or not (actor.is_admin or (actor.id is not None and order.user_id == actor.id)):
        raise NotFound()
    return order


def course_revenue(course_id: str) -> dict[str, int]:
    """What the course took, per currency, net of refunds: paid orders minus their partial refunds.
    Refunded orders net to zero; disputed ones count nothing (Stripe withdrew the funds)."""
    rows = (
        Order.objects.filter(course_id=course_id, status=OrderStatus.PAID, paid_amount__isnull=False)
        .values("paid_currency")
        .annotate(net=Sum(F("paid_amount") - F("refunded_amount")))
        .order_by("paid_currency")
    )
    return {row["paid_currency"]: int(row["net"] or 0) for row in rows}

"""Orders (PostgreSQL). An order is one learner buying one course at the price of the moment it was
opened; Stripe's events move it forward. Money is in minor units with an ISO currency, as Stripe counts."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    REFUNDED = "refunded", "Refunded"
    DISPUTED = "disputed", "Disputed"
    EXPIRED = "expired", "Expired"
    FAILED = "failed", "Failed"


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # SET_NULL: an order is an accounting record and outlives the account that placed it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="orders"
    )
    course_id = models.CharField(max_length=24)
    course_title = models.CharField(max_length=200, help_text="The course's title when the order was opened.")
    amount = models.PositiveIntegerField(help_text="Price in minor units when the order was opened.")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    failure_reason = models.CharField(max_length=255, blank=True, default="")
    stripe_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    checkout_url = models.TextField(blank=True, default="")
    stripe_payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # What Stripe reports it charged (never what the client said) and how much it refunded.
    paid_amount = models.PositiveIntegerField(null=True, blank=True)
    paid_currency = models.CharField(max_length=3, blank=True, default="")
    refunded_amount = models.PositiveIntegerField(default=0)
    refund_requested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one open order per learner and course, also under concurrent checkouts.
            models.UniqueConstraint(
                fields=["user", "course_id"],
                condition=Q(status="pending"),
                name="order_one_pending_per_learner_course",
            ),
        ]
        indexes = [
            models.Index(fields=["course_id", "status"], name="order_course_status"),
            models.Index(fields=["user", "created_at"], name="order_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.course_title} {self.amount} {self.currency} ({self.status})"

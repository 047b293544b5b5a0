"""The durable webhook inbox: one row per (provider, event id), committed before the provider gets its 2xx.
One inbox for every provider (Mux, Stripe): storing, retries, leases, replay and the admin are shared."""

from django.db import models


class WebhookEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"


class WebhookSource(models.TextChoices):
    MUX = "mux", "Mux"
    STRIPE = "stripe", "Stripe"


class WebhookEvent(models.Model):
    source = models.CharField(max_length=16, choices=WebhookSource.choices, default=WebhookSource.MUX)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=255, db_index=True)
    # The raw body exactly as signed (for audits and replays) and its parsed form (for processing).
    raw_body = models.TextField()
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=WebhookEventStatus.choices, default=WebhookEventStatus.PENDING
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    outcome = models.CharField(max_length=64, blank=True, default="")  # what processing did, for the admin
    # Null once processed, or after the last automatic retry (then only a manual reprocess re-drives it).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim on the event while it processes it outside any transaction: only the holder of
    # the token may record the outcome, and a crashed worker's claim lapses at the expiry.
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx")]
        constraints = [
            # Event ids are unique per provider only; a redelivery is the same row. event_id first: the
            # replay command looks events up by id alone.
            models.UniqueConstraint(fields=["event_id", "source"], name="webhook_event_source_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"

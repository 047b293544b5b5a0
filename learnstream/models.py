"""Plumbing's own rows: the outgoing-mail outbox (learnstream/mail.py)."""

from django.db import models


class OutgoingMailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutgoingMail(models.Model):
    """One message to deliver, rendered when it was requested; committed with the request's writes.

    The bodies may hold a one-time link, so they are blanked once the message is sent; only the
    envelope (recipient, subject, template, outcome) stays for the admin.
    """

    to = models.EmailField(max_length=254)
    template = models.CharField(max_length=100)
    subject = models.CharField(max_length=255)
    text_body = models.TextField(blank=True, default="")
    html_body = models.TextField(blank=True, default="")
    status = models.CharField(
        max_length=16, choices=OutgoingMailStatus.choices, default=OutgoingMailStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # Null once sent, or after the last automatic retry (learnstream.leases has the rule).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outgoing_mail_due_idx")]
        verbose_name = "outgoing mail"
        verbose_name_plural = "outgoing mail"

    def __str__(self) -> str:
        return f"{self.template} to {self.to}"

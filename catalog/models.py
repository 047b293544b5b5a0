"""PostgreSQL side of the catalog: enrollments and certificates (courses and lessons live in MongoDB).

`course_id` is the course's ObjectId as a 24-hex string. Courses are archived, never deleted, so an
enrollment never dangles.
"""

import secrets
import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class Enrollment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    course_id = models.CharField(max_length=24, db_index=True)
    status = models.CharField(
        max_length=16, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # When access ends (the course's `access_days` after the enrollment started; null = never). Fixed at
    # the start: a later `access_days` change applies to new enrollments only (catalog/policy.py).
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not the application, guarantees one row per (user, course) under concurrency.
            models.UniqueConstraint(fields=["user", "course_id"], name="enrollment_user_course_unique"),
        ]
        indexes = [models.Index(fields=["course_id", "status"], name="enrollment_course_status")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.course_id} ({self.status})"

    def is_expired(self, *, at: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (at or timezone.now())


def certificate_code() -> str:
    """128 random bits, URL-safe: the code is the only key to a certificate's public page."""
    return secrets.token_urlsafe(16)


class Certificate(models.Model):
    """Issued once per (learner, course) when the learner has completed every lesson. The names and
    title are kept as they were at issue time: a certificate does not change when a course is renamed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=32, unique=True, default=certificate_code, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certificates")
    course_id = models.CharField(max_length=24, db_index=True)
    course_title = models.CharField(max_length=200)
    learner_name = models.CharField(max_length=150)
    instructor_name = models.CharField(max_length=150)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            # Exactly once, also when two last lessons complete at the same moment.
            models.UniqueConstraint(fields=["user", "course_id"], name="certificate_user_course_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.learner_name} — {self.course_title} ({self.code})"


class Invitation(models.Model):
    """An invitation to a course for an email without an account (staff enrollment).

    Only the SHA-256 digest of the mailed token is stored (`accounts.onetime.token_new`). One row per
    (course, email): inviting again replaces the token and the expiry. Accepted rows stay, with who
    accepted and when, as the record of how the learner came in.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course_id = models.CharField(max_length=24)
    email = models.EmailField(max_length=254, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["course_id", "email"], name="invitation_course_email_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.course_id}"

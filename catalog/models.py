"""PostgreSQL side of the catalog: enrollments (courses and lessons live in MongoDB).

`course_id` is the course's ObjectId as a 24-hex string. Courses are archived, never deleted, so an
enrollment never dangles.
"""

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

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not the application, guarantees one row per (user, course) under concurrency.
            models.UniqueConstraint(fields=["user", "course_id"], name="enrollment_user_course_unique"),
        ]
        indexes = [models.Index(fields=["course_id", "status"], name="enrollment_course_status")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.course_id} ({self.status})"

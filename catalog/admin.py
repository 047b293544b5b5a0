"""Admin registrations of the catalog app (its MongoDB pages are catalog/admin_views.py)."""

from django.contrib import admin

from catalog import admin_enrollments  # noqa: F401  (registers EnrollmentAdmin)
from catalog.models import Certificate
from learnstream.admin import ReadOnlyAdminMixin


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Issued by the progress service only (exactly once per learner and course); read-only here."""

    list_display = ("code", "learner_name", "course_title", "instructor_name", "issued_at")
    search_fields = ("=code", "learner_name", "course_title", "=course_id")
    list_select_related = False
    ordering = ("-issued_at",)
    readonly_fields = ("id", "code", "user", "course_id", "course_title", "learner_name", "instructor_name",
                       "issued_at")  # fmt: skip

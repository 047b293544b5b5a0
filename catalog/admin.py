"""Admin registrations of the catalog app (its MongoDB pages are catalog/admin_views.py)."""

from catalog import admin_enrollments  # noqa: F401  (registers EnrollmentAdmin)

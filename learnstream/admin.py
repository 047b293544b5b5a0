"""Admin pieces shared by several apps."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from learnstream.models import OutgoingMail


class ReadOnlyAdminMixin:
    """For rows that only the application writes (through its services), never an admin form."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutgoingMail)
# Read-only: written by learnstream.mail only. Sent messages keep their envelope, not their bodies.
class OutgoingMailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "to", "template", "status", "attempts", "sent_at", "next_attempt_at")
    list_filter = ("status", "template")
    search_fields = ("to",)
    readonly_fields = (
        "to",
        "template",
        "subject",
        "status",
        "attempts",
        "created_at",
        "sent_at",
        "next_attempt_at",
        "last_error",
    )
    fields = readonly_fields

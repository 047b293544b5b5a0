"""Admin pieces shared by several apps."""

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For rows that only the application writes (through its services), never an admin form."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

"""Permission classes shared by several apps. Default deny: IsAuthenticated is the global default."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


def _role(request: Request) -> str | None:
    user = request.user
    if not user or not user.is_authenticated:
        return None
    return getattr(user, "role", None)


class IsAdminRole(BasePermission):
    message = "Only administrators can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _role(request) == "admin"


class IsInstructorOrAdmin(BasePermission):
    message = "Only instructors and administrators can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _role(request) in {"instructor", "admin"}

"""Role checks and permission classes shared by several apps. Default deny: IsAuthenticated is global.

`user` may be a full `User`, the lightweight JWT token user or `AnonymousUser`: only `.role` and
`.is_authenticated` are read, so none of these checks touches PostgreSQL.
"""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

AUTHOR_ROLES = frozenset({"instructor", "admin"})


def user_role(user: Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    role = getattr(user, "role", None)
    return str(role) if role is not None else None


def is_admin(user: Any) -> bool:
    return user_role(user) == "admin"


def can_author(user: Any) -> bool:
    """Instructors and admins may author courses."""
    return user_role(user) in AUTHOR_ROLES


class IsAdminRole(BasePermission):
    message = "Only administrators can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_admin(request.user)


class IsInstructorOrAdmin(BasePermission):
    message = "Only instructors and administrators can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_author(request.user)

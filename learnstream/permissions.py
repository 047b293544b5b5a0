"""Who is calling, as one typed value, plus the role-based permission classes shared by several apps.

`request.user` may be a full `User`, the lightweight JWT token user or `AnonymousUser`. Everything that
decides access first turns it into an `Actor` (id, role, is_authenticated), so no check reads anything
else from a user object and none of them touches PostgreSQL. Default deny: IsAuthenticated is global.
"""

from dataclasses import dataclass
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

ROLE_ADMIN = "admin"
ROLE_INSTRUCTOR = "instructor"
AUTHOR_ROLES = frozenset({ROLE_INSTRUCTOR, ROLE_ADMIN})


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller as access rules see it. Anonymous callers have neither id nor role."""

    id: int | None
    role: str | None

    @property
    def is_authenticated(self) -> bool:
        return self.id is not None

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def can_author(self) -> bool:
        """Instructors and admins may author courses."""
        return self.role in AUTHOR_ROLES

    @classmethod
    def of(cls, user: object) -> "Actor":
        """The actor behind a request's user (any of the three user kinds, or None)."""
        if user is None or not getattr(user, "is_authenticated", False):
            return ANONYMOUS
        raw_id, raw_role = getattr(user, "id", None), getattr(user, "role", None)
        return cls(
            id=int(raw_id) if raw_id is not None else None,
            role=str(raw_role) if raw_role is not None else None,
        )


ANONYMOUS = Actor(id=None, role=None)


def is_admin(user: object) -> bool:
    return Actor.of(user).is_admin


def can_author(user: object) -> bool:
    return Actor.of(user).can_author


class IsAdminRole(BasePermission):
    message = "Only administrators can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_admin(request.user)


class IsInstructorOrAdmin(BasePermission):
    message = "Only instructors and administrators can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_author(request.user)

"""Who may see and change a course. Pure functions (reused by the video lifecycle) plus the DRF
permission classes the catalog views use for their object-level checks.

`user` may be a full `User`, the lightweight JWT token user or `AnonymousUser`: only `.id`, `.role` and
`.is_authenticated` are read, so none of these checks touches PostgreSQL.
"""

from collections.abc import Mapping
from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from learnstream.errors import NotFound
from learnstream.permissions import can_author, is_admin


def user_id_of(user: Any) -> int | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    value = getattr(user, "id", None)
    return int(value) if value is not None else None


def can_edit_course(*, user: Any, course: Mapping[str, Any]) -> bool:
    """Owner (while still an instructor or admin) or any admin."""
    if is_admin(user):
        return True
    uid = user_id_of(user)
    return uid is not None and uid == course["owner_id"] and can_author(user)


def can_view_course(*, user: Any, course: Mapping[str, Any]) -> bool:
    """Published courses are public; drafts and archived courses only for their owner and admins."""
    return course["status"] == "published" or can_edit_course(user=user, course=course)


class CourseReadable(BasePermission):
    """Object: the course (a dict with `owner_id` and `status`). Invisible courses are 404, not 403, so
    their existence does not leak."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return True

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if not can_view_course(user=request.user, course=obj):
            raise NotFound()
        return True


class CourseEditable(CourseReadable):
    """Reads as `CourseReadable`; anything else needs owner or admin (403 once the course is visible)."""

    message = "Only the course owner or an administrator can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        super().has_object_permission(request, view, obj)
        return can_edit_course(user=request.user, course=obj)


class CourseAuthorOrReadOnly(BasePermission):
    """Collection level: anyone reads; creating a course needs the instructor or admin role."""

    message = "Only instructors and administrators can create courses."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return can_author(request.user)

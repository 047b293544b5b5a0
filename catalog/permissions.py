"""The DRF permission classes of the catalog views: object-level checks that ask `catalog.access`.

The object is any course-shaped dict (`owner_id` and `status`): a stored course, a course detail, or a
lesson view carrying its course's two fields.
"""

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from catalog import access
from learnstream.permissions import Actor


class CourseReadable(BasePermission):
    """Invisible courses are 404, not 403, so their existence does not leak."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return True

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        access.require_visible(Actor.of(request.user), access.CourseRef.of(obj))
        return True


class CourseEditable(CourseReadable):
    """Reads as `CourseReadable`; anything else needs owner or admin (403 once the course is visible)."""

    message = "Only the course owner or an administrator can do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        actor = Actor.of(request.user)
        course = access.require_visible(actor, access.CourseRef.of(obj))
        return access.can_edit(actor, owner_id=course.owner_id)


class CourseAuthorOrReadOnly(BasePermission):
    """Collection level: anyone reads; creating a course needs the instructor or admin role."""

    message = "Only instructors and administrators can create courses."

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or Actor.of(request.user).can_author

"""Who may see, change and learn from a course: the one home of the catalog's access rule.

The rule: a caller who may not *see* a course gets 404 (its existence must not leak); a caller who may
see it but not *do* the thing gets 403. Every interface (DRF permission classes, services, the video
lifecycle, playback) asks this module; nothing else compares owner ids or statuses.

Inputs are an `Actor` (learnstream.permissions) and a `CourseRef` (owner and status), so no check reads
a user object or touches a store.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from learnstream.errors import NotFound, PermissionDenied
from learnstream.permissions import Actor

PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class CourseRef:
    """What access decisions need to know about a course."""

    owner_id: int
    status: str

    @classmethod
    def of(cls, course: Mapping[str, Any]) -> "CourseRef":
        """From any course-shaped dict (stored course, detail, or a lesson view carrying both fields)."""
        return cls(owner_id=int(course["owner_id"]), status=str(course["status"]))


def can_edit(actor: Actor, *, owner_id: int) -> bool:
    """Any admin, or the owner while still an instructor or admin. Independent of the course's status."""
    return actor.is_admin or (actor.id is not None and actor.id == owner_id and actor.can_author)


def can_view(actor: Actor, course: CourseRef) -> bool:
    """Published courses are public; drafts and archived courses only for their editors."""
    return course.status == PUBLISHED or can_edit(actor, owner_id=course.owner_id)


def deny(actor: Actor, course: CourseRef | None, *, forbidden: str, not_found: str | None = None) -> NoReturn:
    """Refuse: 404 when the caller cannot see the course (or it is missing), else 403 with `forbidden`."""
    if course is None or not can_view(actor, course):
        raise NotFound(not_found)
    raise PermissionDenied(forbidden)


def require_visible(actor: Actor, course: CourseRef | None, *, not_found: str | None = None) -> CourseRef:
    if course is None or not can_view(actor, course):
        raise NotFound(not_found)
    return course


def require_editable(
    actor: Actor, course: CourseRef | None, *, forbidden: str, not_found: str | None = None
) -> CourseRef:
    if course is not None and can_edit(actor, owner_id=course.owner_id):
        return course
    deny(actor, course, forbidden=forbidden, not_found=not_found)


def require_learner(
    actor: Actor, course: CourseRef | None, *, enrolled: bool, forbidden: str, not_found: str | None = None
) -> CourseRef:
    """Actively enrolled learners and the course's editors."""
    if course is not None and (enrolled or can_edit(actor, owner_id=course.owner_id)):
        return course
    deny(actor, course, forbidden=forbidden, not_found=not_found)

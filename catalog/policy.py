"""A course's enrollment policy: who may self-enroll, when, how many, and for how long.

The one home of these rules. Pure: every function takes the course (its policy fields, see
`catalog.types.ENROLLMENT_POLICY_FIELDS`) and the time, and touches no store; the services apply them
(`catalog/services/enrollments.py`, under the course's seat lock for the capacity).

- `enrollment`: "open" (anyone may self-enroll) or "invite_only" (only staff enrollment and invitations
  enroll; self-enrollment → 403 `invite_only`).
- `enrollment_opens_at` / `enrollment_closes_at`: self-enrollment only inside [opens, closes)
  (→ 409 `enrollment_closed`); either bound may be null (unbounded). Staff enrollment ignores the window.
- `capacity`: at most that many *active* enrollments (status active and not expired) → 409
  `course_full`. Staff enrollment respects it too.
- `access_days`: an enrollment expires `access_days` days after it started. The expiry is fixed when
  the enrollment starts (stored as `Enrollment.expires_at`): changing `access_days` later applies to
  enrollments that start afterwards and never shortens or extends existing ones.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from learnstream.errors import Conflict, PermissionDenied, ValidationFailed

OPEN = "open"
INVITE_ONLY = "invite_only"
MAX_CAPACITY = 1_000_000
MAX_ACCESS_DAYS = 36_500  # a century: "forever" is null


class InviteOnly(PermissionDenied):
    code = "invite_only"
    default_message = "This course is invite-only: ask its instructor for an invitation."


class EnrollmentClosed(Conflict):
    code = "enrollment_closed"
    default_message = "Enrollment in this course is closed."


class CourseFull(Conflict):
    code = "course_full"
    default_message = "This course is full."


class EnrollmentExpired(PermissionDenied):
    code = "enrollment_expired"
    default_message = "Your access to this course has expired."


class CapacityBelowEnrollments(Conflict):
    code = "capacity_below_enrollments"
    default_message = "The capacity is below the number of active enrollments."


def window_is_open(course: Mapping[str, Any], *, at: datetime) -> bool:
    opens, closes = course.get("enrollment_opens_at"), course.get("enrollment_closes_at")
    return (opens is None or at >= opens) and (closes is None or at < closes)


def self_enrollment_check(course: Mapping[str, Any], *, at: datetime) -> None:
    """Refuse a learner's own enrollment: invite-only (403) before the window (409); capacity is
    checked separately, under the seat lock."""
    if course.get("enrollment", OPEN) == INVITE_ONLY:
        raise InviteOnly()
    if not window_is_open(course, at=at):
        opens, closes = course.get("enrollment_opens_at"), course.get("enrollment_closes_at")
        raise EnrollmentClosed(
            details={
                "enrollment_opens_at": opens.isoformat() if opens else None,
                "enrollment_closes_at": closes.isoformat() if closes else None,
            }
        )


def expires_at_for(course: Mapping[str, Any], *, start: datetime) -> datetime | None:
    """When an enrollment starting at `start` expires under the course's current policy (None: never)."""
    days = course.get("access_days")
    return None if days is None else start + timedelta(days=int(days))


def is_expired(expires_at: datetime | None, *, at: datetime) -> bool:
    return expires_at is not None and expires_at <= at


def seats_left(course: Mapping[str, Any], *, active: int) -> int | None:
    """Free seats given `active` enrollments (None: no cap)."""
    capacity = course.get("capacity")
    return None if capacity is None else max(0, int(capacity) - active)


def policy_changes_validate(*, current: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
    """The window, as it will be after `changes`, must close after it opens (400 otherwise)."""
    opens = changes.get("enrollment_opens_at", current.get("enrollment_opens_at"))
    closes = changes.get("enrollment_closes_at", current.get("enrollment_closes_at"))
    if opens is not None and closes is not None and closes <= opens:
        message = "Enrollment must close after it opens."
        raise ValidationFailed(details={"enrollment_closes_at": [message]})

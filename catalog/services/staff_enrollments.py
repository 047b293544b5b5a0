"""Staff enrollment: the course's owner or an admin enrolls a roster, or unenrolls one learner.

Staff enrollment ignores `invite_only` and the enrollment window but not `capacity`: under the course's
seat lock it enrolls in roster order while seats last and reports the rest as `course_full`. One pass,
a fixed number of queries whatever the roster's size: the users by email (1), their enrollments in
the course (1), the seat count (1), one bulk INSERT of the new enrollments and one UPDATE of the
reactivated ones (cancelled or expired: a new access period starts); a learner who had unenrolled
gets their progress back into the course's rollups (MongoDB, per such learner). The Redis enrollment
answers of every changed learner are replaced after commit in one pipelined write.

Addresses without an account are invited (catalog/services/invitations.py: one invitation row and
one queued mail each, in the same transaction) and reported as `invited`.
"""

from typing import TypedDict

from django.db import transaction
from django.utils import timezone

from accounts.selectors import user_ids_by_email
from catalog import cache as catalog_cache
from catalog import policy
from catalog.models import Enrollment, EnrollmentStatus
from catalog.roster import RosterRow, neutralise
from catalog.services.enrollments import active_enrollment_count, seat_lock
from catalog.services.invitations import invitations_send
from catalog.services.rollups import rollups_enrollment_changed
from catalog.types import Course
from learnstream.errors import NotFound, ValidationFailed
from learnstream.permissions import Actor

COURSE_FULL = "course_full"
MAX_INVITATIONS = 2_000


class InvalidRow(TypedDict):
    row: int
    email: str
    error: str


class StaffEnrollmentReport(TypedDict):
    enrolled: list[str]
    already_enrolled: list[str]
    invited: list[str]
    invalid: list[InvalidRow]


def _invalid(row: RosterRow, error: str) -> InvalidRow:
    return {"row": row.row, "email": neutralise(row.raw.strip()), "error": error}


def staff_enroll(*, actor: Actor, course: Course, roster: list[RosterRow]) -> StaffEnrollmentReport:
    """Enroll every known address of `roster` (see the module docstring); nothing is written when
    anything fails (one transaction)."""
    report: StaffEnrollmentReport = {"enrolled": [], "already_enrolled": [], "invited": [], "invalid": []}
    valid = [row for row in roster if row.email is not None]
    users = user_ids_by_email(emails=[row.email for row in valid if row.email])
    strangers = sum(1 for row in valid if row.email not in users)
    if strangers > MAX_INVITATIONS:
        # Each invitation renders and queues a mail (~2-5 ms): past this many the request would near
        # its timeout. Refused before anything is written.
        raise ValidationFailed(
            details={
                "emails": [
                    f"{strangers} addresses have no account; at most {MAX_INVITATIONS} invitations per "
                    "request. Split the roster."
                ]
            }
        )
    at = timezone.now()
    expires_at = policy.expires_at_for(course, start=at)
    unknown: list[RosterRow] = []
    with transaction.atomic():
        seat_lock(course_id=course["id"])
        existing = {
            e.user_id: e
            for e in Enrollment.objects.filter(course_id=course["id"], user_id__in=list(users.values())).only(
                "id", "user_id", "status", "expires_at"
            )
        }
        left = policy.seats_left(course, active=active_enrollment_count(course_id=course["id"], at=at))
        new_users: list[int] = []
        renewed: list[int] = []
        returning: list[int] = []  # cancelled before: their progress re-enters the course's rollups
        outcome: dict[int, str] = {}  # roster row → "enrolled" | "already_enrolled" | error
        for row in roster:
            if row.email is None:
                continue
            user_id = users.get(row.email)
            if user_id is None:
                unknown.append(row)
                continue
            current = existing.get(user_id)
            if (
                current is not None
                and current.status == EnrollmentStatus.ACTIVE
                and not current.is_expired(at=at)
            ):
                outcome[row.row] = "already_enrolled"
                continue
            if left is not None and left <= 0:
                outcome[row.row] = COURSE_FULL
                continue
            if left is not None:
                left -= 1
            outcome[row.row] = "enrolled"
            (new_users if current is None else renewed).append(user_id)
            if current is not None and current.status == EnrollmentStatus.CANCELLED:
                returning.append(user_id)
        Enrollment.objects.bulk_create(
            [
                Enrollment(
                    user_id=uid, course_id=course["id"], created_at=at, updated_at=at, expires_at=expires_at
                )
                for uid in new_users
            ],
            batch_size=2000,
        )
        if renewed:
            Enrollment.objects.filter(course_id=course["id"], user_id__in=renewed).update(
                status=EnrollmentStatus.ACTIVE, created_at=at, updated_at=at, expires_at=expires_at
            )
        for user_id in returning:
            rollups_enrollment_changed(user_id=user_id, course_id=course["id"], active=True)
        invited = set(
            invitations_send(
                course=course, emails=[r.email for r in unknown if r.email], invited_by_id=actor.id
            )
        )
        catalog_cache.enrollments_changed(
            course_id=course["id"], user_ids=[*new_users, *renewed], started_at=at, expires_at=expires_at
        )
    for row in roster:
        if row.email is None:
            report["invalid"].append(_invalid(row, row.error or "invalid_email"))
        elif row.row in outcome:
            result = outcome[row.row]
            if result == "enrolled":
                report["enrolled"].append(neutralise(row.email))
            elif result == "already_enrolled":
                report["already_enrolled"].append(neutralise(row.email))
            else:
                report["invalid"].append(_invalid(row, result))
        else:  # no account: invited (invitations_send invites every address it is given)
            assert row.email in invited
            report["invited"].append(neutralise(row.email))
    return report


def staff_unenroll(*, course: Course, user_id: int) -> None:
    """Cancel a learner's active enrollment (the row stays, `cancelled`); playback is refused at once (the
    cached answer is dropped now and replaced after commit). Not actively enrolled → 404."""
    cancelled = Enrollment.objects.filter(
        user_id=user_id, course_id=course["id"], status=EnrollmentStatus.ACTIVE
    ).update(status=EnrollmentStatus.CANCELLED, updated_at=timezone.now())
    if cancelled == 0:
        raise NotFound("This user is not enrolled in this course.")
    catalog_cache.enrollment_changed(user_id=user_id, course_id=course["id"], active=False)
    rollups_enrollment_changed(user_id=user_id, course_id=course["id"], active=False)

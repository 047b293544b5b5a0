"""Enrollment writes (PostgreSQL). The cached enrollment answer follows each change after commit.

The course's enrollment policy (catalog/policy.py) decides who may enroll; the seat cap is enforced
under a per-course PostgreSQL advisory lock held for the transaction (`seat_lock`): count the active
enrollments, then insert, so concurrent enrollments can never overshoot `capacity`. Courses without a
cap skip the lock (the unique constraint alone keeps one row per learner).
"""

import hashlib
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog import access, policy
from catalog import cache as catalog_cache
from catalog.models import Enrollment, EnrollmentStatus
from catalog.repositories.courses import CourseRepository
from catalog.selectors.completion import courses_completed
from catalog.selectors.courses import course_for_learner, course_get
from catalog.services.rollups import rollups_enrollment_changed
from catalog.types import Course
from learnstream.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from learnstream.permissions import Actor

NOT_ENROLLED = "You are not enrolled in this course."
SEAT_LOCK_NAMESPACE = b"learnstream:course-seats:"


def _seat_lock_key(course_id: str) -> int:
    digest = hashlib.blake2b(SEAT_LOCK_NAMESPACE + course_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def seat_lock(*, course_id: str) -> None:
    """Serialise seat-changing transactions of one course (must run inside `transaction.atomic`).
    PostgreSQL only: the SQLite of `make run` serialises writers by itself.

    Waiting for the seat lock is expected under a rush (everyone queues behind the same course), so
    it may wait up to the statement deadline instead of the shorter `lock_timeout` meant for
    row-lock conflicts; the transaction's own lock timeout is restored once the lock is held."""
    if connection.vendor != "postgresql":
        return
    wait_ms = max(int(settings.DATABASE_STATEMENT_TIMEOUT_MS), int(settings.DATABASE_LOCK_TIMEOUT_MS))
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{wait_ms}ms"])
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s), set_config('lock_timeout', %s, true)",
            [_seat_lock_key(course_id), f"{int(settings.DATABASE_LOCK_TIMEOUT_MS)}ms"],
        )


def active_enrollment_count(*, course_id: str, at: datetime) -> int:
    """Enrollments holding a seat: active and not expired."""
    return (
        Enrollment.objects.filter(course_id=course_id, status=EnrollmentStatus.ACTIVE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .count()
    )


def _refuse_expired(enrollment: Enrollment, *, at: datetime) -> None:
    """A learner cannot restart an access period by themselves: an active enrollment past its expiry,
    or a cancelled one whose original expiry has passed, stays expired (staff enrollment renews it)."""
    if enrollment.is_expired(at=at):
        raise policy.EnrollmentExpired(
            details={"expires_at": enrollment.expires_at.isoformat() if enrollment.expires_at else None}
        )


def _reactivate(enrollment: Enrollment, *, course: Course, at: datetime) -> bool:
    """Cancelled → active (compare-and-set). Unenrolling does not pause or restart the access period:
    the original expiry is kept when there is one."""
    expires_at = enrollment.expires_at or policy.expires_at_for(course, start=at)
    reactivated = Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.CANCELLED).update(
        status=EnrollmentStatus.ACTIVE, created_at=at, updated_at=at, expires_at=expires_at
    )
    enrollment.refresh_from_db()
    if reactivated == 1:  # the learner's earlier progress counts in the course's analytics again
        rollups_enrollment_changed(user_id=enrollment.user_id, course_id=enrollment.course_id, active=True)
    return reactivated == 1


def _get_or_create(*, user_id: int, course: Course, at: datetime) -> tuple[Enrollment, bool]:
    defaults: dict[str, Any] = {
        "created_at": at,
        "updated_at": at,
        "expires_at": policy.expires_at_for(course, start=at),
    }
    try:
        with transaction.atomic():
            return Enrollment.objects.get_or_create(
                user_id=user_id, course_id=course["id"], defaults=defaults
            )
    except IntegrityError:
        # get_or_create already retries the read after a unique violation; this covers the rare case where
        # the winner's row was not yet visible to that read. Still no row (another constraint refused the
        # insert, e.g. the user was deleted meanwhile): 409, not a DoesNotExist → 500.
        found = Enrollment.objects.filter(user_id=user_id, course_id=course["id"]).first()
        if found is None:
            raise Conflict("The enrollment could not be created; retry.") from None
        return found, False


def _enroll_uncapped(*, user_id: int, course: Course, at: datetime) -> tuple[Enrollment, bool]:
    enrollment, created = _get_or_create(user_id=user_id, course=course, at=at)
    if created:
        return enrollment, True
    _refuse_expired(enrollment, at=at)
    if enrollment.status == EnrollmentStatus.ACTIVE:
        return enrollment, False
    return enrollment, _reactivate(enrollment, course=course, at=at)


def _enroll_capped(*, user_id: int, course: Course, at: datetime) -> tuple[Enrollment, bool]:
    capacity = int(course["capacity"] or 0)
    if (
        active_enrollment_count(course_id=course["id"], at=at) >= capacity
        and not Enrollment.objects.filter(
            user_id=user_id, course_id=course["id"], status=EnrollmentStatus.ACTIVE
        ).exists()
    ):
        # Full already: refuse without queueing for the seat lock (a rush on a full course stays cheap).
        # An optimistic read: seats only become free through cancellations, which the caller may retry.
        raise policy.CourseFull(details={"capacity": capacity})
    with transaction.atomic():
        seat_lock(course_id=course["id"])
        # Re-read under the lock: a concurrent PATCH of `capacity` holds the same lock while it writes.
        current = course_get(course_id=course["id"]) or course
        existing = Enrollment.objects.filter(user_id=user_id, course_id=course["id"]).first()
        if existing is not None:
            _refuse_expired(existing, at=at)
            if existing.status == EnrollmentStatus.ACTIVE:
                return existing, False
        left = policy.seats_left(current, active=active_enrollment_count(course_id=course["id"], at=at))
        if left is not None and left <= 0:
            raise policy.CourseFull(details={"capacity": current["capacity"]})
        if existing is not None:
            return existing, _reactivate(existing, course=current, at=at)
        return _get_or_create(user_id=user_id, course=current, at=at)


class PaymentRequired(ApplicationError):
    status_code = 402
    code = "payment_required"
    default_message = "This course is paid: buy it through checkout to enroll."


_ROW_FIELDS = Enrollment._meta.concrete_fields


def _enrollment_of(row: dict[str, Any]) -> Enrollment:
    """The enrollment as remembered by `catalog_cache.enrolled_row_remember` (a field added since is
    loaded on first access, like a deferred one)."""
    return Enrollment.from_db(Enrollment.objects.db, list(row), list(row.values()))


def enrollment_create(*, actor: Actor, course_id: str) -> tuple[Enrollment, bool]:
    """Enroll the caller; `(enrollment, created)`. `created` is True when the enrollment became active
    now (new row, or a cancelled one reactivated) and False when it already was. The unique constraint
    makes concurrent calls converge on one row; the seat lock keeps a capped course within capacity.
    Refusals: invite-only 403 `invite_only`, outside the window 409 `enrollment_closed`, no seat left
    409 `course_full`, an expired enrollment 403 `enrollment_expired` (an active enrollment answers 200
    whatever the policy says now)."""
    if actor.id is None:
        raise PermissionDenied()
    user_id = actor.id
    learner = course_for_learner(course_id=course_id, user_id=user_id)
    course = learner.course
    access.require_visible(actor, access.CourseRef.of(course) if course else None)
    assert course is not None  # require_visible raised otherwise
    if course["status"] != "published":
        raise Conflict("Only published courses accept enrollments.", details={"status": [course["status"]]})
    at = timezone.now()
    if learner.enrolled_row is not None:
        # Enrolled already (the usual repeat call), and the row as last read is still current: whatever
        # the policy says now, the answer is that row (200), with no store read but Redis.
        return _enrollment_of(learner.enrolled_row), False
    if learner.enrollment in ("active", "expired"):
        # The same, or 403 once it expired: one indexed read, no transaction.
        existing = Enrollment.objects.filter(
            user_id=user_id, course_id=course_id, status=EnrollmentStatus.ACTIVE
        ).first()
        if existing is not None:
            _refuse_expired(existing, at=at)
            catalog_cache.enrolled_row_remember(
                user_id=user_id,
                course_id=course_id,
                row={f.attname: getattr(existing, f.attname) for f in _ROW_FIELDS},
                started_at=existing.created_at,
                expires_at=existing.expires_at,
            )
            return existing, False
    try:
        policy.self_enrollment_check(course, at=at)
    except (policy.InviteOnly, policy.EnrollmentClosed):
        existing = Enrollment.objects.filter(
            user_id=user_id, course_id=course_id, status=EnrollmentStatus.ACTIVE
        ).first()
        if existing is None:
            raise
        _refuse_expired(existing, at=at)
        return existing, False
    if course["prerequisites"]:
        require_prerequisites(user_id=user_id, course=course)
    if course["price"] is not None:
        # A paid course is entered through a paid order only (enrollment_grant); a learner who bought it
        # gets the idempotent answer.
        bought = Enrollment.objects.filter(
            user_id=user_id, course_id=course_id, status=EnrollmentStatus.ACTIVE
        ).first()
        if bought is None:
            raise PaymentRequired(details={"price": [course["price"]]})
        return bought, False
    if course["capacity"] is None:
        enrollment, created = _enroll_uncapped(user_id=user_id, course=course, at=at)
    else:
        enrollment, created = _enroll_capped(user_id=user_id, course=course, at=at)
    catalog_cache.enrollment_changed(
        user_id=user_id,
        course_id=course_id,
        active=True,
        started_at=enrollment.created_at,
        expires_at=enrollment.expires_at,
    )
    return enrollment, created


class PrerequisitesNotMet(Conflict):
    code = "prerequisites_not_met"
    default_message = "Complete this course's prerequisite courses first."


def require_prerequisites(*, user_id: int, course: Course) -> None:
    """Enrolling needs every prerequisite course completed (`catalog.selectors.completion`): else 409
    `prerequisites_not_met` with the missing course ids in `details.missing`. Someone already actively
    enrolled stays enrolled (the call is idempotent)."""
    if Enrollment.objects.filter(
        user_id=user_id, course_id=course["id"], status=EnrollmentStatus.ACTIVE
    ).exists():
        return
    required = CourseRepository().get_many(course_ids=course["prerequisites"])
    done = courses_completed(user_id=user_id, courses=list(required.values()))
    missing = [pid for pid in course["prerequisites"] if pid not in done]
    if missing:
        raise PrerequisitesNotMet(details={"missing": missing})


def enrollment_cancel(*, actor: Actor, course_id: str) -> None:
    """Unenroll the caller (the row stays, status `cancelled`). Not actively enrolled → NotFound."""
    if actor.id is None:
        raise NotFound(NOT_ENROLLED)
    cancelled = Enrollment.objects.filter(
        user_id=actor.id, course_id=course_id, status=EnrollmentStatus.ACTIVE
    ).update(status=EnrollmentStatus.CANCELLED, updated_at=timezone.now())
    if cancelled == 0:
        raise NotFound(NOT_ENROLLED)
    catalog_cache.enrollment_changed(user_id=actor.id, course_id=course_id, active=False)
    rollups_enrollment_changed(user_id=actor.id, course_id=course_id, active=False)


def purchase_check(*, course: Course, at: datetime) -> None:
    """Refuse to sell what self-enrollment would refuse: invite-only (403), outside the window (409),
    no seat left (409 `course_full`). Read without the seat lock: a payment that completes after the
    last seat went elsewhere is still honoured by `enrollment_grant` (the learner paid)."""
    policy.self_enrollment_check(course, at=at)
    left = policy.seats_left(course, active=active_enrollment_count(course_id=course["id"], at=at))
    if left is not None and left <= 0:
        raise policy.CourseFull(details={"capacity": course["capacity"]})


def enrollment_grant(*, user_id: int, course_id: str) -> bool:
    """Make the user actively enrolled whatever the course's enrollment rules (a paid order, not the
    learner, asks). A new access period starts (the course's `access_days`), also when an earlier paid
    period has run out. Call inside the caller's transaction: the row and the cached answer follow its
    commit. Returns True when the enrollment became active now, False when it already was."""
    moment = timezone.now()
    course = course_get(course_id=course_id)
    expires_at = policy.expires_at_for(course, start=moment) if course is not None else None
    period = {"created_at": moment, "updated_at": moment, "expires_at": expires_at}
    enrollment, created = Enrollment.objects.get_or_create(
        user_id=user_id, course_id=course_id, defaults=period
    )
    if not created:
        current = Q(status=EnrollmentStatus.ACTIVE) & (Q(expires_at__isnull=True) | Q(expires_at__gt=moment))
        created = (
            Enrollment.objects.filter(pk=enrollment.pk)
            .exclude(current)
            .update(status=EnrollmentStatus.ACTIVE, **period)
            == 1
        )
        if created and enrollment.status != EnrollmentStatus.ACTIVE:
            # the learner's earlier progress counts in the course's analytics again
            rollups_enrollment_changed(user_id=user_id, course_id=course_id, active=True)
        if created:
            enrollment.created_at, enrollment.expires_at = moment, expires_at
    catalog_cache.enrollment_changed(
        user_id=user_id,
        course_id=course_id,
        active=True,
        started_at=enrollment.created_at,
        expires_at=enrollment.expires_at,
    )
    return created


def enrollment_revoke(*, user_id: int, course_id: str) -> bool:
    """End the user's enrollment at once (refund, dispute): the cached answer is dropped now, so playback
    and heartbeats refuse on their next request. Returns True when an active enrollment was ended."""
    revoked = Enrollment.objects.filter(
        user_id=user_id, course_id=course_id, status=EnrollmentStatus.ACTIVE
    ).update(status=EnrollmentStatus.CANCELLED, updated_at=timezone.now())
    catalog_cache.enrollment_changed(user_id=user_id, course_id=course_id, active=False)
    if revoked:
        rollups_enrollment_changed(user_id=user_id, course_id=course_id, active=False)
    return revoked == 1


def enrollment_grant_seat(*, user_id: int, course: Course) -> tuple[Enrollment, bool]:
    """Enroll a user on staff authority (an accepted invitation): ignores `invite_only` and the window,
    not `capacity` (409 `course_full`). A cancelled or expired enrollment starts a new access period.
    `(enrollment, created)`; `created` False when the user already held an active seat."""
    at = timezone.now()
    expires_at = policy.expires_at_for(course, start=at)
    with transaction.atomic():
        seat_lock(course_id=course["id"])
        existing = Enrollment.objects.filter(user_id=user_id, course_id=course["id"]).first()
        if (
            existing is not None
            and existing.status == EnrollmentStatus.ACTIVE
            and not existing.is_expired(at=at)
        ):
            return existing, False
        left = policy.seats_left(course, active=active_enrollment_count(course_id=course["id"], at=at))
        if left is not None and left <= 0:
            raise policy.CourseFull(details={"capacity": course["capacity"]})
        if existing is None:
            enrollment, _ = _get_or_create(user_id=user_id, course=course, at=at)
        else:
            returning = existing.status == EnrollmentStatus.CANCELLED
            Enrollment.objects.filter(pk=existing.pk).update(
                status=EnrollmentStatus.ACTIVE, created_at=at, updated_at=at, expires_at=expires_at
            )
            existing.refresh_from_db()
            enrollment = existing
            if returning:
                rollups_enrollment_changed(user_id=user_id, course_id=course["id"], active=True)
        catalog_cache.enrollment_changed(
            user_id=user_id,
            course_id=course["id"],
            active=True,
            started_at=enrollment.created_at,
            expires_at=enrollment.expires_at,
        )
    return enrollment, True

"""Enrollment writes (PostgreSQL). The cached enrollment answer follows each change after commit."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog import access
from catalog import cache as catalog_cache
from catalog.models import Enrollment, EnrollmentStatus
from catalog.repositories.courses import CourseRepository
from catalog.selectors.completion import courses_completed
from catalog.selectors.courses import course_get
from catalog.services.rollups import rollups_enrollment_changed
from catalog.types import Course
from learnstream.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from learnstream.permissions import Actor

NOT_ENROLLED = "You are not enrolled in this course."


class PaymentRequired(ApplicationError):
    status_code = 402
    code = "payment_required"
    default_message = "This course is paid: buy it through checkout to enroll."


def enrollment_create(*, actor: Actor, course_id: str) -> tuple[Enrollment, bool]:
    """Enroll the caller; `(enrollment, created)`. `created` is True when the enrollment became active
    now (new row, or a cancelled one reactivated) and False when it already was. The unique constraint
    makes concurrent calls converge on one row."""
    if actor.id is None:
        raise PermissionDenied()
    user_id = actor.id
    course = course_get(course_id=course_id)
    access.require_visible(actor, access.CourseRef.of(course) if course else None)
    assert course is not None  # require_visible raised otherwise
    if course["status"] != "published":
        raise Conflict("Only published courses accept enrollments.", details={"status": [course["status"]]})
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
    try:
        with transaction.atomic():
            enrollment, created = Enrollment.objects.get_or_create(user_id=user_id, course_id=course_id)
    except IntegrityError:
        # get_or_create already retries the read after a unique violation; this covers the rare case where
        # the winner's row was not yet visible to that read. Still no row (another constraint refused the
        # insert, e.g. the user was deleted meanwhile): 409, not a DoesNotExist → 500.
        found = Enrollment.objects.filter(user_id=user_id, course_id=course_id).first()
        if found is None:
            raise Conflict("The enrollment could not be created; retry.") from None
        enrollment, created = found, False
    if not created and enrollment.status != EnrollmentStatus.ACTIVE:
        moment = timezone.now()
        reactivated = Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.CANCELLED).update(
            status=EnrollmentStatus.ACTIVE, created_at=moment, updated_at=moment
        )
        enrollment.refresh_from_db()
        created = reactivated == 1
        if created:  # the learner's earlier progress counts in the course's analytics again
            rollups_enrollment_changed(user_id=user_id, course_id=course_id, active=True)
    catalog_cache.enrollment_changed(
        user_id=user_id, course_id=course_id, active=True, started_at=enrollment.created_at
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


def enrollment_grant(*, user_id: int, course_id: str) -> bool:
    """Make the user actively enrolled whatever the course's enrollment rules (a paid order, not the
    learner, asks). Call inside the caller's transaction: the row and the cached answer follow its commit.
    Returns True when the enrollment became active now, False when it already was."""
    moment = timezone.now()
    enrollment, created = Enrollment.objects.get_or_create(
        user_id=user_id, course_id=course_id, defaults={"created_at": moment, "updated_at": moment}
    )
    if not created:
        created = (
            Enrollment.objects.filter(pk=enrollment.pk)
            .exclude(status=EnrollmentStatus.ACTIVE)
            .update(status=EnrollmentStatus.ACTIVE, created_at=moment, updated_at=moment)
            == 1
        )
        if created:  # the learner's earlier progress counts in the course's analytics again
            rollups_enrollment_changed(user_id=user_id, course_id=course_id, active=True)
    catalog_cache.enrollment_changed(user_id=user_id, course_id=course_id, active=True)
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

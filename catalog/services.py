"""Catalog writes: courses, lessons, enrollments, progress. Keyword-only, typed; raise ApplicationError
subclasses. Every write that changes what the catalog shows calls `catalog_invalidate()`.

Stable for other apps (the video lifecycle relies on these): `lesson_create`, `lesson_delete`,
`lesson_cache_invalidate`.
"""

import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog import cache as catalog_cache
from catalog.models import Enrollment, EnrollmentStatus
from catalog.permissions import can_view_course, user_id_of
from catalog.repositories.base import DuplicateKey, new_id
from catalog.repositories.courses import CourseRepository
from catalog.repositories.lessons import LessonRepository
from catalog.repositories.progress import ProgressRepository
from catalog.selectors import (
    MAX_LESSONS_PER_COURSE,
    ProgressView,
    can_record_progress,
    course_get,
    lesson_access_with_enrollment,
    progress_view,
)
from catalog.types import Course, Lesson
from learnstream.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

logger = logging.getLogger(__name__)

SLUG_MAX_LENGTH = 80
COMPLETION_THRESHOLD = 0.9  # a lesson is completed once the furthest position reaches 90 % of it


def _seconds(value: float) -> float:
    """Positions are kept at millisecond precision (and -0.0 becomes 0.0). Besides being all the
    precision a player has, this keeps subnormal doubles away from `$max`: SecantusDB 0.7.0b3 orders
    doubles below ~1e-128 above 1.0 in `$max`, which would move progress backwards."""
    return round(value, 3) + 0.0


def _now() -> datetime:
    # Millisecond precision: what MongoDB stores, so values read back compare equal to values written.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _archived(course: Course) -> Conflict:
    return Conflict("This course is archived.", details={"status": ["archived"]})


# --- courses ----------------------------------------------------------------------------------------
def _slug_base(title: str) -> str:
    return slugify(title)[: SLUG_MAX_LENGTH - 7].strip("-") or "course"


def course_create(
    *,
    owner_id: int,
    title: str,
    description: str = "",
    tags: list[str] | None = None,
    level: str = "beginner",
    slug: str | None = None,
) -> Course:
    """Create a draft course. An explicit slug that is taken → 409; a generated one gets a `-2`, `-3`…
    suffix (the unique index decides races: on a duplicate we simply try the next candidate)."""
    repo = CourseRepository()
    course_id = new_id()
    fields: dict[str, Any] = {
        "course_id": course_id,
        "title": title,
        "description": description,
        "tags": tags or [],
        "level": level,
        "owner_id": owner_id,
    }
    if slug:
        try:
            course = repo.insert(slug=slug, now=_now(), **fields)
        except DuplicateKey as exc:
            raise Conflict(
                "This slug is already taken.", details={"slug": ["This slug is already taken."]}
            ) from exc
    else:
        base = _slug_base(title)
        taken = repo.slugs_with_prefix(prefix=base, limit=1000)
        candidates = [base] + [f"{base}-{n}" for n in range(2, 1002)]
        free = [c for c in candidates if c not in taken][:5]
        free.append(f"{base}-{secrets.token_hex(3)}")
        for candidate in free:
            try:
                course = repo.insert(slug=candidate, now=_now(), **fields)
                break
            except DuplicateKey:
                continue
        else:  # pragma: no cover - six concurrent collisions in a row
            raise Conflict("Could not allocate a unique slug; retry.")
    catalog_cache.catalog_invalidate()
    return course


def course_update(*, course: Course, fields: dict[str, Any]) -> Course:
    """Partial update of editable fields (title, slug, description, tags, level). Archived → 409."""
    if course["status"] == "archived":
        raise _archived(course)
    if not fields:
        return course
    try:
        updated = CourseRepository().update_fields(
            course_id=course["id"], fields=fields, now=_now(), unless_status="archived"
        )
    except DuplicateKey as exc:
        raise Conflict(
            "This slug is already taken.", details={"slug": ["This slug is already taken."]}
        ) from exc
    if updated is None:
        raise _archived(course)
    catalog_cache.catalog_invalidate()
    return updated


def course_publish(*, course: Course) -> Course:
    """draft → published (idempotent for published). Needs at least one lesson; archived → 409."""
    if course["status"] == "archived":
        raise _archived(course)
    updated = CourseRepository().transition(
        course_id=course["id"],
        from_statuses=("draft", "published"),
        to_status="published",
        now=_now(),
        require_lessons=True,
        set_published_at=True,
    )
    if updated is None:
        current = course_get(course_id=course["id"])
        if current is not None and current["status"] == "archived":
            raise _archived(current)
        raise Conflict(
            "A course needs at least one lesson to be published.",
            details={"lessons": ["Add at least one lesson before publishing."]},
        )
    catalog_cache.catalog_invalidate()
    return updated


def course_unpublish(*, course: Course) -> Course:
    """published → draft (idempotent for drafts). Archived → 409."""
    updated = CourseRepository().transition(
        course_id=course["id"], from_statuses=("draft", "published"), to_status="draft", now=_now()
    )
    if updated is None:
        raise _archived(course)
    catalog_cache.catalog_invalidate()
    return updated


def course_archive(*, course: Course) -> None:
    """Soft delete (idempotent): the course leaves every listing; enrollments and progress stay."""
    CourseRepository().transition(
        course_id=course["id"],
        from_statuses=("draft", "published", "archived"),
        to_status="archived",
        now=_now(),
    )
    catalog_cache.catalog_invalidate()


# --- lessons ----------------------------------------------------------------------------------------
def lesson_cache_invalidate(*, lesson_id: str, course_id: str | None = None) -> None:
    """Forget every cached view of a lesson (its access facts and every catalog page). Call after any
    change to a lesson document, including its `video` sub-document or `duration`."""
    cache.delete(catalog_cache.lesson_access_key(lesson_id))
    catalog_cache.catalog_invalidate()


def lesson_create(
    *,
    course: Course,
    title: str,
    description: str = "",
    position: int | None = None,
    is_preview: bool = False,
    duration: float | None = None,
) -> Lesson:
    """Add a lesson at `position` (1-based; default and out-of-range → last). Archived course → 409."""
    if course["status"] == "archived":
        raise _archived(course)
    if len(course["lesson_ids"]) >= MAX_LESSONS_PER_COURSE:
        raise Conflict(
            f"A course can have at most {MAX_LESSONS_PER_COURSE} lessons.",
            details={"lessons": [f"At most {MAX_LESSONS_PER_COURSE} lessons per course."]},
        )
    lessons, courses = LessonRepository(), CourseRepository()
    lesson = lessons.insert(
        lesson_id=new_id(),
        course_id=course["id"],
        title=title,
        description=description,
        is_preview=is_preview,
        duration=duration,
        now=_now(),
    )
    # The lesson becomes visible only once it is in the course's order (one atomic $push).
    index = None if position is None else max(0, position - 1)
    try:
        added = courses.add_lesson(
            course_id=course["id"], lesson_id=lesson["id"], index=index, unless_status="archived", now=_now()
        )
    except Exception:
        lessons.delete(lesson_id=lesson["id"])
        raise
    if not added:
        lessons.delete(lesson_id=lesson["id"])
        raise _archived(course)
    catalog_cache.catalog_invalidate()
    return lesson


def _move(order: list[str], lesson_id: str, position: int) -> list[str]:
    rest = [i for i in order if i != lesson_id]
    index = min(max(position - 1, 0), len(rest))
    return [*rest[:index], lesson_id, *rest[index:]]


def lesson_update(*, lesson: Lesson, course: Course, fields: dict[str, Any]) -> tuple[Lesson, Course]:
    """Partial update (title, description, is_preview, duration, and position, which moves the lesson
    with the same compare-and-set as a reorder). Archived course → 409."""
    if course["status"] == "archived":
        raise _archived(course)
    fields = dict(fields)
    position = fields.pop("position", None)
    updated_lesson = lesson
    if fields:
        found = LessonRepository().update_fields(lesson_id=lesson["id"], fields=fields, now=_now())
        if found is None:
            raise NotFound()
        updated_lesson = found
    if position is not None:
        course = lesson_reorder(course=course, lesson_ids=_move(course["lesson_ids"], lesson["id"], position))
    lesson_cache_invalidate(lesson_id=lesson["id"], course_id=course["id"])
    return updated_lesson, course


def _delete_video(lesson: Lesson) -> None:
    """Delete the lesson's Mux asset through the video lifecycle when that module provides the hook."""
    try:
        from streaming import services as streaming_services
    except ImportError:
        return
    hook = getattr(streaming_services, "video_delete_for_lesson", None)
    if hook is not None:
        hook(lesson=lesson)


def lesson_delete(*, lesson: Lesson, course: Course) -> None:
    """Remove a lesson: its Mux asset first (if that fails nothing is deleted and the error propagates),
    then its place in the order, the document and its progress. The last lesson of a published course
    cannot be deleted (409: unpublish first)."""
    _delete_video(lesson)
    removed = CourseRepository().remove_lesson(
        course_id=course["id"], lesson_id=lesson["id"], keep_one_if_status="published", now=_now()
    )
    if not removed:
        current = course_get(course_id=course["id"])
        if current is not None and lesson["id"] in current["lesson_ids"]:
            raise Conflict(
                "A published course must keep at least one lesson; unpublish it first.",
                details={"lessons": ["The last lesson of a published course cannot be deleted."]},
            )
    LessonRepository().delete(lesson_id=lesson["id"])
    ProgressRepository().delete_for_lesson(lesson_id=lesson["id"])
    lesson_cache_invalidate(lesson_id=lesson["id"], course_id=course["id"])


def lesson_reorder(*, course: Course, lesson_ids: list[str]) -> Course:
    """Replace the lesson order with a permutation of the current lessons, atomically (one
    single-document update with a compare-and-set on the current set of lessons)."""
    if course["status"] == "archived":
        raise _archived(course)
    current = course["lesson_ids"]
    if len(lesson_ids) != len(set(lesson_ids)) or set(lesson_ids) != set(current):
        raise ValidationFailed(
            details={"lesson_ids": ["Must list every lesson of the course exactly once."]},
        )
    updated = CourseRepository().replace_lesson_order(
        course_id=course["id"], expected=current, new_order=lesson_ids, now=_now(), unless_status="archived"
    )
    if updated is None:
        raise Conflict(
            "The course's lessons changed meanwhile; reload and retry.",
            details={"lesson_ids": ["The set of lessons changed concurrently."]},
        )
    catalog_cache.catalog_invalidate()
    return updated


# --- enrollments ------------------------------------------------------------------------------------
def _refresh_enrollment_cache(user_id: int, course_id: str, active: bool) -> None:
    """Drop the cached answer now (a reader then re-reads PostgreSQL) and write the new one once the
    transaction commits, so a rolled-back change is never cached."""
    key = catalog_cache.enrollment_key(user_id, course_id)
    cache.delete(key)
    transaction.on_commit(
        lambda: cache.set(key, 1 if active else 0, timeout=catalog_cache.enrollment_seconds())
    )


def enrollment_create(*, user: Any, course_id: str) -> tuple[Enrollment, bool]:
    """Enroll the caller; `(enrollment, created)`. `created` is True when the enrollment became active
    now (new row, or a cancelled one reactivated) and False when it already was. The unique constraint
    makes concurrent calls converge on one row."""
    user_id = user_id_of(user)
    if user_id is None:
        raise PermissionDenied()
    course = course_get(course_id=course_id)
    if course is None or not can_view_course(user=user, course=course):
        raise NotFound()
    if course["status"] != "published":
        raise Conflict("Only published courses accept enrollments.", details={"status": [course["status"]]})
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
        now = timezone.now()
        reactivated = Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.CANCELLED).update(
            status=EnrollmentStatus.ACTIVE, created_at=now, updated_at=now
        )
        enrollment.refresh_from_db()
        created = reactivated == 1
    _refresh_enrollment_cache(user_id, course_id, True)
    return enrollment, created


def enrollment_cancel(*, user: Any, course_id: str) -> None:
    """Unenroll the caller (the row stays, status `cancelled`). Not actively enrolled → NotFound."""
    user_id = user_id_of(user)
    if user_id is None:
        raise NotFound("You are not enrolled in this course.")
    cancelled = Enrollment.objects.filter(
        user_id=user_id, course_id=course_id, status=EnrollmentStatus.ACTIVE
    ).update(status=EnrollmentStatus.CANCELLED, updated_at=timezone.now())
    if cancelled == 0:
        raise NotFound("You are not enrolled in this course.")
    _refresh_enrollment_cache(user_id, course_id, False)


# --- progress ---------------------------------------------------------------------------------------
def _access_or_raise(*, user: Any, lesson_id: str) -> tuple[Any, bool]:
    access, enrolled = lesson_access_with_enrollment(lesson_id=lesson_id, user_id=user_id_of(user))
    if access is None:
        raise NotFound()
    allowed, preview = can_record_progress(user=user, access=access, enrolled=enrolled)
    if not allowed:
        # 403 for a course the caller can see, 404 for one they cannot (its existence must not leak).
        course = course_get(course_id=access["course_id"])
        if course is None or not can_view_course(user=user, course=course):
            raise NotFound()
        raise PermissionDenied("Enroll in this course to record progress.")
    return access, preview


def progress_record(
    *, user: Any, lesson_id: str, position: float, watched_seconds: float | None = None
) -> ProgressView:
    """Heartbeat. The position is clamped to the lesson's duration when known; the lesson is completed
    once the position reaches 90 % of it. One MongoDB round trip once the lookups are cached."""
    access, preview = _access_or_raise(user=user, lesson_id=lesson_id)
    duration = access["duration"]
    position = _seconds(position)
    if duration is not None and duration > 0:
        position = min(position, duration)
    if watched_seconds is not None:
        watched_seconds = _seconds(watched_seconds)
    completed = bool(duration and duration > 0 and position >= COMPLETION_THRESHOLD * duration)
    progress = ProgressRepository().advance(
        user_id=user_id_of(user) or 0,
        lesson_id=lesson_id,
        course_id=access["course_id"],
        position=position,
        completed=completed,
        watched_seconds=watched_seconds,
        preview=preview,
        now=_now(),
    )
    return progress_view(progress=progress, lesson_id=lesson_id, duration=duration)


def progress_complete(*, user: Any, lesson_id: str) -> ProgressView:
    """Mark the lesson completed (idempotent; completion is never undone)."""
    access, preview = _access_or_raise(user=user, lesson_id=lesson_id)
    progress = ProgressRepository().advance(
        user_id=user_id_of(user) or 0,
        lesson_id=lesson_id,
        course_id=access["course_id"],
        position=None,
        completed=True,
        watched_seconds=None,
        preview=preview,
        now=_now(),
    )
    return progress_view(progress=progress, lesson_id=lesson_id, duration=access["duration"])

"""Enrollment reads (PostgreSQL), with the learner's progress figures batched from MongoDB."""

from datetime import datetime
from typing import Any, TypedDict

from django.utils import timezone

from catalog import cache as catalog_cache
from catalog.models import Enrollment, EnrollmentStatus
from catalog.repositories.courses import CourseRepository
from catalog.repositories.progress import ProgressRepository
from catalog.selectors.courses import Instructor
from catalog.selectors.metrics import summary_figures
from catalog.types import Course, EnrollmentState, Page
from learnstream.permissions import Actor


class EnrollmentRow(TypedDict):
    id: int
    user_id: int
    course_id: str
    course_title: str | None
    status: str
    created_at: datetime
    expires_at: datetime | None
    expired: bool
    lesson_count: int
    completed_lessons: int
    percent: float


class StudentRow(TypedDict):
    user: Instructor
    enrolled_at: datetime
    completed_lessons: int
    lesson_count: int
    percent: float
    last_activity: datetime | None


def _active_row(*, user_id: int, course_id: str) -> tuple[datetime, datetime | None] | None:
    """(start, expiry) of the user's active enrollment (one PostgreSQL query); None when not enrolled."""
    row: tuple[datetime, datetime | None] | None = (
        Enrollment.objects.filter(user_id=user_id, course_id=course_id, status=EnrollmentStatus.ACTIVE)
        .values_list("created_at", "expires_at")
        .first()
    )
    return row


def _remember(*, user_id: int, course_id: str, row: tuple[datetime, datetime | None] | None) -> None:
    catalog_cache.enrollment_remember(
        user_id=user_id,
        course_id=course_id,
        active=row is not None,
        started_at=row[0] if row else None,
        expires_at=row[1] if row else None,
    )


def enrollment_state(*, user_id: int, course_id: str) -> EnrollmentState:
    """Is the user actively enrolled ("active"), enrolled past the expiry ("expired") or not ("none")?
    Answered from Redis when possible (writers set the key on enroll/unenroll; the expiry is part of
    the cached value); on a miss or with Redis down, one PostgreSQL query (whose errors propagate → 503)."""
    cached = catalog_cache.enrollment_cached(user_id=user_id, course_id=course_id)
    if cached is not None:
        return cached
    row = _active_row(user_id=user_id, course_id=course_id)
    _remember(user_id=user_id, course_id=course_id, row=row)
    if row is None:
        return "none"
    return "expired" if row[1] is not None and row[1] <= timezone.now() else "active"


def enrollment_is_active(*, user_id: int, course_id: str) -> bool:
    """Actively enrolled and not expired (see `enrollment_state`)."""
    return enrollment_state(user_id=user_id, course_id=course_id) == "active"


def enrollment_started_at(*, user_id: int, course_id: str, cached_entry: Any) -> datetime | None:
    """When the user's active enrollment started (the drip clock), None when not enrolled. From the
    cached enrollment entry (`cached_entry`, already fetched by the caller) when it knows; else one
    PostgreSQL query."""
    state = catalog_cache.enrollment_start_of(cached_entry)
    if state is not None and (not state[0] or state[1] is not None):
        return state[1]
    row = _active_row(user_id=user_id, course_id=course_id)
    if state is None:
        _remember(user_id=user_id, course_id=course_id, row=row)
    return row[0] if row else None


def enrollment_list(
    *, actor: Actor, user_filter: int | None, course_filter: str | None, offset: int, limit: int
) -> Page[EnrollmentRow]:
    """Non-admins: their own active enrollments (expired ones included, flagged `expired`). Admins: every
    enrollment (any status), optionally filtered. Each row carries the course title and the learner's
    percent, batched: 2 PostgreSQL queries + 2 MongoDB commands per page whatever its size."""
    qs = Enrollment.objects.all()
    if actor.is_admin:
        if user_filter is not None:
            qs = qs.filter(user_id=user_filter)
    else:
        qs = qs.filter(user_id=actor.id or 0, status=EnrollmentStatus.ACTIVE)
    if course_filter is not None:
        qs = qs.filter(course_id=course_filter)
    total = qs.count()
    rows = list(qs.order_by("-created_at", "-id")[offset : offset + limit])
    if not rows:
        return Page(total=total, items=[])
    courses = CourseRepository().get_many(course_ids=list({r.course_id for r in rows}))
    summaries = ProgressRepository().summaries_for_pairs(pairs=[(r.user_id, r.course_id) for r in rows])
    moment = timezone.now()
    items: list[EnrollmentRow] = []
    for r in rows:
        course = courses.get(r.course_id)
        count = len(course["lesson_ids"]) if course else 0
        done, percent, _last, _updated = summary_figures(summaries.get((r.user_id, r.course_id)), count)
        items.append(
            {
                "id": r.id,
                "user_id": r.user_id,
                "course_id": r.course_id,
                "course_title": course["title"] if course else None,
                "status": r.status,
                "created_at": r.created_at,
                "expires_at": r.expires_at,
                "expired": r.status == EnrollmentStatus.ACTIVE and r.is_expired(at=moment),
                "lesson_count": count,
                "completed_lessons": done,
                "percent": percent,
            }
        )
    return Page(total=total, items=items)


def course_students_list(*, course: Course, offset: int, limit: int) -> Page[StudentRow]:
    """Active students of a course with their progress: 2 PostgreSQL queries + 1 MongoDB command."""
    qs = Enrollment.objects.filter(course_id=course["id"], status=EnrollmentStatus.ACTIVE)
    total = qs.count()
    rows = list(qs.select_related("user").order_by("created_at", "id")[offset : offset + limit])
    summaries = ProgressRepository().summaries_for_course(
        course_id=course["id"], user_ids=[r.user_id for r in rows]
    )
    count = len(course["lesson_ids"])
    items: list[StudentRow] = []
    for r in rows:
        done, percent, _last, updated = summary_figures(summaries.get(r.user_id), count)
        items.append(
            {
                "user": {"id": r.user_id, "name": r.user.name},
                "enrolled_at": r.created_at,
                "completed_lessons": done,
                "lesson_count": count,
                "percent": percent,
                "last_activity": updated,
            }
        )
    return Page(total=total, items=items)

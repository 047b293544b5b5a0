"""A learner's progress reads: per course, per lesson, and across their enrollments."""

from datetime import datetime
from typing import TypedDict

from django.utils import timezone

from catalog import access
from catalog.certificates import certificate_codes_for_courses
from catalog.models import Enrollment, EnrollmentStatus
from catalog.policy import EnrollmentExpired, is_expired
from catalog.repositories.courses import CourseRepository
from catalog.repositories.progress import ProgressRepository
from catalog.selectors.courses import course_get
from catalog.selectors.enrollments import enrollment_state
from catalog.selectors.lessons import MAX_LESSONS_PER_COURSE, ordered_lessons
from catalog.selectors.metrics import ProgressView, course_percent, progress_view, summary_figures
from catalog.types import Course, EnrollmentState, LessonAccess, Page
from learnstream.permissions import Actor


class CourseProgress(TypedDict):
    course_id: str
    lesson_count: int
    completed_lessons: int
    percent: float
    last_lesson_id: str | None
    updated_at: datetime | None
    lessons: list[ProgressView]


class CourseProgressRow(TypedDict):
    course_id: str
    title: str
    slug: str
    lesson_count: int
    completed_lessons: int
    percent: float
    last_lesson_id: str | None
    updated_at: datetime | None
    certificate_code: str | None
    expires_at: datetime | None
    expired: bool


def course_progress_get(*, user_id: int, course: Course) -> CourseProgress:
    """Per-lesson progress (every current lesson, in order) plus the course summary and resume point."""
    lessons = ordered_lessons(course)
    docs = {
        p["lesson_id"]: p
        for p in ProgressRepository().for_user_in_course(
            user_id=user_id, course_id=course["id"], limit=MAX_LESSONS_PER_COURSE * 2
        )
    }
    rows = [
        progress_view(progress=docs.get(lesson["id"]), lesson_id=lesson["id"], duration=lesson["duration"])
        for lesson in lessons
    ]
    completed = sum(1 for r in rows if r["completed"])
    touched = [r for r in rows if r["updated_at"] is not None]
    last = max(touched, key=lambda r: r["updated_at"]) if touched else None  # type: ignore[arg-type,return-value]
    return {
        "course_id": course["id"],
        "lesson_count": len(lessons),
        "completed_lessons": completed,
        "percent": course_percent(completed_lessons=completed, lesson_count=len(lessons)),
        "last_lesson_id": last["lesson_id"] if last else None,
        "updated_at": last["updated_at"] if last else None,
        "lessons": rows,
    }


def course_progress_for(*, actor: Actor, course_id: str) -> CourseProgress:
    """The caller's progress in a course: enrolled learners (whatever the course's status now), the
    owner and admins. Others: 403 if they can see the course, else 404; an expired enrollment: 403
    `enrollment_expired`."""
    course = course_get(course_id=course_id)
    uid = actor.id or 0
    state = enrollment_state(user_id=uid, course_id=course_id) if course is not None else "none"
    if state == "expired" and course is not None and not access.can_edit(actor, owner_id=course["owner_id"]):
        raise EnrollmentExpired()
    access.require_learner(
        actor,
        access.CourseRef.of(course) if course else None,
        enrolled=state == "active",
        forbidden="Enroll in this course to see your progress.",
    )
    assert course is not None  # require_learner raised otherwise
    return course_progress_get(user_id=uid, course=course)


def my_progress_list(*, user_id: int, offset: int, limit: int) -> Page[CourseProgressRow]:
    """One row per active enrollment (expired ones flagged `expired`): 3 PostgreSQL queries (count, page,
    certificates) + 2 MongoDB commands."""
    enrollments = Enrollment.objects.filter(user_id=user_id, status=EnrollmentStatus.ACTIVE)
    total = enrollments.count()
    expiries = dict(
        enrollments.order_by("-created_at", "-id").values_list("course_id", "expires_at")[
            offset : offset + limit
        ]
    )
    page = list(expiries)
    moment = timezone.now()
    if not page:
        return Page(total=total, items=[])
    courses = CourseRepository().get_many(course_ids=page)
    summaries = ProgressRepository().summaries_for_user(user_id=user_id, course_ids=page)
    codes = certificate_codes_for_courses(user_id=user_id, course_ids=page)
    items: list[CourseProgressRow] = []
    for course_id in page:
        course = courses.get(course_id)
        count = len(course["lesson_ids"]) if course else 0
        done, percent, last, updated = summary_figures(summaries.get(course_id), count)
        items.append(
            {
                "course_id": course_id,
                "title": course["title"] if course else "",
                "slug": course["slug"] if course else "",
                "lesson_count": count,
                "completed_lessons": done,
                "percent": percent,
                "last_lesson_id": last,
                "updated_at": updated,
                "certificate_code": codes.get(course_id),
                "expires_at": expiries[course_id],
                "expired": is_expired(expiries[course_id], at=moment),
            }
        )
    return Page(total=total, items=items)


def can_record_progress(
    *, actor: Actor, lesson_access: LessonAccess, enrolled: EnrollmentState | None = None
) -> tuple[bool, bool]:
    """(allowed, preview): enrolled learners record real progress; the course's editors may record
    preview progress (kept out of analytics) without enrolling. `enrolled`, when the caller already
    knows it (`lesson_access_with_enrollment`), saves the lookup. An expired enrollment (not an
    editor) → 403 `enrollment_expired`."""
    if actor.id is None:
        return False, False
    if enrolled is None:
        enrolled = enrollment_state(user_id=actor.id, course_id=lesson_access["course_id"])
    if access.can_edit(actor, owner_id=lesson_access["owner_id"]):
        return True, enrolled != "active"
    if enrolled == "expired":
        raise EnrollmentExpired()
    return enrolled == "active", False

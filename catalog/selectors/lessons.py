"""Lesson reads: single lessons, a course's ordered lessons, and the cached access facts of hot paths."""

from datetime import datetime
from typing import TypedDict

from catalog import access
from catalog import cache as catalog_cache
from catalog.layout import curriculum_order, previous_lesson, section_of
from catalog.repositories.lessons import LessonRepository
from catalog.selectors.courses import course_get
from catalog.types import Course, EnrollmentState, Lesson, LessonAccess
from learnstream.errors import NotFound
from learnstream.permissions import Actor

MAX_LESSONS_PER_COURSE = 500


class LessonView(TypedDict):
    id: str
    course_id: str
    title: str
    description: str
    position: int
    duration: float | None
    is_preview: bool
    section_id: str | None
    available_after_days: int | None
    video_status: str
    created_at: datetime
    updated_at: datetime


class CourseLessons(TypedDict):
    """A page of a course's lessons, with the course's owner and status for the access check."""

    owner_id: int
    status: str
    total: int
    items: list[LessonView]


def lesson_get(*, lesson_id: str) -> Lesson | None:
    """The lesson as stored, including its `video` sub-document, or None (also for malformed ids)."""
    return LessonRepository().get(lesson_id=lesson_id)


def course_order(course: Course) -> list[str]:
    """The course's lessons in curriculum order (catalog/layout.py)."""
    return curriculum_order(course["sections"], course["lesson_ids"])


def lesson_position(*, course: Course, lesson_id: str) -> int:
    try:
        return course_order(course).index(lesson_id) + 1
    except ValueError:
        return 0


def lesson_view_in(*, lesson: Lesson, course: Course) -> LessonView:
    """The lesson as listed in its course (position and section from the course's curriculum)."""
    return lesson_view(
        lesson=lesson,
        position=lesson_position(course=course, lesson_id=lesson["id"]),
        section_id=section_of(course["sections"], lesson["id"]),
    )


def lesson_view(*, lesson: Lesson, position: int, section_id: str | None = None) -> LessonView:
    return {
        "id": lesson["id"],
        "course_id": lesson["course_id"],
        "title": lesson["title"],
        "description": lesson["description"],
        "position": position,
        "duration": lesson["duration"],
        "is_preview": lesson["is_preview"],
        "section_id": section_id,
        "available_after_days": lesson.get("available_after_days"),
        "video_status": str(lesson["video"].get("status", "none")),
        "created_at": lesson["created_at"],
        "updated_at": lesson["updated_at"],
    }


def ordered_lessons(course: Course) -> list[LessonView]:
    """The course's lessons in curriculum order. The course's `lesson_ids` says which lessons it has; a
    lesson document not (yet/any more) in it is invisible."""
    lessons = LessonRepository().list_for_course(course_id=course["id"], limit=MAX_LESSONS_PER_COURSE * 2)
    return lessons_in_order(course, lessons)


def lessons_in_order(course: Course, lessons: list[Lesson]) -> list[LessonView]:
    by_id = {lesson["id"]: lesson for lesson in lessons}
    placed = {lid: s["id"] for s in course["sections"] for lid in s["lesson_ids"]}
    return [
        lesson_view(lesson=by_id[lid], position=i + 1, section_id=placed.get(lid))
        for i, lid in enumerate(course_order(course))
        if lid in by_id
    ]


def course_lessons_compute(*, course_id: str, offset: int, limit: int) -> tuple[CourseLessons | None, bool]:
    """For the page cache: a page of the course's lessons (None when the course is missing) and whether
    every viewer may share it (published courses)."""
    course = course_get(course_id=course_id)
    if course is None:
        return None, False
    ordered = ordered_lessons(course)
    page: CourseLessons = {
        "owner_id": course["owner_id"],
        "status": course["status"],
        "total": len(ordered),
        "items": ordered[offset : offset + limit],
    }
    return page, course["status"] == "published"


def lesson_detail_get(*, actor: Actor, lesson_id: str) -> tuple[Lesson, Course]:
    """The lesson and its course if the actor may see the course (else NotFound). Uncached."""
    lesson = lesson_get(lesson_id=lesson_id)
    if lesson is None:
        raise NotFound()
    course = course_get(course_id=lesson["course_id"])
    if course is None or lesson_id not in course["lesson_ids"]:
        raise NotFound()
    access.require_visible(actor, access.CourseRef.of(course))
    return lesson, course


# --- access facts for the hot paths (cached) ---------------------------------------------------------
def lesson_access_get(*, lesson_id: str) -> LessonAccess | None:
    """Cached (Redis) lesson facts for hot paths; invalidated by every lesson/course write that changes
    them (`catalog.cache.lesson_invalidate`). On a miss: two MongoDB reads."""
    cached = catalog_cache.lesson_access_cached(lesson_id=lesson_id)
    if cached is not None:
        return cached
    return _lesson_access_load(lesson_id)


def lesson_access_with_enrollment(
    *, lesson_id: str, user_id: int | None
) -> tuple[LessonAccess | None, EnrollmentState | None]:
    """`lesson_access_get` plus, when the cache knows it, `user_id`'s enrollment state in the lesson's
    course (None: not known here, ask `enrollment_state`). Once this process has seen the
    lesson, both come from one Redis round trip (MGET) instead of two."""
    both = (
        catalog_cache.lesson_access_and_enrollment_cached(lesson_id=lesson_id, user_id=user_id)
        if user_id is not None
        else None
    )
    if both is None:
        return lesson_access_get(lesson_id=lesson_id), None
    course_id, cached_access, enrolled = both
    lesson_access = cached_access or _lesson_access_load(lesson_id)
    if lesson_access is None or enrolled is None or lesson_access["course_id"] != course_id:
        return lesson_access, None
    return lesson_access, enrolled


def _lesson_access_load(lesson_id: str) -> LessonAccess | None:
    lesson = lesson_get(lesson_id=lesson_id)
    if lesson is None:
        return None
    course = course_get(course_id=lesson["course_id"])
    if course is None or lesson_id not in course["lesson_ids"]:
        return None
    loaded: LessonAccess = {
        "lesson_id": lesson_id,
        "course_id": course["id"],
        "owner_id": course["owner_id"],
        "duration": lesson["duration"],
        "is_preview": lesson["is_preview"],
        "has_video": bool(lesson["video"].get("playback_id")),
        "available_after_days": lesson.get("available_after_days"),
        "sequential": course["sequential"],
        "previous_lesson_id": previous_lesson(course["sections"], course["lesson_ids"], lesson_id),
    }
    catalog_cache.lesson_access_remember(loaded)
    return loaded

"""Lesson writes: create, update (including moves), reorder, delete (with its video and progress)."""

from typing import Any

from catalog import cache as catalog_cache
from catalog.repositories.base import new_id
from catalog.repositories.courses import CourseRepository
from catalog.repositories.lessons import LessonRepository
from catalog.repositories.progress import ProgressRepository
from catalog.repositories.rollups import RollupRepository
from catalog.selectors.courses import course_get
from catalog.selectors.lessons import MAX_LESSONS_PER_COURSE
from catalog.services.common import archived, now
from catalog.types import Course, Lesson
from catalog.video.deletion import video_delete_for_lesson
from learnstream.errors import Conflict, NotFound, ValidationFailed


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
        raise archived()
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
        now=now(),
    )
    # The lesson becomes visible only once it is in the course's order (one atomic $push).
    index = None if position is None else max(0, position - 1)
    try:
        added = courses.add_lesson(
            course_id=course["id"], lesson_id=lesson["id"], index=index, unless_status="archived", now=now()
        )
    except Exception:
        lessons.delete(lesson_id=lesson["id"])
        raise
    if not added:
        lessons.delete(lesson_id=lesson["id"])
        raise archived()
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
        raise archived()
    fields = dict(fields)
    position = fields.pop("position", None)
    updated_lesson = lesson
    if fields:
        found = LessonRepository().update_fields(lesson_id=lesson["id"], fields=fields, now=now())
        if found is None:
            raise NotFound()
        updated_lesson = found
    if position is not None:
        course = lesson_reorder(course=course, lesson_ids=_move(course["lesson_ids"], lesson["id"], position))
    catalog_cache.lesson_invalidate(lesson_id=lesson["id"])
    return updated_lesson, course


def lesson_delete(*, lesson: Lesson, course: Course) -> None:
    """Remove a lesson: its Mux asset first (if that fails nothing is deleted and the error propagates),
    then its place in the order, the document and its progress. The last lesson of a published course
    cannot be deleted (409: unpublish first)."""
    video_delete_for_lesson(lesson_id=lesson["id"])
    removed = CourseRepository().remove_lesson(
        course_id=course["id"], lesson_id=lesson["id"], keep_one_if_status="published", now=now()
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
    RollupRepository().delete_for_lesson(lesson_id=lesson["id"])
    catalog_cache.lesson_invalidate(lesson_id=lesson["id"])


def lesson_reorder(*, course: Course, lesson_ids: list[str]) -> Course:
    """Replace the lesson order with a permutation of the current lessons, atomically (one
    single-document update with a compare-and-set on the current set of lessons)."""
    if course["status"] == "archived":
        raise archived()
    current = course["lesson_ids"]
    if len(lesson_ids) != len(set(lesson_ids)) or set(lesson_ids) != set(current):
        raise ValidationFailed(
            details={"lesson_ids": ["Must list every lesson of the course exactly once."]},
        )
    updated = CourseRepository().replace_lesson_order(
        course_id=course["id"], expected=current, new_order=lesson_ids, now=now(), unless_status="archived"
    )
    if updated is None:
        raise Conflict(
            "The course's lessons changed meanwhile; reload and retry.",
            details={"lesson_ids": ["The set of lessons changed concurrently."]},
        )
    catalog_cache.catalog_invalidate()
    return updated

"""Lesson writes: create, update (including moves), reorder, delete (with its video and progress)."""

from typing import Any

from catalog import cache as catalog_cache
from catalog.layout import section_of
from catalog.repositories.base import new_id
from catalog.repositories.courses import CourseRepository
from catalog.repositories.lessons import LessonRepository
from catalog.repositories.progress import ProgressRepository
from catalog.repositories.rollups import RollupRepository
from catalog.selectors.courses import course_get
from catalog.selectors.lessons import MAX_LESSONS_PER_COURSE
from catalog.services.common import archived, now
from catalog.services.rollups import activity_lesson_deleting
from catalog.services.sections import check_section, lesson_place, lessons_reorder
from catalog.types import Course, Lesson
from catalog.video.deletion import video_delete_for_lesson
from learnstream.errors import Conflict, NotFound


def lesson_create(
    *,
    course: Course,
    title: str,
    description: str = "",
    position: int | None = None,
    is_preview: bool = False,
    duration: float | None = None,
    section_id: str | None = None,
    available_after_days: int | None = None,
) -> Lesson:
    """Add a lesson at `position` (1-based; default and out-of-range → last), in `section_id` if given
    (then `position` is within that section; in a course with sections, within the unsectioned lessons
    otherwise). Archived course → 409; a section of another course → 400, nothing written."""
    if course["status"] == "archived":
        raise archived()
    check_section(course, section_id)
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
        available_after_days=available_after_days,
    )
    if section_id is not None or course["sections"]:
        # Placed in the layout by compare-and-set (sections and order change together).
        try:
            lesson_place(
                course=course, lesson_id=lesson["id"], section_id=section_id, position=position, adding=True
            )
        except Exception:
            lessons.delete(lesson_id=lesson["id"])
            raise
        return lesson
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
    # The lesson after it has a new previous lesson (release rules): drop the course's lesson facts.
    catalog_cache.course_lessons_invalidate(lesson_ids=course["lesson_ids"])
    return lesson


def _move(order: list[str], lesson_id: str, position: int) -> list[str]:
    rest = [i for i in order if i != lesson_id]
    index = min(max(position - 1, 0), len(rest))
    return [*rest[:index], lesson_id, *rest[index:]]


def lesson_update(*, lesson: Lesson, course: Course, fields: dict[str, Any]) -> tuple[Lesson, Course]:
    """Partial update (title, description, is_preview, duration, available_after_days, and position /
    section_id, which move the lesson with the same compare-and-set as a reorder; in a course with
    sections `position` is within the lesson's section). Archived course → 409; a section of another
    course → 400 before anything is written."""
    if course["status"] == "archived":
        raise archived()
    fields = dict(fields)
    position = fields.pop("position", None)
    moving_section = "section_id" in fields
    section_id = fields.pop("section_id", None)
    if moving_section:
        check_section(course, section_id)
    updated_lesson = lesson
    if fields:
        found = LessonRepository().update_fields(lesson_id=lesson["id"], fields=fields, now=now())
        if found is None:
            raise NotFound()
        updated_lesson = found
    if moving_section or (position is not None and course["sections"]):
        target = section_id if moving_section else section_of(course["sections"], lesson["id"])
        course = lesson_place(course=course, lesson_id=lesson["id"], section_id=target, position=position)
    elif position is not None:
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
    activity_lesson_deleting(course_id=course["id"], lesson_id=lesson["id"])
    ProgressRepository().delete_for_lesson(lesson_id=lesson["id"])
    RollupRepository().delete_for_lesson(lesson_id=lesson["id"])
    catalog_cache.lesson_invalidate(lesson_id=lesson["id"])
    catalog_cache.course_lessons_invalidate(lesson_ids=course["lesson_ids"])  # their previous lessons moved


def lesson_reorder(
    *, course: Course, lesson_ids: list[str], placement: dict[str, str | None] | None = None
) -> Course:
    """Replace the lesson order with a permutation of the current lessons (and, with `placement`, move
    lessons across sections), atomically: one single-document compare-and-set on the course's layout
    revision, so a concurrent reorder or added/deleted lesson makes this 409 instead of being lost."""
    return lessons_reorder(course=course, lesson_ids=lesson_ids, placement=placement)

"""The curriculum read: a course's sections with their lessons, then the unsectioned lessons, in one
MongoDB round trip (course + lessons in one aggregate) and cached like the course page
(`catalog.cache.cached_read`, invalidated by every catalog write). For an enrolled learner each lesson
also says whether it is `completed`, `locked` and when it opens (`available_at`): that part depends on
the viewer, so it is added after the cached read, from the cached enrollment and one MongoDB query
for the learner's completed lessons. The page cache keeps the wire form (`CurriculumPage`, rendered by
the view), so a warm anonymous read does no serialisation.
"""

from datetime import datetime
from typing import Any, NotRequired, TypedDict

from catalog import access
from catalog import cache as catalog_cache
from catalog.repositories.courses import CourseRepository
from catalog.selectors.completion import completed_lessons
from catalog.selectors.enrollments import enrollment_started_at
from catalog.selectors.lessons import LessonView, lessons_in_order
from catalog.selectors.release import lesson_lock
from learnstream.permissions import Actor
from learnstream.timestamps import iso_time


class CurriculumLesson(LessonView):
    completed: NotRequired[bool]
    locked: NotRequired[bool]
    available_at: NotRequired[str | None]


class CurriculumSection(TypedDict):
    id: str
    title: str
    position: int
    lessons: list[CurriculumLesson]


class Curriculum(TypedDict):
    """With the course's owner and status for the access check, and `sequential` for the lock rule."""

    course_id: str
    owner_id: int
    status: str
    sequential: bool
    sections: list[CurriculumSection]
    unsectioned: list[CurriculumLesson]


class SectionView(TypedDict):
    id: str
    title: str
    position: int
    lesson_ids: list[str]


def curriculum_compute(*, course_id: str) -> tuple[Curriculum | None, bool]:
    """For the page cache: the curriculum (None when the course is missing) and whether every viewer
    may share it (published courses). One MongoDB round trip."""
    found = CourseRepository().get_with_lessons(course_id=course_id)
    if found is None:
        return None, False
    course, lessons = found
    ordered = lessons_in_order(course, lessons)
    by_section: dict[str | None, list[CurriculumLesson]] = {}
    for view in ordered:
        by_section.setdefault(view["section_id"], []).append(CurriculumLesson(**view))
    curriculum: Curriculum = {
        "course_id": course["id"],
        "owner_id": course["owner_id"],
        "status": course["status"],
        "sequential": course["sequential"],
        "sections": [
            {"id": s["id"], "title": s["title"], "position": i + 1, "lessons": by_section.get(s["id"], [])}
            for i, s in enumerate(course["sections"])
        ],
        "unsectioned": by_section.get(None, []),
    }
    return curriculum, course["status"] == "published"


class CurriculumPage(TypedDict):
    """The curriculum in its wire form (what the page cache keeps: a hit does no serialisation), plus
    the course's owner and status for the access check and `sequential` for the lock rule."""

    course_id: str
    owner_id: int
    status: str
    sequential: bool
    sections: list[dict[str, Any]]  # {id, title, position, lessons: [lesson rows]}
    unsectioned: list[dict[str, Any]]  # lesson rows: the lesson serializer's output
    # The page as JSON for callers it is not decorated for (views/sections.py); NotRequired: entries
    # cached before it existed lack it.
    body: NotRequired[bytes]


def section_views(page: CurriculumPage) -> list[SectionView]:
    return [
        {
            "id": s["id"],
            "title": s["title"],
            "position": s["position"],
            "lesson_ids": [lesson["id"] for lesson in s["lessons"]],
        }
        for s in page["sections"]
    ]


def curriculum_for(*, actor: Actor, page: CurriculumPage, now: datetime) -> CurriculumPage:
    """The curriculum as this caller sees it: an actively enrolled learner also gets, per lesson,
    `completed`, `locked` and `available_at` (the course's editors are never locked)."""
    if actor.id is None:
        return page
    course_id = page["course_id"]
    entry, _ = catalog_cache.learner_state_cached(user_id=actor.id, course_id=course_id, with_completed=False)
    started_at = enrollment_started_at(user_id=actor.id, course_id=course_id, cached_entry=entry)
    if started_at is None:
        return page
    done = completed_lessons(user_id=actor.id, course_id=course_id)
    catalog_cache.completed_lessons_remember(user_id=actor.id, course_id=course_id, lesson_ids=sorted(done))
    editor = access.can_edit(actor, owner_id=page["owner_id"])
    previous: str | None = None

    def decorate(lesson: dict[str, Any]) -> dict[str, Any]:
        nonlocal previous
        lock = (
            None
            if editor
            else lesson_lock(
                is_preview=bool(lesson["is_preview"]),
                available_after_days=lesson["available_after_days"],
                previous_lesson_id=previous if page["sequential"] else None,
                started_at=started_at,
                completed=done,
                now=now,
            )
        )
        previous = lesson["id"]
        return {
            **lesson,
            "completed": lesson["id"] in done,
            "locked": bool(lock and lock.locked),
            "available_at": iso_time(lock.available_at) if lock else None,
        }

    sections = [{**s, "lessons": [decorate(lesson) for lesson in s["lessons"]]} for s in page["sections"]]
    unsectioned = [decorate(lesson) for lesson in page["unsectioned"]]
    return {**page, "sections": sections, "unsectioned": unsectioned}

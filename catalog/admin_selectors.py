"""Reads the admin site needs beyond `catalog.selectors`: whole lessons (with their `video`
sub-document and Mux ids, which the public selectors deliberately leave out), lesson search across
courses, and course titles in one batch. Admin-only callers; no visibility rules apply here.
"""

from dataclasses import dataclass

from catalog.layout import curriculum_order
from catalog.repositories.courses import CourseRepository
from catalog.repositories.lessons import LessonRepository, LessonSearch
from catalog.types import Course, Lesson


@dataclass(frozen=True)
class AdminLessonRow:
    lesson: Lesson
    position: int  # 1-based place in the course's order; 0 if the course does not list it
    course_id: str
    course_title: str | None  # None when the course document is missing


def course_titles_get(*, course_ids: list[str]) -> dict[str, str]:
    """Titles of the given courses (missing ones are absent): one MongoDB query for the whole batch."""
    if not course_ids:
        return {}
    courses = CourseRepository().get_many(course_ids=sorted(set(course_ids)))
    return {course_id: course["title"] for course_id, course in courses.items()}


def course_lessons_admin_list(*, course: Course) -> list[AdminLessonRow]:
    """The course's lessons in order, whole (video state included): one MongoDB query."""
    lessons = LessonRepository().get_many(lesson_ids=course["lesson_ids"])
    return [
        AdminLessonRow(
            lesson=lessons[lesson_id],
            position=index + 1,
            course_id=course["id"],
            course_title=course["title"],
        )
        for index, lesson_id in enumerate(curriculum_order(course["sections"], course["lesson_ids"]))
        if lesson_id in lessons
    ]


def lesson_admin_search(
    *, text: str | None, video_status: str | None, offset: int, limit: int
) -> tuple[int, list[AdminLessonRow]]:
    """(total, page) of lessons matching a title substring or an exact lesson/Mux id, optionally with a
    given video status, newest first; each with its course's title and its position. Three MongoDB
    commands per page (count, find, the page's courses) whatever its size."""
    query = LessonSearch(text=text or None, video_status=video_status or None)
    repo = LessonRepository()
    total = repo.search_count(query=query)
    lessons = repo.search(query=query, offset=offset, limit=limit) if total else []
    courses = CourseRepository().get_many(course_ids=sorted({lesson["course_id"] for lesson in lessons}))
    rows: list[AdminLessonRow] = []
    for lesson in lessons:
        course = courses.get(lesson["course_id"])
        order = curriculum_order(course["sections"], course["lesson_ids"]) if course else []
        rows.append(
            AdminLessonRow(
                lesson=lesson,
                position=order.index(lesson["id"]) + 1 if lesson["id"] in order else 0,
                course_id=lesson["course_id"],
                course_title=course["title"] if course else None,
            )
        )
    return total, rows

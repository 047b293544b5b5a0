"""When a learner has completed a course: the one definition, shared by prerequisites (enrolling in a
course that requires others) and certificates.

A course is completed when it has at least one lesson and the learner has completed every lesson it
has now (lessons added later re-open it; progress on deleted lessons does not count).
"""

from catalog.repositories.progress import ProgressRepository
from catalog.types import Course


def completed_lessons(*, user_id: int, course_id: str) -> set[str]:
    """The lessons of the course this user has completed (one MongoDB query)."""
    return (
        ProgressRepository()
        .completed_lesson_ids(user_id=user_id, course_ids=[course_id])
        .get(course_id, set())
    )


def is_course_completed(*, course: Course, completed_lesson_ids: set[str]) -> bool:
    return bool(course["lesson_ids"]) and set(course["lesson_ids"]) <= completed_lesson_ids


def courses_completed(*, user_id: int, courses: list[Course]) -> set[str]:
    """The ids of `courses` this user has completed (one MongoDB query for the whole batch)."""
    if not courses:
        return set()
    done = ProgressRepository().completed_lesson_ids(user_id=user_id, course_ids=[c["id"] for c in courses])
    return {
        c["id"]
        for c in courses
        if is_course_completed(course=c, completed_lesson_ids=done.get(c["id"], set()))
    }

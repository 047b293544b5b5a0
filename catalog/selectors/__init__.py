"""Catalog reads (selectors): keyword-only, typed, returning read models and `Page`s.

One module per concept (courses, lessons, enrollments, progress, metrics). This package re-exports the
reads other apps, management commands and tests use, so callers need not know the split.
"""

from catalog.selectors.courses import (
    CourseDetail,
    CourseListParams,
    course_detail_of,
    course_get,
    course_get_by_slug,
)
from catalog.selectors.enrollments import enrollment_is_active, enrollment_state
from catalog.selectors.lessons import lesson_get, lesson_position, lesson_view
from catalog.selectors.progress import course_progress_get

__all__ = [
    "CourseDetail",
    "CourseListParams",
    "course_detail_of",
    "course_get",
    "course_get_by_slug",
    "course_progress_get",
    "enrollment_is_active",
    "enrollment_state",
    "lesson_get",
    "lesson_position",
    "lesson_view",
]

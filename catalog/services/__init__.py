"""Catalog writes (services): keyword-only, typed; they raise ApplicationError subclasses and invalidate
the caches they affect (`catalog/cache.py`). One module per concept; this package re-exports them so
callers (views, the admin pages, management commands, tests) need not know the split."""

from catalog.services.courses import (
    course_archive,
    course_create,
    course_publish,
    course_unpublish,
    course_update,
)
from catalog.services.enrollments import (
    PaymentRequired,
    enrollment_cancel,
    enrollment_create,
    enrollment_grant,
    enrollment_revoke,
)
from catalog.services.lessons import lesson_create, lesson_delete, lesson_reorder, lesson_update
from catalog.services.progress import progress_complete, progress_record
from catalog.services.sections import section_create, section_delete, section_update, sections_reorder

__all__ = [
    "PaymentRequired",
    "course_archive",
    "course_create",
    "course_publish",
    "course_unpublish",
    "course_update",
    "enrollment_cancel",
    "enrollment_create",
    "enrollment_grant",
    "enrollment_revoke",
    "lesson_create",
    "lesson_delete",
    "lesson_reorder",
    "lesson_update",
    "progress_complete",
    "progress_record",
    "section_create",
    "section_delete",
    "section_update",
    "sections_reorder",
]

"""The lesson a video request is about, read in one round trip and checked with `catalog.access`."""

from catalog import access
from catalog.repositories.lessons import LessonRepository
from catalog.types import LessonContext
from learnstream.errors import Conflict
from learnstream.permissions import Actor

LESSON_NOT_FOUND = "Lesson not found."


def course_ref_of(context: LessonContext | None) -> access.CourseRef | None:
    """The lesson's course for access checks; None when the lesson or its course is gone."""
    if context is None or context.course_status is None or context.course_owner_id is None:
        return None
    return access.CourseRef(owner_id=context.course_owner_id, status=context.course_status)


def lesson_for_owner(*, actor: Actor, lesson_id: str, action: str) -> LessonContext:
    """The lesson if `actor` may edit its course: 404 when the course is invisible to them, 403 when
    visible but not theirs."""
    context = LessonRepository().video_context(lesson_id=lesson_id)
    access.require_editable(
        actor,
        course_ref_of(context),
        forbidden=f"Only the course owner or an administrator can {action}.",
        not_found=LESSON_NOT_FOUND,
    )
    assert context is not None  # require_editable raised otherwise
    return context


def lesson_for_video_change(*, actor: Actor, lesson_id: str) -> LessonContext:
    """As `lesson_for_owner`, and 409 for archived courses (no new uploads there)."""
    context = lesson_for_owner(actor=actor, lesson_id=lesson_id, action="manage this lesson's video")
    if context.course_status == "archived":
        raise Conflict("The course is archived.")
    return context

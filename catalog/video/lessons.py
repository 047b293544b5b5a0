"""The lesson a video request is about, read in one round trip and checked with `catalog.access`."""

from catalog import access
from catalog import cache as catalog_cache
from catalog.repositories.lessons import LessonRepository
from catalog.types import EnrollmentState, LessonContext
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


def lesson_for_viewer(
    *, lesson_id: str, user_id: int | None
) -> tuple[LessonContext | None, EnrollmentState | None]:
    """The playback read: the lesson's context and, when cached, the viewer's enrollment answer in its
    course (None: ask `enrollment_state`). Warm, both come from one Redis round trip; the context is
    re-read from MongoDB (one aggregate) after any catalog write (`catalog.cache.lesson_context_cached`)."""
    cached = catalog_cache.lesson_context_cached(lesson_id=lesson_id, user_id=user_id)
    generation, context, enrollment = cached
    if context is None:
        context = LessonRepository().video_context(lesson_id=lesson_id)
        if context is not None and context.course_status is not None:
            catalog_cache.lesson_context_remember(context, generation=generation)
    return context, enrollment

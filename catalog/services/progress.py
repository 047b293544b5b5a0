"""Progress writes: heartbeats and explicit completion. One MongoDB round trip once lookups are cached."""

from catalog import access
from catalog.repositories.progress import ProgressRepository
from catalog.selectors.courses import course_get
from catalog.selectors.lessons import lesson_access_with_enrollment
from catalog.selectors.metrics import ProgressView, progress_view
from catalog.selectors.progress import can_record_progress
from catalog.services.common import now
from catalog.types import LessonAccess
from learnstream.errors import NotFound
from learnstream.permissions import Actor

COMPLETION_THRESHOLD = 0.9  # a lesson is completed once the furthest position reaches 90 % of it


def _seconds(value: float) -> float:
    """Positions are kept at millisecond precision (and -0.0 becomes 0.0). Besides being all the
    precision a player has, this keeps subnormal doubles away from `$max`: SecantusDB 0.7.0b3 orders
    doubles below ~1e-128 above 1.0 in `$max`, which would move progress backwards."""
    return round(value, 3) + 0.0


def _learner_access(*, actor: Actor, lesson_id: str) -> tuple[LessonAccess, bool]:
    """(the lesson's access facts, whether the progress is the editor's preview) or 404/403."""
    lesson_access, enrolled = lesson_access_with_enrollment(lesson_id=lesson_id, user_id=actor.id)
    if lesson_access is None:
        raise NotFound()
    allowed, preview = can_record_progress(actor=actor, lesson_access=lesson_access, enrolled=enrolled)
    if not allowed:
        # The failure path reads the course for its status: the cached facts do not carry it.
        course = course_get(course_id=lesson_access["course_id"])
        access.deny(
            actor,
            access.CourseRef.of(course) if course else None,
            forbidden="Enroll in this course to record progress.",
        )
    return lesson_access, preview


def progress_record(
    *, actor: Actor, lesson_id: str, position: float, watched_seconds: float | None = None
) -> ProgressView:
    """Heartbeat. The position is clamped to the lesson's duration when known; the lesson is completed
    once the position reaches 90 % of it."""
    lesson_access, preview = _learner_access(actor=actor, lesson_id=lesson_id)
    duration = lesson_access["duration"]
    position = _seconds(position)
    if duration is not None and duration > 0:
        position = min(position, duration)
    completed = bool(duration and duration > 0 and position >= COMPLETION_THRESHOLD * duration)
    return _advance(
        actor=actor,
        lesson_access=lesson_access,
        preview=preview,
        position=position,
        completed=completed,
        watched_seconds=_seconds(watched_seconds) if watched_seconds is not None else None,
    )


def progress_complete(*, actor: Actor, lesson_id: str) -> ProgressView:
    """Mark the lesson completed (idempotent; completion is never undone)."""
    lesson_access, preview = _learner_access(actor=actor, lesson_id=lesson_id)
    return _advance(
        actor=actor, lesson_access=lesson_access, preview=preview, position=None, completed=True,
        watched_seconds=None,
    )  # fmt: skip


def _advance(
    *,
    actor: Actor,
    lesson_access: LessonAccess,
    preview: bool,
    position: float | None,
    completed: bool,
    watched_seconds: float | None,
) -> ProgressView:
    """The one upsert both writes share (`$max`: never backwards), rendered as the learner sees it."""
    lesson_id = lesson_access["lesson_id"]
    progress = ProgressRepository().advance(
        user_id=actor.id or 0,
        lesson_id=lesson_id,
        course_id=lesson_access["course_id"],
        position=position,
        completed=completed,
        watched_seconds=watched_seconds,
        preview=preview,
        now=now(),
    )
    return progress_view(progress=progress, lesson_id=lesson_id, duration=lesson_access["duration"])

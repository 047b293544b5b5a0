"""Progress writes: heartbeats and explicit completion. One MongoDB round trip once lookups are cached,
plus one for the lesson rollup when the write is a transition (start, completion, a new decile) and
two for the learner's last active hour on the learner-lesson's first write of an hour."""

from collections.abc import Sequence

from django.conf import settings

from catalog import access, coverage
from catalog.repositories.progress import Heartbeat, ProgressRepository
from catalog.repositories.rollups import RollupRepository
from catalog.selectors.courses import course_get
from catalog.selectors.lessons import lesson_access_with_enrollment
from catalog.selectors.metrics import ProgressView, progress_view
from catalog.selectors.progress import can_record_progress
from catalog.selectors.release import LessonRules, require_lesson_open
from catalog.services.certificates import certificate_issue_if_complete
from catalog.services.common import now
from catalog.services.rollups import activity_touched
from catalog.types import LessonAccess
from learnstream.errors import Conflict, NotFound
from learnstream.permissions import Actor

NOT_WATCHED_ENOUGH = "not_watched_enough"


class NotWatchedEnough(Conflict):
    code = NOT_WATCHED_ENOUGH
    default_message = "Watch more of this lesson's video to complete it."


def completion_coverage() -> float:
    """The share of a lesson's video a learner must have watched to complete it (`COMPLETION_COVERAGE`)."""
    return float(settings.COMPLETION_COVERAGE)


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
    *, actor: Actor, lesson_id: str, position: float, segments: Sequence[Sequence[float]] = ()
) -> ProgressView:
    """Heartbeat: the position (clamped to the duration when known) and the segments played since the
    previous heartbeat, merged into the watched union under the credit bound (`catalog/coverage.py`).
    The lesson completes once coverage reaches `COMPLETION_COVERAGE`; the position alone never does."""
    lesson_access, preview = _learner_access(actor=actor, lesson_id=lesson_id)
    require_lesson_open(actor=actor, rules=LessonRules.of_access(lesson_access), now=now())
    duration = lesson_access["duration"]
    position = _seconds(position)
    if duration is not None and duration > 0:
        position = min(position, duration)
    return _advance(
        actor=actor, lesson_access=lesson_access, preview=preview, position=position, segments=segments,
        complete=False,
    )  # fmt: skip


def progress_complete(*, actor: Actor, lesson_id: str) -> ProgressView:
    """Mark the lesson completed (idempotent; completion is never undone). A lesson with a video completes
    only through watched coverage: until it is reached this answers 409 `not_watched_enough` and writes
    nothing."""
    lesson_access, preview = _learner_access(actor=actor, lesson_id=lesson_id)
    require_lesson_open(actor=actor, rules=LessonRules.of_access(lesson_access), now=now())
    duration = lesson_access["duration"]
    if lesson_access.get("has_video") and duration and duration > 0:
        # `.get`: facts cached before `has_video` existed lack it (they expire within minutes).
        current = ProgressRepository().get(user_id=actor.id or 0, lesson_id=lesson_id)
        if current is not None and current["completed"]:
            return progress_view(progress=current, lesson_id=lesson_id, duration=duration)
        coverage = current["coverage"] if current else 0.0
        if coverage < completion_coverage():
            raise NotWatchedEnough(details={"coverage": coverage, "required": completion_coverage()})
    return _advance(
        actor=actor, lesson_access=lesson_access, preview=preview, position=None, segments=(), complete=True
    )


def _advance(
    *,
    actor: Actor,
    lesson_access: LessonAccess,
    preview: bool,
    position: float | None,
    segments: Sequence[Sequence[float]],
    complete: bool,
) -> ProgressView:
    """The one upsert both writes share, then, only when it was a transition (start, completion, a new
    decile), the lesson rollup's `$inc` and on a completion the certificate check, and on the
    learner-lesson's first write of an hour the move of the learner's last active hour."""
    lesson_id, course_id, duration = (
        lesson_access["lesson_id"],
        lesson_access["course_id"],
        lesson_access["duration"],
    )
    grid = coverage.grid_seconds(duration)
    user_id = actor.id or 0
    result = ProgressRepository().advance(
        beat=Heartbeat(
            user_id=user_id,
            lesson_id=lesson_id,
            course_id=course_id,
            position=position,
            segments=coverage.normalise(segments, duration=duration, grid=grid),
            grid=grid,
            duration=duration,
            threshold=completion_coverage(),
            complete=complete,
            preview=preview,
            now=now(),
        )
    )
    if result.active_hour is not None:
        activity_touched(course_id=course_id, user_id=user_id, hour=result.active_hour)
    if result.transition is not None:
        RollupRepository().apply(lesson_id=lesson_id, course_id=course_id, delta=result.transition)
        if result.transition.completed:
            certificate_issue_if_complete(user_id=user_id, course_id=course_id)
    return progress_view(progress=result.progress, lesson_id=lesson_id, duration=duration)

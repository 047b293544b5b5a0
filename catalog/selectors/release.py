"""Release rules: whether a learner may open a lesson yet (drip and sequence). The one home of the rule;
playback, heartbeats, explicit completion and the curriculum all ask here.

- A lesson with `available_after_days = n` opens n days after the learner's (current) enrollment began.
- In a `sequential` course a lesson opens once the lesson before it (curriculum order) is completed.
- The course's editors (owner, admins) and preview lessons are never locked.

The hot paths pay nothing for lessons without rules (the facts they already read say so). For a lesson
with rules, one Redis MGET brings the enrollment's start and the learner's cached completed-lesson set.
That set may miss a completion that happened after it was cached (completions are final, so it can only
under-report): before refusing because of the sequence, the set is re-read from MongoDB and re-cached,
so nobody is locked out by a stale copy.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from catalog import access
from catalog import cache as catalog_cache
from catalog.selectors.completion import completed_lessons
from catalog.selectors.enrollments import enrollment_started_at
from catalog.types import LessonAccess, LessonContext
from learnstream.errors import PermissionDenied
from learnstream.permissions import Actor
from learnstream.timestamps import iso_time


class LessonLocked(PermissionDenied):
    code = "lesson_locked"
    default_message = "This lesson is not available yet."


@dataclass(frozen=True, slots=True)
class LessonRules:
    """What the rule needs to know about a lesson and its course."""

    lesson_id: str
    course_id: str
    owner_id: int
    is_preview: bool
    available_after_days: int | None
    sequential: bool
    previous_lesson_id: str | None

    @classmethod
    def of_access(cls, facts: LessonAccess) -> "LessonRules":
        return cls(
            lesson_id=facts["lesson_id"],
            course_id=facts["course_id"],
            owner_id=facts["owner_id"],
            is_preview=facts["is_preview"],
            available_after_days=facts.get("available_after_days"),
            sequential=bool(facts.get("sequential", False)),
            previous_lesson_id=facts.get("previous_lesson_id"),
        )

    @classmethod
    def of_context(cls, context: LessonContext) -> "LessonRules":
        return cls(
            lesson_id=context.lesson_id,
            course_id=context.course_id,
            owner_id=context.course_owner_id or 0,
            is_preview=context.is_preview,
            available_after_days=context.available_after_days,
            sequential=context.course_sequential,
            previous_lesson_id=context.previous_lesson_id,
        )

    @property
    def waits_for_previous(self) -> bool:
        return self.sequential and self.previous_lesson_id is not None

    @property
    def has_rules(self) -> bool:
        return not self.is_preview and (self.waits_for_previous or bool(self.available_after_days))


@dataclass(frozen=True, slots=True)
class Lock:
    locked: bool
    available_at: datetime | None  # when a drip lock lifts; None when open or locked by the sequence


OPEN = Lock(locked=False, available_at=None)


def drip_opens_at(*, started_at: datetime | None, days: int | None) -> datetime | None:
    if not days or started_at is None:
        return None
    return started_at + timedelta(days=days)


def lesson_lock(
    *,
    is_preview: bool,
    available_after_days: int | None,
    previous_lesson_id: str | None,
    started_at: datetime | None,
    completed: set[str],
    now: datetime,
) -> Lock:
    """The rule for a learner (editors never get here). `previous_lesson_id` only for sequential
    courses. Locked by the sequence → `available_at` None (it depends on the learner, not on time)."""
    if is_preview:
        return OPEN
    if previous_lesson_id is not None and previous_lesson_id not in completed:
        return Lock(locked=True, available_at=None)
    opens_at = drip_opens_at(started_at=started_at, days=available_after_days)
    if opens_at is not None and now < opens_at:
        return Lock(locked=True, available_at=opens_at)
    return OPEN


def lesson_lock_for(*, actor: Actor, rules: LessonRules, now: datetime) -> Lock:
    """The lock state of this lesson for this caller (who already passed the access check)."""
    if actor.id is None or not rules.has_rules or access.can_edit(actor, owner_id=rules.owner_id):
        return OPEN
    entry, cached_done = catalog_cache.learner_state_cached(
        user_id=actor.id, course_id=rules.course_id, with_completed=rules.waits_for_previous
    )
    started_at = enrollment_started_at(user_id=actor.id, course_id=rules.course_id, cached_entry=entry)
    done = set(cached_done or ())
    if rules.waits_for_previous and (cached_done is None or rules.previous_lesson_id not in done):
        # Not known to be completed: ask MongoDB (the cached set may predate the completion).
        done = completed_lessons(user_id=actor.id, course_id=rules.course_id)
        catalog_cache.completed_lessons_remember(
            user_id=actor.id, course_id=rules.course_id, lesson_ids=sorted(done)
        )
    return lesson_lock(
        is_preview=rules.is_preview,
        available_after_days=rules.available_after_days,
        previous_lesson_id=rules.previous_lesson_id if rules.sequential else None,
        started_at=started_at,
        completed=done,
        now=now,
    )


def require_lesson_open(*, actor: Actor, rules: LessonRules, now: datetime) -> None:
    """403 `lesson_locked` with `details.available_at` (null when locked by the sequence)."""
    lock = lesson_lock_for(actor=actor, rules=rules, now=now)
    if lock.locked:
        raise LessonLocked(
            "This lesson is locked: complete the previous lesson first."
            if lock.available_at is None
            else "This lesson opens later.",
            details={"available_at": iso_time(lock.available_at)},
        )

"""Lesson rollups (`catalog/repositories/rollups.py`) and learners' last active hours
(`catalog/repositories/activity.py`): what a learner's progress contributes to them, the changes that
enrollment makes, and the rebuild of both from progress documents."""

from datetime import datetime

from catalog.repositories.activity import ActivityRepository, State
from catalog.repositories.base import Document
from catalog.repositories.lessons import LessonRepository
from catalog.repositories.progress import ProgressRepository, Transition, decile_of, hour_of, rolled_of
from catalog.repositories.rollups import DECILES, LessonRollup, RollupRepository, empty_rollup
from catalog.types import Course


def contribution(doc: Document, *, duration: float | None) -> Transition:
    """A whole progress document as the rollups count it (what its transitions have added up to)."""
    decile = doc.get("decile")
    if decile is None:  # written before rollups existed: the decile the heartbeat pipeline assumes
        decile = decile_of(max_position=float(doc.get("max_position", 0.0)), duration=duration)
    watched, percent = rolled_of(doc, duration=duration)
    return Transition(
        started=True,
        completed=bool(doc.get("completed")),
        deciles=tuple(1 if i <= int(decile) else 0 for i in range(DECILES)),
        watched=watched,
        percent=percent,
    )


def rollups_enrollment_changed(*, user_id: int, course_id: str, active: bool) -> None:
    """Unenrolling takes the learner's progress out of the course's rollups; enrolling again puts it back."""
    docs = ProgressRepository().set_retired(user_id=user_id, course_id=course_id, retired=not active)
    if not docs:
        return
    activity = ActivityRepository()
    change = activity.add_retired(
        course_id=course_id, user_id=user_id, count=-len(docs) if active else len(docs)
    )
    if change is not None:
        activity.apply(course_id=course_id, changes=[change])
    lessons = LessonRepository().get_many(lesson_ids=[str(d["lesson_id"]) for d in docs])
    sign = 1 if active else -1
    deltas = []
    for doc in docs:
        lesson = lessons.get(str(doc["lesson_id"]))
        deltas.append(
            (str(doc["lesson_id"]), contribution(doc, duration=lesson["duration"] if lesson else None), sign)
        )
    RollupRepository().apply_many(course_id=course_id, deltas=deltas)


def activity_touched(*, course_id: str, user_id: int, hour: datetime) -> None:
    """A progress write was the learner-lesson's first in `hour`: move the learner's last active hour
    there, and them to its bucket (unchanged when another lesson of theirs already did: one round trip)."""
    activity = ActivityRepository()
    change = activity.touch(course_id=course_id, user_id=user_id, hour=hour)
    if change is not None and change.before != change.after:
        activity.apply(course_id=course_id, changes=[change])


def activity_lesson_deleting(*, course_id: str, lesson_id: str) -> None:
    """Before a lesson's progress is deleted: its retired documents leave their learners' retired counts,
    so a learner who re-enrolls later counts again (`catalog/repositories/activity.py`). Their last
    active hour stays: they were active then."""
    activity = ActivityRepository()
    changes = []
    for user_id in ProgressRepository().delete_retired_for_lesson(lesson_id=lesson_id):
        change = activity.add_retired(course_id=course_id, user_id=user_id, count=-1)
        if change is not None:
            changes.append(change)
    activity.apply(course_id=course_id, changes=changes)


def activity_compute(*, course_id: str) -> dict[int, State]:
    """Every learner's last active hour and retired documents, recomputed from the progress documents."""
    found = ProgressRepository().learner_activity_for_course(course_id=course_id)
    return {user_id: State(hour=hour_of(last), retired=retired) for user_id, (last, retired) in found.items()}


def rollups_compute(*, course: Course) -> dict[str, LessonRollup]:
    """The course's lesson rollups recomputed from its progress documents (reads every one of them)."""
    lessons = LessonRepository().get_many(lesson_ids=course["lesson_ids"])
    rollups: dict[str, LessonRollup] = {}
    for doc in ProgressRepository().counted_for_course(course_id=course["id"]):
        lesson_id = str(doc["lesson_id"])
        lesson = lessons.get(lesson_id)
        part = contribution(doc, duration=lesson["duration"] if lesson else None)
        row = rollups.setdefault(lesson_id, empty_rollup())
        row["starts"] += 1
        row["completions"] += int(part.completed)
        row["watch_time"] += part.watched
        row["percent_sum"] += part.percent
        row["reached"] = [n + step for n, step in zip(row["reached"], part.deciles, strict=True)]
    return rollups


def rollups_rebuild(*, course: Course) -> dict[str, LessonRollup]:
    """Replace the course's rollups with `rollups_compute` and its learners' activity with
    `activity_compute` (run while the course is quiet: heartbeats landing during the rebuild may be
    missed until the next one)."""
    rollups = rollups_compute(course=course)
    RollupRepository().replace_for_course(course_id=course["id"], rollups=rollups)
    ActivityRepository().replace_for_course(
        course_id=course["id"], learners=activity_compute(course_id=course["id"])
    )
    return rollups

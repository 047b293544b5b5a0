"""The `lesson_rollups` collection: one document per lesson with its learners' progress reduced.

Document: `{_id: lesson ObjectId, course_id: ObjectId, starts, completions, watch_time, percent_sum,
r0 ... r9}`: `starts` = progress documents counted, `completions` = completed ones, `watch_time` = sum
of their rolled watched seconds, `percent_sum` = sum of their rolled lesson percents, `rK` = those
whose furthest position reached decile K. Maintained by `$inc` on the progress writes that are
transitions (`catalog/repositories/progress.py`), so course analytics read one document per lesson
whatever the number of learners; `rebuild_for_course` recomputes them from the progress documents.
Counted: non-preview progress of learners who have not unenrolled (`retired`).
"""

from typing import TypedDict

from pymongo import ASCENDING, UpdateOne
from pymongo.operations import IndexModel

from catalog.repositories.base import Document, collection, insert_all, oid, oids
from catalog.repositories.progress import Transition

COLLECTION = "lesson_rollups"
INDEXES = [IndexModel([("course_id", ASCENDING)], name="course")]
DECILES = 10


class LessonRollup(TypedDict):
    starts: int
    completions: int
    watch_time: float
    percent_sum: float
    reached: list[int]  # per decile 0-9


def empty_rollup() -> LessonRollup:
    return {"starts": 0, "completions": 0, "watch_time": 0.0, "percent_sum": 0.0, "reached": [0] * DECILES}


def _increments(delta: Transition, *, sign: int = 1) -> Document:
    inc: Document = {}
    if delta.started:
        inc["starts"] = sign
    if delta.completed:
        inc["completions"] = sign
    if delta.watched:
        inc["watch_time"] = sign * delta.watched
    if delta.percent:
        inc["percent_sum"] = sign * delta.percent
    for i, step in enumerate(delta.deciles):
        if step:
            inc[f"r{i}"] = sign * step
    return inc


def _to_rollup(doc: Document) -> LessonRollup:
    return {
        "starts": int(doc.get("starts", 0)),
        "completions": int(doc.get("completions", 0)),
        "watch_time": float(doc.get("watch_time", 0.0)),
        "percent_sum": float(doc.get("percent_sum", 0.0)),
        "reached": [int(doc.get(f"r{i}", 0)) for i in range(DECILES)],
    }


class RollupRepository:
    def __init__(self) -> None:
        self.col = collection(COLLECTION)

    def apply(self, *, lesson_id: str, course_id: str, delta: Transition) -> None:
        """Add one transition (one round trip)."""
        self.apply_many(course_id=course_id, deltas=[(lesson_id, delta, 1)])

    def apply_many(self, *, course_id: str, deltas: list[tuple[str, Transition, int]]) -> None:
        """Add (sign 1) or remove (-1) whole contributions, one bulk write."""
        ops = [
            UpdateOne(
                {"_id": oid(lesson_id)},
                {"$inc": inc, "$setOnInsert": {"course_id": oid(course_id)}},
                upsert=True,
            )
            for lesson_id, delta, sign in deltas
            if (inc := _increments(delta, sign=sign))
        ]
        if ops:
            self.col.bulk_write(ops, ordered=False)

    def for_lessons(self, *, lesson_ids: list[str]) -> dict[str, LessonRollup]:
        """The rollups of these lessons (one round trip; lessons without progress are absent)."""
        ids = oids(lesson_ids)
        if not ids:
            return {}
        return {str(d["_id"]): _to_rollup(d) for d in self.col.find({"_id": {"$in": ids}})}

    def replace_for_course(self, *, course_id: str, rollups: dict[str, LessonRollup]) -> None:
        """Swap in rebuilt rollups for a course's lessons."""
        self.col.delete_many({"course_id": oid(course_id)})
        docs = [
            {
                "_id": oid(lesson_id),
                "course_id": oid(course_id),
                "starts": r["starts"],
                "completions": r["completions"],
                "watch_time": r["watch_time"],
                "percent_sum": r["percent_sum"],
                **{f"r{i}": n for i, n in enumerate(r["reached"])},
            }
            for lesson_id, r in rollups.items()
        ]
        insert_all(self.col, docs)

    def delete_for_lesson(self, *, lesson_id: str) -> None:
        self.col.delete_one({"_id": oid(lesson_id)})

"""Learners' last active hour per course, and per (course, hour) how many learners were last active then,
so "learners active in the last 7 days" is a sum over at most 169 small documents, whatever the number
of learners.

- `course_activity`: one document per (course, learner): `{_id: {c, u}, c, h: <UTC hour start of their
  last activity>, r: <their retired progress documents>, _w: [records]}`. A learner counts (sits in
  the bucket of `h`) when the document has `h` and `r <= 0`: an unenrolled learner's progress is
  retired (`progress.py`), and `r` counts those documents up and down as they flip, so concurrent
  unenroll/re-enroll calls add up exactly.
- `course_activity_hours`: one document per (course, hour): `{_id: {c, h}, c, h, n}`, `n` = learners
  who count and whose `h` is this hour. Every learner who counts is in exactly one bucket.

Every write to a learner's document is one `findAndModify` that appends a record of the learner's
state before AND after it (`_w`, the last `WRITE_RECORDS`, found by write id): the bucket `$inc`s
follow from that record alone, so they are exact whatever the order of concurrent writes, also when
SecantusDB answers a colliding upsert with `value: null` and the document has to be read back.
`replace_for_course` swaps in a rebuild (`catalog/services/activity.py`).
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo import ASCENDING, UpdateOne
from pymongo.operations import IndexModel

from catalog.repositories.base import (
    Document,
    aggregate_hinted,
    collection,
    insert_all,
    oid,
    upsert_returning,
)

COLLECTION = "course_activity"
INDEXES = [IndexModel([("c", ASCENDING)], name="course")]
HOURS_COLLECTION = "course_activity_hours"
HOURS_INDEX = "course_hour"
MORE_INDEXES = {HOURS_COLLECTION: [IndexModel([("c", ASCENDING), ("h", ASCENDING)], name=HOURS_INDEX)]}
WRITE_RECORDS = 4


@dataclass(frozen=True)
class State:
    hour: datetime | None
    retired: int

    @property
    def counted(self) -> bool:
        return self.hour is not None and self.retired <= 0


@dataclass(frozen=True)
class Change:
    before: State
    after: State


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _state(value: Document) -> State:
    return State(hour=_aware(value.get("h")), retired=int(value.get("r", 0)))


def _write(*, write_id: str, h: object, r: object, course: object) -> list[Document]:
    """A pipeline update setting `h` and `r` (expressions over the current document) and recording the
    state before and after under `write_id`."""
    before = {"h": {"$ifNull": ["$h", None]}, "r": {"$ifNull": ["$r", 0]}}
    return [
        {"$set": {"_t0": before}},
        {"$set": {"h": h, "r": r, "c": course}},
        {
            "$set": {
                "_w": {
                    "$concatArrays": [
                        {"$slice": [{"$ifNull": ["$_w", []]}, 1 - WRITE_RECORDS]},
                        [{"w": write_id, "b": "$_t0", "a": {"h": "$h", "r": "$r"}}],
                    ]
                }
            }
        },
        {"$unset": ["_t0"]},
    ]


def _bucket_key(course_id: str, hour: datetime) -> Document:
    return {"c": oid(course_id), "h": hour}


class ActivityRepository:
    def __init__(self) -> None:
        self.col = collection(COLLECTION)
        self.hours = collection(HOURS_COLLECTION)

    def _change(self, *, flt: Document, pipeline: list[Document], write_id: str) -> Change | None:
        """Apply one upserting write on `flt` (the document's `_id`); the change it recorded."""
        doc = upsert_returning(self.col, flt, pipeline)
        for record in (doc or {}).get("_w") or ():
            if record.get("w") == write_id:
                return Change(before=_state(record["b"]), after=_state(record["a"]))
        return None  # pragma: no cover - pushed out by WRITE_RECORDS later writes since

    def touch(self, *, course_id: str, user_id: int, hour: datetime) -> Change | None:
        """Move the learner's last active hour forward to `hour`, creating their document (never back:
        a heartbeat of an earlier hour that lands late changes nothing). One round trip."""
        write_id = secrets.token_hex(8)
        key = {"c": oid(course_id), "u": user_id}
        later = {"$cond": [{"$lt": [{"$ifNull": ["$h", None]}, hour]}, hour, "$h"]}
        return self._change(
            flt={"_id": key},
            pipeline=_write(write_id=write_id, h=later, r={"$ifNull": ["$r", 0]}, course=key["c"]),
            write_id=write_id,
        )

    def add_retired(self, *, course_id: str, user_id: int, count: int) -> Change | None:
        """`count` (negative: restored) more of the learner's progress documents are retired."""
        write_id = secrets.token_hex(8)
        key = {"c": oid(course_id), "u": user_id}
        return self._change(
            flt={"_id": key},
            pipeline=_write(
                write_id=write_id,
                h={"$ifNull": ["$h", None]},
                r={"$add": [{"$ifNull": ["$r", 0]}, count]},
                course=key["c"],
            ),
            write_id=write_id,
        )

    def apply(self, *, course_id: str, changes: list[Change]) -> None:
        """Move the changed learners between hour buckets (one bulk write)."""
        steps: dict[datetime, int] = {}
        for change in changes:
            if change.before.counted and change.before.hour is not None:
                steps[change.before.hour] = steps.get(change.before.hour, 0) - 1
            if change.after.counted and change.after.hour is not None:
                steps[change.after.hour] = steps.get(change.after.hour, 0) + 1
        ops = [
            UpdateOne(
                {"_id": _bucket_key(course_id, hour)},
                {"$inc": {"n": step}, "$setOnInsert": {"c": oid(course_id), "h": hour}},
                upsert=True,
            )
            for hour, step in sorted(steps.items())
            if step
        ]
        if ops:
            self.hours.bulk_write(ops, ordered=False)

    def count_since(self, *, course_id: str, hour: datetime) -> int:
        """Learners who count and whose last active hour is `hour` or later: one aggregation over the
        course's buckets from `hour` on (at most one per hour), on the (c, h) index."""
        rows = aggregate_hinted(
            self.hours,
            [
                {"$match": {"c": oid(course_id), "h": {"$gte": hour}}},
                {"$group": {"_id": None, "n": {"$sum": "$n"}}},
            ],
            index=HOURS_INDEX,
        )
        return int(rows[0]["n"]) if rows else 0

    def learners_for_course(self, *, course_id: str) -> dict[int, State]:
        """Every learner document of the course (for rebuild checks and tests: reads one per learner)."""
        return {int(d["_id"]["u"]): _state(d) for d in self.col.find({"c": oid(course_id)}, {"h": 1, "r": 1})}

    def buckets_for_course(self, *, course_id: str) -> dict[datetime, int]:
        """The course's non-empty hour buckets."""
        found: dict[datetime, int] = {}
        for d in self.hours.find({"c": oid(course_id)}, {"h": 1, "n": 1}):
            if int(d.get("n", 0)):
                hour = _aware(d["h"])
                assert hour is not None
                found[hour] = int(d["n"])
        return found

    def replace_for_course(self, *, course_id: str, learners: dict[int, State]) -> None:
        """Swap in rebuilt learner documents and the buckets they imply."""
        course = oid(course_id)
        self.col.delete_many({"c": course})
        self.hours.delete_many({"c": course})
        insert_all(
            self.col,
            [
                {"_id": {"c": course, "u": u}, "c": course, "h": s.hour, "r": s.retired}
                for u, s in learners.items()
            ],
        )
        counts: dict[datetime, int] = {}
        for state in learners.values():
            if state.counted and state.hour is not None:
                counts[state.hour] = counts.get(state.hour, 0) + 1
        insert_all(
            self.hours,
            [{"_id": _bucket_key(course_id, h), "c": course, "h": h, "n": n} for h, n in counts.items()],
        )

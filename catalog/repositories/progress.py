"""The `progress` collection: one document per (user, lesson).

Document: `{_id, user_id: int, lesson_id: ObjectId, course_id: ObjectId, position, max_position,
segs: [[start, end], ...], watched_seconds, coverage, completed, completed_at, decile, cov_decile,
rolled: {watched, percent}, beat_at, preview, retired, created_at, updated_at, _w}`.

- `segs` is the union of watched intervals (grid-snapped, sorted, disjoint: `catalog/coverage.py`);
  `watched_seconds` its length and `coverage` that over the duration. Documents written before
  coverage existed have no `segs`: their union starts empty and their completion stays.
- `decile` (furthest position, 0-9) and `cov_decile` (coverage, 0-10) change at most ten times each.
  A write that starts the document, completes it or moves either decile is a *transition*; only then
  do `rolled` (the watched seconds and lesson percent last counted in the lesson rollups) change.
- `_w` holds a record of each of the last `WRITE_RECORDS` writes, found by the write's id: for a
  transition what the rollups counted before AND after it, so the caller adds the exact difference to
  the rollups (`catalog/repositories/rollups.py`) even when it has to read the document back after
  later writes; for every write the previous activity time (`beat_at`), so the caller knows when the
  learner's last active hour moves (`catalog/repositories/activity.py`).
- `retired` marks the progress of a learner who unenrolled: kept, but out of the rollups.

Every heartbeat is one `findAndModify` upsert whose pipeline only moves monotonic fields forward, so
retries, duplicates and out-of-order heartbeats can never move `max_position` or the union back or
un-complete a lesson.
"""

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.operations import IndexModel

from catalog.coverage import CREDIT_GRACE_SECONDS, MAX_PLAYBACK_RATE, Interval
from catalog.repositories.base import Document, collection, oid, oids, upsert_returning
from catalog.types import LearnerCourseSummary, Progress

logger = logging.getLogger(__name__)

WRITE_RECORDS = 6  # records of the last writes kept per document (see `_record`)

COLLECTION = "progress"
COURSE_USER_INDEX = "course_user"
COURSE_UPDATED_INDEX = "course_updated_at"
INDEXES = [
    IndexModel([("user_id", ASCENDING), ("lesson_id", ASCENDING)], unique=True, name="user_lesson_unique"),
    IndexModel([("course_id", ASCENDING), ("user_id", ASCENDING)], name=COURSE_USER_INDEX),
    IndexModel([("course_id", ASCENDING), ("updated_at", DESCENDING)], name=COURSE_UPDATED_INDEX),
    IndexModel([("user_id", ASCENDING), ("course_id", ASCENDING)], name="user_course"),
    IndexModel([("lesson_id", ASCENDING)], name="lesson"),
    IndexModel([("updated_at", DESCENDING)], name="updated_at"),
]


@dataclass(frozen=True)
class Heartbeat:
    """One write to a progress document. `position=None` records no position (an explicit completion);
    `segments` are already validated, clipped, snapped and merged (`catalog.coverage.normalise`)."""

    user_id: int
    lesson_id: str
    course_id: str
    position: float | None
    segments: list[Interval]
    grid: int
    duration: float | None
    threshold: float
    complete: bool
    preview: bool
    now: datetime
    write_id: str = field(default_factory=lambda: secrets.token_hex(8))


@dataclass(frozen=True)
class Transition:
    """What one write changed that the lesson rollups count. `started`: the document was created;
    `deciles`: per decile 0-9, +1 when newly reached by the furthest position (-1 if no longer);
    `watched`/`percent`: the differences of the rolled-up watched seconds and lesson percent."""

    started: bool
    completed: bool
    deciles: tuple[int, ...]
    watched: float
    percent: float


@dataclass(frozen=True)
class Advance:
    progress: Progress
    transition: Transition | None  # None: nothing the rollups count changed (or preview/retired)
    active_hour: datetime | None = None  # set when the learner's activity may move to this hour


def _to_progress(doc: Document) -> Progress:
    return {
        "user_id": int(doc["user_id"]),
        "lesson_id": str(doc["lesson_id"]),
        "course_id": str(doc["course_id"]),
        "position": float(doc.get("position", 0)),
        "max_position": float(doc.get("max_position", 0)),
        "watched_seconds": float(doc.get("watched_seconds", 0)),
        "coverage": float(doc.get("coverage", 0)),
        "completed": bool(doc.get("completed", False)),
        "completed_at": doc.get("completed_at"),
        "updated_at": doc["updated_at"],
    }


_FAR = 1e18  # "beyond any lesson": the open end of the last gap of a union


def _start(interval: Any) -> Document:
    """The start of an interval expression (`[start, end]`): `$first`, half the nodes of `$arrayElemAt`,
    which SecantusDB walks one by one to validate every write."""
    return {"$first": interval}


def _end(interval: Any) -> Document:
    return {"$last": interval}


def _decile_expr(position: Any, duration: float | None) -> Any:
    """floor(position * 10 / duration) capped at 9 (0 while the duration is unknown); `decile_of` in
    Python is the same arithmetic."""
    if not duration or duration <= 0:
        return 0
    return {"$min": [9, {"$floor": {"$divide": [{"$multiply": [position, 10]}, duration]}}]}


def _cov_decile_expr(coverage: Any, duration: float | None) -> Any:
    if not duration or duration <= 0:
        return 0
    return {"$min": [10, {"$floor": {"$multiply": [coverage, 10]}}]}


def _percent_expr(position: Any, duration: float | None) -> Any:
    if not duration or duration <= 0:
        return 0.0
    return {"$min": [100.0, {"$multiply": [{"$divide": [position, duration]}, 100.0]}]}


def rolled_of(doc: Document, *, duration: float | None) -> tuple[float, float]:
    """(watched seconds, lesson percent) that the rollups count for a document: its `rolled` record, or
    for a document older than the rollups what the heartbeat pipeline assumes for it (`_tr`)."""
    rolled = doc.get("rolled")
    if rolled is not None:
        return float(rolled.get("watched", 0.0)), float(rolled.get("percent", 0.0))
    if doc.get("completed"):
        return 0.0, 100.0
    if not duration or duration <= 0:
        return 0.0, 0.0
    return 0.0, min(100.0, float(doc.get("max_position", 0.0)) / duration * 100.0)


def decile_of(*, max_position: float, duration: float | None) -> int:
    """The furthest-position decile the store computes (`_decile_expr`), for documents that predate it."""
    if not duration or duration <= 0:
        return 0
    return int(min(9, (max_position * 10) // duration))


def _union_steps(beat: Heartbeat) -> list[Document]:
    """`$let` steps from the stored union (`$$union`) to the new one (`$$segs`) under the credit budget:
    `catalog.coverage.uncovered`, `take_budget` and `merge`. A heartbeat without segments leaves the union
    as it is (it is stored sorted and merged), so it skips them."""
    if not beat.segments:
        return [{"segs": "$$union"}]
    grid, now = beat.grid, beat.now
    elapsed = {"$divide": [{"$subtract": [now, "$beat_at"]}, 1000]}
    budget = {
        "$cond": [
            {"$eq": [{"$type": "$beat_at"}, "missing"]},
            CREDIT_GRACE_SECONDS,
            {"$add": [{"$multiply": [{"$max": [0, elapsed]}, MAX_PLAYBACK_RATE]}, CREDIT_GRACE_SECONDS]},
        ]
    }
    gaps = {
        "$reduce": {
            "input": "$$union",
            "initialValue": {"prev": 0, "out": []},
            "in": {
                "prev": _end("$$this"),
                "out": {
                    "$cond": [
                        {"$gt": [_start("$$this"), "$$value.prev"]},
                        {
                            "$concatArrays": [
                                "$$value.out",
                                [["$$value.prev", _start("$$this")]],
                            ]
                        },
                        "$$value.out",
                    ]
                },
            },
        }
    }
    pieces = {
        "$reduce": {
            "input": {"$literal": [[a, b] for a, b in beat.segments]},
            "initialValue": [],
            "in": {
                "$concatArrays": [
                    "$$value",
                    {
                        "$filter": {
                            "input": {
                                "$map": {
                                    "input": "$$gaps",
                                    "as": "g",
                                    "in": [
                                        {
                                            "$max": [
                                                _start("$$this"),
                                                _start("$$g"),
                                            ]
                                        },
                                        {
                                            "$min": [
                                                _end("$$this"),
                                                _end("$$g"),
                                            ]
                                        },
                                    ],
                                }
                            },
                            "as": "x",
                            "cond": {"$lt": [_start("$$x"), _end("$$x")]},
                        }
                    },
                ]
            },
        }
    }
    take = {
        "$min": [
            {"$subtract": [_end("$$this"), _start("$$this")]},
            {"$multiply": [{"$floor": {"$divide": ["$$value.left", grid]}}, grid]},
        ]
    }
    taken = {
        "$reduce": {
            "input": "$$pieces",
            "initialValue": {"left": "$$budget", "out": []},
            "in": {
                "$let": {
                    "vars": {"take": take},
                    "in": {
                        "$cond": [
                            {"$gt": ["$$take", 0]},
                            {
                                "left": {"$subtract": ["$$value.left", "$$take"]},
                                "out": {
                                    "$concatArrays": [
                                        "$$value.out",
                                        [[_start("$$this"),
                                          {"$add": [_start("$$this"), "$$take"]}]],
                                    ]
                                },
                            },
                            "$$value",
                        ]
                    },
                }
            },
        }
    }  # fmt: skip
    cur = "$$value.cur"
    merged = {
        "$reduce": {
            "input": {"$sortArray": {"input": {"$concatArrays": ["$$union", "$$taken.out"]}, "sortBy": 1}},
            "initialValue": {"done": [], "cur": None},
            "in": {
                "$cond": [
                    {"$eq": [cur, None]},
                    {"done": "$$value.done", "cur": "$$this"},
                    {
                        "$cond": [
                            {"$gte": [_end(cur), _start("$$this")]},
                            {
                                "done": "$$value.done",
                                "cur": [
                                    _start(cur),
                                    {"$max": [_end(cur), _end("$$this")]},
                                ],
                            },
                            {"done": {"$concatArrays": ["$$value.done", [cur]]}, "cur": "$$this"},
                        ]
                    },
                ]
            },
        }
    }
    segs = {"$cond": [{"$eq": ["$$merged.cur", None]}, "$$merged.done",
                      {"$concatArrays": ["$$merged.done", ["$$merged.cur"]]}]}  # fmt: skip
    return [
        {
            "budget": budget,
            "gaps": {
                "$let": {"vars": {"s": gaps}, "in": {"$concatArrays": ["$$s.out", [["$$s.prev", _FAR]]]}}
            },
        },
        {"pieces": pieces},
        {"taken": taken},
        {"merged": merged},
        {"segs": segs},
    ]


def _heartbeat_pipeline(beat: Heartbeat) -> list[Document]:
    """The heartbeat as an aggregation-pipeline update; `catalog.coverage.heartbeat_apply` is the same
    algorithm in Python.

    One `$replaceWith` stage: the values each step needs from the one before are `$let` variables, and
    the document is the old one merged with the new fields. A `$set` per step (the earlier form, 12
    stages) copied the whole document once per stage on SecantusDB, which was most of its cost there."""
    dur, now = beat.duration, beat.now
    known = bool(dur and dur > 0)
    if beat.position is None:
        position: Any = {"$ifNull": ["$position", 0.0]}
        max_position: Any = "$$mp0"
    else:
        position = beat.position
        max_position = {"$max": ["$$mp0", beat.position]}
    # Steps 1 and 2, from the stored document: what it was (for the transition and the write record),
    # the union, and the new positions.
    stored = {
        "new": {"$eq": [{"$type": "$created_at"}, "missing"]},
        "was": {"$ifNull": ["$completed", False]},
        "mp0": {"$ifNull": ["$max_position", 0.0]},
        "union": {"$ifNull": ["$segs", []]},
        # The last activity before this write (None when new): `Advance.active_hour` reads it.
        "a0": {"$ifNull": ["$beat_at", {"$ifNull": ["$updated_at", None]}]},
        "pos": position,
        "pv": {"$ifNull": ["$preview", beat.preview]},
    }
    was = {
        "d0": {"$cond": ["$$new", -1, {"$ifNull": ["$decile", _decile_expr("$$mp0", dur)]}]},
        "c0": {"$cond": ["$$new", -1, {"$ifNull": ["$cov_decile", _cov_decile_expr(
            {"$ifNull": ["$coverage", 0.0]}, dur)]}]},
        # Documents older than the rollups: counted as `rolled_of` counts them on a rebuild.
        "r0": {"$ifNull": ["$rolled", {"watched": 0.0, "percent": {"$cond": [
            "$$was", 100.0, _percent_expr("$$mp0", dur)]}}]},
        "maxpos": max_position,
    }  # fmt: skip
    watched = {"$sum": {"$map": {"input": "$$segs", "in": {
        "$subtract": [_end("$$this"), _start("$$this")]}}}}  # fmt: skip
    coverage = {"$min": [1, {"$divide": ["$$watched", dur]}]} if known else 0.0
    reached = bool(known) and beat.threshold <= 1
    completed: Any = {
        "$or": ["$$was", beat.complete, {"$gte": ["$$coverage", beat.threshold]} if reached else False]
    }
    changed = {
        "$or": [
            "$$new",
            {"$ne": ["$$completed", "$$was"]},
            {"$ne": ["$$decile", "$$d0"]},
            {"$ne": ["$$cov_decile", "$$c0"]},
        ]
    }
    rolled_now = {
        "watched": "$$watched",
        "percent": {"$cond": ["$$completed", 100.0, _percent_expr("$$maxpos", dur)]},
    }
    record = {"$cond": ["$$changed", {
        "w": beat.write_id, "t": True, "a0": "$$a0", "new": "$$new", "was": "$$was", "c1": "$$completed",
        "d0": "$$d0", "d1": "$$decile", "r0": "$$r0", "r1": "$$rolled_now", "pv": "$$pv",
        "rt": {"$ifNull": ["$retired", False]},
    }, {"w": beat.write_id, "t": False, "a0": "$$a0", "pv": "$$pv"}]}  # fmt: skip
    fields = {
        "segs": "$$segs",
        "position": "$$pos",
        "max_position": "$$maxpos",
        "course_id": {"$ifNull": ["$course_id", oid(beat.course_id)]},
        "preview": "$$pv",
        "created_at": {"$ifNull": ["$created_at", now]},
        "updated_at": now,
        "beat_at": {"$max": [{"$ifNull": ["$beat_at", now]}, now]},
        "watched_seconds": "$$watched",
        "coverage": "$$coverage",
        "decile": "$$decile",
        "completed": "$$completed",
        "cov_decile": "$$cov_decile",
        "completed_at": {"$cond": ["$$completed", {"$ifNull": ["$completed_at", now]}, None]},
        "rolled": {"$cond": ["$$changed", "$$rolled_now", "$$r0"]},
        # This write's record, before AND after, so its delta never depends on a later write.
        "_w": {"$concatArrays": [{"$slice": [{"$ifNull": ["$_w", []]}, 1 - WRITE_RECORDS]}, ["$$record"]]},
    }
    # Each step's variables may use those of the steps before it.
    steps: list[Document] = [
        stored,
        was,
        *_union_steps(beat),
        {"watched": watched, "decile": _decile_expr("$$maxpos", dur)},
        {"coverage": coverage},
        {"completed": completed, "cov_decile": _cov_decile_expr("$$coverage", dur)},
        {"changed": changed, "rolled_now": rolled_now},
        {"record": record},
    ]
    body: Any = {"$mergeObjects": ["$$ROOT", fields]}
    for bindings in reversed(steps):
        body = {"$let": {"vars": bindings, "in": body}}
    # `_prev`: the write record of an earlier release, superseded by `_w`.
    return [{"$replaceWith": {"$setField": {"field": "_prev", "input": body, "value": "$$REMOVE"}}}]


def _record(doc: Document, *, write_id: str) -> Document | None:
    """This write's record in the document's last `WRITE_RECORDS` (None if later writes pushed it out)."""
    for record in doc.get("_w") or ():
        if record.get("w") == write_id:
            return dict(record)
    return None


def _transition(record: Document) -> Transition | None:
    if not record.get("t") or record.get("pv") or record.get("rt"):
        return None  # previews and unenrolled learners' progress stay out of the rollups
    after, before = record.get("r1") or {}, record.get("r0") or {}
    return Transition(
        started=bool(record.get("new")),
        completed=bool(record.get("c1")) and not record.get("was"),
        deciles=_decile_delta(before=int(record.get("d0", -1)), after=int(record.get("d1", 0))),
        watched=float(after.get("watched", 0.0)) - float(before.get("watched", 0.0)),
        percent=float(after.get("percent", 0.0)) - float(before.get("percent", 0.0)),
    )


def hour_of(moment: datetime) -> datetime:
    """The start of `moment`'s UTC hour: the granularity of the learners' activity (`activity.py`)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _active_hour(record: Document, *, now: datetime) -> datetime | None:
    """`now`'s hour when this write is the learner-lesson's first activity in it (the document is new or
    its previous activity is in an earlier hour), else None; previews never count."""
    if record.get("pv"):
        return None
    before = record.get("a0")
    hour = hour_of(now)
    if before is None or hour_of(_aware(before)) < hour:
        return hour
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _decile_delta(*, before: int, after: int) -> tuple[int, ...]:
    """Per decile 0-9: +1 newly reached, -1 no longer reached (a replaced video's new duration)."""
    return tuple((1 if before < i <= after else -1 if after < i <= before else 0) for i in range(10))


class ProgressRepository:
    def __init__(self) -> None:
        self.col = collection(COLLECTION)

    def advance(self, *, beat: Heartbeat) -> Advance:
        """One round trip (`findAndModify` with an aggregation-pipeline update, upserting). Merges the
        heartbeat's segments into the stored union under the credit bound (`catalog.coverage`), moves
        `max_position` forward only, completes at the coverage threshold (or when `beat.complete`), and
        records the transition the write made, for the rollups."""
        flt = {"user_id": beat.user_id, "lesson_id": oid(beat.lesson_id)}
        pipeline = _heartbeat_pipeline(beat)
        doc = upsert_returning(self.col, flt, pipeline)
        if doc is None:  # pragma: no cover - would mean the acknowledged write vanished
            raise RuntimeError("progress upsert returned no document")
        record = _record(doc, write_id=beat.write_id)
        if record is None:  # pragma: no cover - more than WRITE_RECORDS writes between ours and the read
            logger.warning("progress write %s: record superseded; rollups may lag", beat.write_id)
            return Advance(progress=_to_progress(doc), transition=None)
        return Advance(
            progress=_to_progress(doc),
            transition=_transition(record),
            active_hour=_active_hour(record, now=beat.now),
        )

    _COUNTED = ("lesson_id", "completed", "decile", "max_position", "rolled")

    def counted_for_course(self, *, course_id: str) -> Iterator[Document]:
        """Every document the rollups count in a course (non-preview, not retired), streamed; for
        rebuilds only (it reads one document per learner and lesson)."""
        return self.col.find(
            {"course_id": oid(course_id), "preview": {"$ne": True}, "retired": {"$ne": True}},
            {k: 1 for k in self._COUNTED},
        )

    def learner_activity_for_course(self, *, course_id: str) -> dict[int, tuple[datetime, int]]:
        """Per learner of the course (non-preview progress): (last activity, number of retired
        documents); for rebuilds only (one aggregation over every progress document of the course)."""
        rows = self.col.aggregate(
            [
                {"$match": {"course_id": oid(course_id), "preview": {"$ne": True}}},
                {
                    "$group": {
                        "_id": "$user_id",
                        "last": {"$max": {"$ifNull": ["$beat_at", "$updated_at"]}},
                        "retired": {"$sum": {"$cond": [{"$eq": ["$retired", True]}, 1, 0]}},
                    }
                },
            ]
        )
        return {int(r["_id"]): (_aware(r["last"]), int(r["retired"])) for r in rows}

    def set_retired(self, *, user_id: int, course_id: str, retired: bool) -> list[Document]:
        """Retire (unenroll) or restore (re-enroll) a learner's non-preview progress in a course and return
        the documents this call flipped: each is flipped by one caller only, so concurrent calls never
        count one twice. One round trip per document of theirs in the course (bounded by its lessons)."""
        match: Document = {"user_id": user_id, "course_id": oid(course_id), "preview": {"$ne": True}}
        state = {"retired": {"$ne": True}} if retired else {"retired": True}
        ids = [d["_id"] for d in self.col.find({**match, **state}, {"_id": 1})]
        flipped: list[Document] = []
        for doc_id in ids:
            doc = self.col.find_one_and_update(
                {"_id": doc_id, **state},
                {"$set": {"retired": True}} if retired else {"$unset": {"retired": ""}},
                projection={k: 1 for k in self._COUNTED},
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                flipped.append(doc)
        return flipped

    def count_completed(self, *, user_id: int, course_id: str, lesson_ids: list[str]) -> int:
        """How many of `lesson_ids` the user has completed (non-preview), counted in the store."""
        ids = oids(lesson_ids)
        if not ids:
            return 0
        return self.col.count_documents(
            {"user_id": user_id, "course_id": oid(course_id), "lesson_id": {"$in": ids}, "completed": True,
             "preview": {"$ne": True}}
        )  # fmt: skip

    def get(self, *, user_id: int, lesson_id: str) -> Progress | None:
        doc = self.col.find_one({"user_id": user_id, "lesson_id": oid(lesson_id)})
        return _to_progress(doc) if doc else None

    def for_user_in_course(self, *, user_id: int, course_id: str, limit: int) -> list[Progress]:
        cursor = self.col.find({"user_id": user_id, "course_id": oid(course_id)}).limit(limit)
        return [_to_progress(d) for d in cursor]

    def completed_lesson_ids(self, *, user_id: int, course_ids: list[str]) -> dict[str, set[str]]:
        """Per course: the lessons this user has completed (one indexed query, ids only)."""
        ids = oids(course_ids)
        if not ids:
            return {}
        cursor = self.col.find(
            {"user_id": user_id, "course_id": {"$in": ids}, "completed": True},
            {"_id": 0, "course_id": 1, "lesson_id": 1},
        )
        found: dict[str, set[str]] = {}
        for doc in cursor:
            found.setdefault(str(doc["course_id"]), set()).add(str(doc["lesson_id"]))
        return found

    def delete_retired_for_lesson(self, *, lesson_id: str) -> list[int]:
        """Delete the lesson's retired (unenrolled learners') non-preview documents, one by one so each is
        deleted as retired exactly once whatever a concurrent re-enroll flips; returns their users. One
        round trip per such document, plus the read."""
        match: Document = {"lesson_id": oid(lesson_id), "retired": True, "preview": {"$ne": True}}
        users: list[int] = []
        for found in list(self.col.find(match, {"_id": 1})):
            doc = self.col.find_one_and_delete({"_id": found["_id"], **match}, projection={"user_id": 1})
            if doc is not None:
                users.append(int(doc["user_id"]))
        return users

    def delete_for_lesson(self, *, lesson_id: str) -> int:
        return self.col.delete_many({"lesson_id": oid(lesson_id)}).deleted_count

    def _summaries(self, *, match: Document, group_key: str) -> dict[Any, LearnerCourseSummary]:
        rows = self.col.aggregate(
            [
                {"$match": match},
                {"$sort": {"updated_at": DESCENDING}},
                {
                    "$group": {
                        "_id": f"${group_key}",
                        "completed": {"$sum": {"$cond": ["$completed", 1, 0]}},
                        "last_lesson_id": {"$first": "$lesson_id"},
                        "updated_at": {"$first": "$updated_at"},
                    }
                },
            ]
        )
        return {
            r["_id"]: {
                "completed_lessons": int(r["completed"]),
                "last_lesson_id": str(r["last_lesson_id"]) if r.get("last_lesson_id") else None,
                "updated_at": r.get("updated_at"),
            }
            for r in rows
        }

    def summaries_for_user(self, *, user_id: int, course_ids: list[str]) -> dict[str, LearnerCourseSummary]:
        """Per course: completed lessons, most recently touched lesson, last activity (one aggregation)."""
        ids = oids(course_ids)
        if not ids:
            return {}
        found = self._summaries(match={"user_id": user_id, "course_id": {"$in": ids}}, group_key="course_id")
        return {str(k): v for k, v in found.items()}

    def summaries_for_course(self, *, course_id: str, user_ids: list[int]) -> dict[int, LearnerCourseSummary]:
        """Per user, within one course (one aggregation)."""
        if not user_ids:
            return {}
        found = self._summaries(
            match={"course_id": oid(course_id), "user_id": {"$in": user_ids}}, group_key="user_id"
        )
        return {int(k): v for k, v in found.items()}

    def summaries_for_pairs(
        self, *, pairs: list[tuple[int, str]]
    ) -> dict[tuple[int, str], LearnerCourseSummary]:
        """Per (user, course) pair, for an admin's cross-user enrollment list (one aggregation)."""
        if not pairs:
            return {}
        match = {"$or": [{"user_id": u, "course_id": oid(c)} for u, c in pairs]}
        rows = self.col.aggregate(
            [
                {"$match": match},
                {"$sort": {"updated_at": DESCENDING}},
                {
                    "$group": {
                        "_id": {"u": "$user_id", "c": "$course_id"},
                        "completed": {"$sum": {"$cond": ["$completed", 1, 0]}},
                        "last_lesson_id": {"$first": "$lesson_id"},
                        "updated_at": {"$first": "$updated_at"},
                    }
                },
            ]
        )
        return {
            (int(r["_id"]["u"]), str(r["_id"]["c"])): {
                "completed_lessons": int(r["completed"]),
                "last_lesson_id": str(r["last_lesson_id"]) if r.get("last_lesson_id") else None,
                "updated_at": r.get("updated_at"),
            }
            for r in rows
        }

    def count_lessons_watched_since(self, *, since: datetime) -> int:
        """(user, lesson) pairs with a non-preview heartbeat or completion since `since`."""
        return self.col.count_documents({"updated_at": {"$gte": since}, "preview": {"$ne": True}})

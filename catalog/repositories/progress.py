"""The `progress` collection: one document per (user, lesson).

Document: `{_id, user_id: int, lesson_id: ObjectId, course_id: ObjectId, position, max_position,
watched_seconds, completed, completed_at, preview, created_at, updated_at}`.
Every write is one `findAndModify` upsert whose monotonic fields use `$max`/`$min`, so retries,
duplicates and out-of-order heartbeats can never move `max_position` back or un-complete a lesson.
"""

import logging
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError, OperationFailure
from pymongo.operations import IndexModel

from catalog.repositories.base import Document, collection, oid, oids
from catalog.types import LearnerCourseSummary, Progress

logger = logging.getLogger(__name__)

BAD_VALUE = 2  # the server's error code for a hint naming no index (MongoDB and SecantusDB alike)

COLLECTION = "progress"
COURSE_USER_INDEX = "course_user"
INDEXES = [
    IndexModel([("user_id", ASCENDING), ("lesson_id", ASCENDING)], unique=True, name="user_lesson_unique"),
    IndexModel([("course_id", ASCENDING), ("user_id", ASCENDING)], name=COURSE_USER_INDEX),
    IndexModel([("course_id", ASCENDING), ("updated_at", DESCENDING)], name="course_updated_at"),
    IndexModel([("user_id", ASCENDING), ("course_id", ASCENDING)], name="user_course"),
    IndexModel([("lesson_id", ASCENDING)], name="lesson"),
    IndexModel([("updated_at", DESCENDING)], name="updated_at"),
]


def _to_progress(doc: Document) -> Progress:
    return {
        "user_id": int(doc["user_id"]),
        "lesson_id": str(doc["lesson_id"]),
        "course_id": str(doc["course_id"]),
        "position": float(doc.get("position", 0)),
        "max_position": float(doc.get("max_position", 0)),
        "watched_seconds": float(doc.get("watched_seconds", 0)),
        "completed": bool(doc.get("completed", False)),
        "completed_at": doc.get("completed_at"),
        "updated_at": doc["updated_at"],
    }


class ProgressRepository:
    def __init__(self) -> None:
        self.col = collection(COLLECTION)

    def advance(
        self,
        *,
        user_id: int,
        lesson_id: str,
        course_id: str,
        position: float | None,
        completed: bool,
        watched_seconds: float | None,
        preview: bool,
        now: datetime,
    ) -> Progress:
        """One round trip. `position=None` records no position (an explicit completion)."""
        update: dict[str, Any] = {
            "$set": {"updated_at": now},
            "$max": {"completed": completed},  # false < true in BSON order: never goes back to false
            "$setOnInsert": {
                "course_id": oid(course_id),
                "preview": preview,
                "created_at": now,
            },
        }
        if position is None:
            update["$setOnInsert"].update({"position": 0.0, "max_position": 0.0})
        else:
            update["$set"]["position"] = position
            update["$max"]["max_position"] = position
        if watched_seconds is None:
            update["$setOnInsert"]["watched_seconds"] = 0.0
        else:
            update["$max"]["watched_seconds"] = watched_seconds
        if completed:
            update["$min"] = {"completed_at": now}  # the first completion time wins
        flt = {"user_id": user_id, "lesson_id": oid(lesson_id)}
        doc: Document | None = None
        for attempt in range(2):
            try:
                doc = self.col.find_one_and_update(
                    flt, update, upsert=True, return_document=ReturnDocument.AFTER
                )
                break
            except DuplicateKeyError:
                # Two first heartbeats raced to insert; the loser's retry matches the winner's document.
                if attempt == 1:
                    raise
        if doc is None:
            # MongoDB always returns the document for upsert + ReturnDocument.AFTER. SecantusDB (our test
            # server) occasionally answers `value: null` with `n: 1` when concurrent upserts collide,
            # although the write is applied; read it back rather than fail.
            doc = self.col.find_one(flt)
        if doc is None:  # pragma: no cover - would mean the acknowledged write vanished
            raise RuntimeError("progress upsert returned no document")
        return _to_progress(doc)

    def get(self, *, user_id: int, lesson_id: str) -> Progress | None:
        doc = self.col.find_one({"user_id": user_id, "lesson_id": oid(lesson_id)})
        return _to_progress(doc) if doc else None

    def for_user_in_course(self, *, user_id: int, course_id: str, limit: int) -> list[Progress]:
        cursor = self.col.find({"user_id": user_id, "course_id": oid(course_id)}).limit(limit)
        return [_to_progress(d) for d in cursor]

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

    def _aggregate_hinted(self, pipeline: list[Document], *, index: str) -> list[Document]:
        """Run `pipeline` with its first `$match` on `index`, so index use does not depend on the planner
        (SecantusDB's, for one, scans the collection for this `$match`). If the index is missing (indexes
        not applied yet) the server refuses the hint: run unhinted rather than fail the request."""
        try:
            return list(self.col.aggregate(pipeline, hint=index))
        except OperationFailure as exc:
            if exc.code != BAD_VALUE or "hint" not in str(exc).lower():
                raise
            logger.warning("progress index %r missing (run manage.py mongo_indexes); unhinted query", index)
            return list(self.col.aggregate(pipeline))

    def course_analytics(
        self, *, course_id: str, user_ids: list[int], lesson_ids: list[str], since: datetime
    ) -> Document:
        """Raw reductions for one course's analytics, in a single `$facet` aggregation (no row per
        learner ever leaves the server).

        Counts only non-preview progress of `user_ids` on `lesson_ids`. Returns `{"learner_count",
        "completers", "completed_sum", "active_since", "lessons": {lesson_id: {"starts", "completions",
        "position_sum_incomplete"}}}`: `completers` = learners who completed every lesson in
        `lesson_ids`; `completed_sum` = completed (learner, lesson) pairs; `active_since` = distinct
        learners with an update at or after `since`; `position_sum_incomplete` = sum of `max_position`
        over the lesson's not-yet-completed documents.
        """
        lesson_oids = oids(lesson_ids)
        result: Document = {
            "learner_count": 0,
            "completers": 0,
            "completed_sum": 0,
            "active_since": 0,
            "lessons": {},
        }
        if not user_ids or not lesson_oids:
            return result
        total = len(lesson_oids)
        completed_flag = {"$cond": ["$completed", 1, 0]}
        pipeline: list[Document] = [
            {
                "$match": {
                    "course_id": oid(course_id),
                    "user_id": {"$in": user_ids},
                    "lesson_id": {"$in": lesson_oids},
                    "preview": {"$ne": True},
                }
            },
            {
                "$facet": {
                    "learners": [
                        {"$group": {"_id": "$user_id", "completed": {"$sum": completed_flag}}},
                        {
                            "$group": {
                                "_id": None,
                                "n": {"$sum": 1},
                                "completers": {"$sum": {"$cond": [{"$gte": ["$completed", total]}, 1, 0]}},
                                "completed_sum": {"$sum": "$completed"},
                            }
                        },
                    ],
                    "active": [
                        {"$match": {"updated_at": {"$gte": since}}},
                        {"$group": {"_id": "$user_id"}},
                        {"$count": "n"},
                    ],
                    "lessons": [
                        {
                            "$group": {
                                "_id": "$lesson_id",
                                "starts": {"$sum": 1},
                                "completions": {"$sum": completed_flag},
                                "position_sum_incomplete": {
                                    "$sum": {"$cond": ["$completed", 0, "$max_position"]}
                                },
                            }
                        }
                    ],
                }
            },
        ]
        rows = self._aggregate_hinted(pipeline, index=COURSE_USER_INDEX)
        if not rows:
            return result
        facet = rows[0]
        if facet["learners"]:
            learners = facet["learners"][0]
            result["learner_count"] = int(learners["n"])
            result["completers"] = int(learners["completers"])
            result["completed_sum"] = int(learners["completed_sum"])
        if facet["active"]:
            result["active_since"] = int(facet["active"][0]["n"])
        result["lessons"] = {
            str(r["_id"]): {
                "starts": int(r["starts"]),
                "completions": int(r["completions"]),
                "position_sum_incomplete": float(r["position_sum_incomplete"]),
            }
            for r in facet["lessons"]
        }
        return result

    def count_lessons_watched_since(self, *, since: datetime) -> int:
        """(user, lesson) pairs with a non-preview heartbeat or completion since `since`."""
        return self.col.count_documents({"updated_at": {"$gte": since}, "preview": {"$ne": True}})

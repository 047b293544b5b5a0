"""The lesson's `video` sub-document and `duration` in the `lessons` collection.

The only writer of lesson video state (uploads, webhook processing, video deletion). Every write is a
compare-and-set on `video.rev`, so a decision taken on a stale read can never overwrite a newer one:
the caller re-reads and decides again. Business rules (what may follow what) live in
`streaming.services`; this module only reads and writes.
"""

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel

from catalog.repositories.base import collection, is_object_id, oid

COLLECTION = "lessons"

# Webhooks find the lesson by upload id or asset id when the passthrough is missing or unusable.
INDEXES = [
    IndexModel([("video.upload_id", ASCENDING)], name="video_upload_id", sparse=True),
    IndexModel([("video.asset_id", ASCENDING)], name="video_asset_id", sparse=True),
    IndexModel([("video.playback_asset_id", ASCENDING)], name="video_playback_asset_id", sparse=True),
]


# The `video` sub-document (a plain dict: it is written whole by compare-and-set):
#   status: none | waiting_upload | processing | ready | errored | cancelled | deleted
#   rev: int                      bumped by every write (compare-and-set)
#   upload_id, asset_id           the current upload pipeline (the newest upload requested)
#   event_at: float | None        Mux `created_at` of the newest event applied to that pipeline
#   errors: {type, messages[]}    Mux's error, kept for the instructor
#   playback_id, playback_asset_id, aspect_ratio, duration
#                                 the playable asset (kept while a replacement is processing)
#   retired_asset_ids: [str]      superseded assets still to delete at Mux
VideoState = dict[str, Any]


@dataclass(frozen=True)
class LessonVideo:
    lesson_id: str
    course_id: str
    title: str
    video: VideoState


@dataclass(frozen=True)
class LessonContext:
    """What access checks need, read in one round trip (lesson + its course's status and owner)."""

    lesson_id: str
    course_id: str
    title: str
    is_preview: bool
    video: VideoState
    course_status: str | None  # None when the course is missing or no longer lists the lesson
    course_owner_id: int | None


_PROJECTION = {"_id": 1, "course_id": 1, "title": 1, "video": 1}


def _object_id(value: str | None) -> ObjectId | None:
    return oid(value) if value and is_object_id(value) else None


def _to_lesson_video(doc: dict[str, Any]) -> LessonVideo:
    video = doc.get("video")
    return LessonVideo(
        lesson_id=str(doc["_id"]),
        course_id=str(doc.get("course_id") or ""),
        title=str(doc.get("title") or ""),
        video=dict(video) if isinstance(video, dict) else {"status": "none"},
    )


def _rev_filter(expected_rev: int) -> Any:
    # Documents written before any video activity have no `rev` yet: treat missing as 0.
    return {"$in": [None, 0]} if expected_rev == 0 else expected_rev


class LessonVideoRepository:
    def __init__(self) -> None:
        self.collection = collection(COLLECTION)

    def get(self, *, lesson_id: str) -> LessonVideo | None:
        oid = _object_id(lesson_id)
        if oid is None:
            return None
        doc = self.collection.find_one({"_id": oid}, _PROJECTION)
        return _to_lesson_video(doc) if doc else None

    def context(self, *, lesson_id: str) -> LessonContext | None:
        """Lesson video state plus the course's status and owner, in one aggregate command."""
        oid = _object_id(lesson_id)
        if oid is None:
            return None
        pipeline: list[dict[str, Any]] = [
            {"$match": {"_id": oid}},
            {"$limit": 1},
            {
                "$lookup": {
                    "from": "courses",
                    "localField": "course_id",
                    "foreignField": "_id",
                    "as": "course",
                }
            },
            # Unwind, then plain field paths: portable to servers without array traversal in expressions.
            {"$unwind": {"path": "$course", "preserveNullAndEmptyArrays": True}},
            {
                "$project": {
                    "course_id": 1,
                    "title": 1,
                    "is_preview": 1,
                    "video": 1,
                    "course_status": "$course.status",
                    "course_owner_id": "$course.owner_id",
                    # The course's `lesson_ids` is the catalog's truth: a lesson not in it is invisible.
                    "in_course": {"$in": ["$_id", {"$ifNull": ["$course.lesson_ids", []]}]},
                }
            },
        ]
        docs = list(self.collection.aggregate(pipeline))
        if not docs:
            return None
        doc = docs[0]
        owner = doc.get("course_owner_id")
        video = doc.get("video")
        return LessonContext(
            lesson_id=str(doc["_id"]),
            course_id=str(doc.get("course_id") or ""),
            title=str(doc.get("title") or ""),
            is_preview=bool(doc.get("is_preview", False)),
            video=dict(video) if isinstance(video, dict) else {"status": "none"},
            course_status=doc.get("course_status") if doc.get("in_course") else None,
            course_owner_id=int(owner) if owner is not None else None,
        )

    def find(
        self, *, lesson_id: str | None, upload_id: str | None, asset_id: str | None
    ) -> LessonVideo | None:
        """The lesson an event refers to: by passthrough (our lesson id), else upload id, else asset id."""
        clauses: list[dict[str, Any]] = []
        oid = _object_id(lesson_id)
        if oid is not None:
            clauses.append({"_id": oid})
        if upload_id:
            clauses.append({"video.upload_id": upload_id})
        if asset_id:
            clauses.append({"video.asset_id": asset_id})
            clauses.append({"video.playback_asset_id": asset_id})
        if not clauses:
            return None
        docs = list(self.collection.find({"$or": clauses}, _PROJECTION).limit(4))
        if not docs:
            return None
        if oid is not None:
            # The passthrough is authoritative when it names an existing lesson.
            for doc in docs:
                if doc["_id"] == oid:
                    return _to_lesson_video(doc)
        return _to_lesson_video(docs[0])

    def compare_and_set(
        self, *, lesson_id: str, expected_rev: int, video: VideoState, duration: float | None = None
    ) -> bool:
        """Replace the `video` sub-document iff nobody wrote it since `expected_rev` was read."""
        oid = _object_id(lesson_id)
        if oid is None:
            return False
        new_video = dict(video)
        new_video["rev"] = expected_rev + 1
        update: dict[str, Any] = {"video": new_video}
        if duration is not None:
            update["duration"] = duration
        result = self.collection.update_one(
            {"_id": oid, "video.rev": _rev_filter(expected_rev)}, {"$set": update}
        )
        return result.modified_count == 1

    def retired_asset_remove(self, *, lesson_id: str, asset_id: str) -> None:
        """Forget a superseded asset once Mux has deleted it (does not bump `rev`: no state change)."""
        oid = _object_id(lesson_id)
        if oid is not None:
            self.collection.update_one({"_id": oid}, {"$pull": {"video.retired_asset_ids": asset_id}})

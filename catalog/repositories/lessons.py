"""The `lessons` collection: the only module that reads or writes lesson documents.

Document: `{_id, course_id: ObjectId, title, description, duration: float|null, is_preview,
available_after_days: int|null, video: {status, ...Mux ids}, created_at, updated_at}`. Positions and
sections are not stored here: the course's `lesson_ids` and `sections` are the curriculum (see
`courses.py`), so a reorder or a move between sections is one atomic single-document write.

The `video` sub-document (shape in `catalog/types.py`, `VideoState`) is written only by the video
lifecycle (`catalog/video/`), and only by compare-and-set on `video.rev`, so a decision taken on a stale
read can never overwrite a newer one: the caller re-reads and decides again. What may follow what is
decided in `catalog/video/state.py`; this module only reads and writes.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.operations import IndexModel

from catalog.layout import Section, previous_lesson
from catalog.repositories.base import (
    Document,
    collection,
    in_batches,
    insert_new,
    is_object_id,
    oid,
    oids,
)
from catalog.types import Lesson, LessonContext, LessonStats, LessonVideo, VideoState

COLLECTION = "lessons"
INDEXES = [
    IndexModel([("course_id", ASCENDING), ("created_at", ASCENDING)], name="course_created_at"),
    # Webhooks find the lesson by any of its Mux ids when the passthrough is missing or unusable:
    # `mux_ids`, multikey, kept beside `video` so the sub-document stays as the lifecycle wrote it. The
    # per-field indexes serve the admin's search by Mux id.
    IndexModel([("mux_ids", ASCENDING)], name="mux_ids", sparse=True),
    IndexModel([("video.upload_id", ASCENDING)], name="video_upload_id", sparse=True),
    IndexModel([("video.asset_id", ASCENDING)], name="video_asset_id", sparse=True),
    IndexModel([("video.playback_asset_id", ASCENDING)], name="video_playback_asset_id", sparse=True),
]

EDITABLE_FIELDS = frozenset({"title", "description", "is_preview", "duration", "available_after_days"})


def _to_lesson(doc: Document) -> Lesson:
    duration = doc.get("duration")
    return {
        "id": str(doc["_id"]),
        "course_id": str(doc["course_id"]),
        "title": doc["title"],
        "description": doc.get("description", ""),
        "duration": float(duration) if duration is not None else None,
        "is_preview": bool(doc.get("is_preview", False)),
        "available_after_days": _days(doc.get("available_after_days")),
        "video": dict(doc.get("video") or {"status": "none"}),
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
    }


def _days(value: Any) -> int | None:
    return int(value) if value is not None else None


to_lesson = _to_lesson  # for the course repository's curriculum read (one aggregate over both)

_VIDEO_PROJECTION = {"_id": 1, "course_id": 1, "title": 1, "video": 1}


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


def _mux_ids(video: VideoState) -> list[str]:
    """Every Mux id that can name this lesson in an event (one multikey index serves them all)."""
    ids = (video.get("upload_id"), video.get("asset_id"), video.get("playback_asset_id"))
    return sorted({str(i) for i in ids if i})


def _rev_filter(expected_rev: int) -> Any:
    # Documents written before any video activity have no `rev` yet: treat missing as 0.
    return {"$in": [None, 0]} if expected_rev == 0 else expected_rev


# Admin lesson search: a bounded, escaped, case-insensitive title match (no text index, as everywhere), or
# an exact id: the lesson's own id or one of its Mux ids (upload, asset, playback), so an administrator can
# go from a Mux dashboard id to the lesson.
@dataclass(frozen=True)
class LessonSearch:
    text: str | None = None
    video_status: str | None = None


def _search_filter(query: LessonSearch) -> Document:
    # Built only from typed values: the text is escaped for the regex and compared as a plain string.
    clauses: list[Document] = []
    if query.text:
        text = query.text
        matches: list[Document] = [
            {"title": {"$regex": re.escape(text), "$options": "i"}},
            {"video.upload_id": text},
            {"video.asset_id": text},
            {"video.playback_id": text},
        ]
        if is_object_id(text):
            matches.append({"_id": oid(text)})
        clauses.append({"$or": matches})
    if query.video_status:
        clauses.append({"video.status": query.video_status})
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class LessonRepository:
    def __init__(self) -> None:
        self.col = collection(COLLECTION)

    def insert(
        self,
        *,
        lesson_id: str,
        course_id: str,
        title: str,
        description: str,
        is_preview: bool,
        duration: float | None,
        now: datetime,
        available_after_days: int | None = None,
    ) -> Lesson:
        doc: Document = {
            "_id": oid(lesson_id),
            "course_id": oid(course_id),
            "title": title,
            "description": description,
            "duration": duration,
            "is_preview": is_preview,
            "available_after_days": available_after_days,
            "video": {"status": "none"},
            "created_at": now,
            "updated_at": now,
        }
        insert_new(self.col, doc)
        return _to_lesson(doc)

    def get(self, *, lesson_id: str) -> Lesson | None:
        if not is_object_id(lesson_id):
            return None
        doc = self.col.find_one({"_id": oid(lesson_id)})
        return _to_lesson(doc) if doc else None

    def list_for_course(self, *, course_id: str, limit: int) -> list[Lesson]:
        cursor = self.col.find({"course_id": oid(course_id)}).sort("created_at", ASCENDING).limit(limit)
        return [_to_lesson(d) for d in cursor]

    def get_many(self, *, lesson_ids: list[str]) -> dict[str, Lesson]:
        ids = oids(lesson_ids)
        if not ids:
            return {}
        return {str(d["_id"]): _to_lesson(d) for d in self.col.find({"_id": {"$in": ids}})}

    def update_fields(self, *, lesson_id: str, fields: dict[str, Any], now: datetime) -> Lesson | None:
        changes = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
        doc = self.col.find_one_and_update(
            {"_id": oid(lesson_id)},
            {"$set": {**changes, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return _to_lesson(doc) if doc else None

    def delete(self, *, lesson_id: str) -> bool:
        return self.col.delete_one({"_id": oid(lesson_id)}).deleted_count == 1

    def stats_for_courses(self, *, course_ids: list[str], lesson_ids: list[str]) -> dict[str, LessonStats]:
        """Lesson count and summed duration per course, counting only the listed (ordered) lessons.

        Read by course id in batches (see `IN_BATCH`) and narrowed to the listed lessons here: an `$in`
        of every lesson id of a 100-course page was the slowest read of the uncached course list."""
        listed = set(oids(lesson_ids))
        if not listed:
            return {}
        stats: dict[str, LessonStats] = {}
        for batch in in_batches(oids(course_ids)):
            found = self.col.find(
                {"course_id": {"$in": batch}}, {"course_id": 1, "duration": 1}, batch_size=1000
            )
            for doc in found:
                if doc["_id"] not in listed:
                    continue
                stat = stats.setdefault(str(doc["course_id"]), {"lesson_count": 0, "total_duration": 0.0})
                stat["lesson_count"] += 1
                stat["total_duration"] += float(doc.get("duration") or 0)
        return stats

    # --- the video sub-document (written only by catalog/video/) ---

    def video_get(self, *, lesson_id: str) -> LessonVideo | None:
        oid = _object_id(lesson_id)
        if oid is None:
            return None
        doc = self.col.find_one({"_id": oid}, _VIDEO_PROJECTION)
        return _to_lesson_video(doc) if doc else None

    def video_context(self, *, lesson_id: str) -> LessonContext | None:
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
                    "available_after_days": 1,
                    "course_status": "$course.status",
                    "course_owner_id": "$course.owner_id",
                    # Release rules: the course's curriculum, for the previous lesson of a sequence.
                    "course_sequential": "$course.sequential",
                    "course_lesson_ids": "$course.lesson_ids",
                    "course_sections": "$course.sections",
                    "course_downloadable": "$course.downloadable",
                    # The course's `lesson_ids` is the catalog's truth: a lesson not in it is invisible.
                    "in_course": {"$in": ["$_id", {"$ifNull": ["$course.lesson_ids", []]}]},
                }
            },
        ]
        docs = list(self.col.aggregate(pipeline))
        if not docs:
            return None
        doc = docs[0]
        owner = doc.get("course_owner_id")
        video = doc.get("video")
        sequential = bool(doc.get("course_sequential") or False)
        previous = None
        if sequential:
            sections: list[Section] = [
                {"id": str(d["_id"]), "title": "", "lesson_ids": [str(i) for i in d.get("lesson_ids", [])]}
                for d in doc.get("course_sections") or []
            ]
            course_lessons = [str(i) for i in doc.get("course_lesson_ids") or []]
            previous = previous_lesson(sections, course_lessons, str(doc["_id"]))
        return LessonContext(
            lesson_id=str(doc["_id"]),
            course_id=str(doc.get("course_id") or ""),
            title=str(doc.get("title") or ""),
            is_preview=bool(doc.get("is_preview", False)),
            video=dict(video) if isinstance(video, dict) else {"status": "none"},
            course_status=doc.get("course_status") if doc.get("in_course") else None,
            course_owner_id=int(owner) if owner is not None else None,
            available_after_days=_days(doc.get("available_after_days")),
            course_sequential=sequential,
            previous_lesson_id=previous,
            course_downloadable=bool(doc.get("course_downloadable", False)),
        )

    def video_find(
        self, *, lesson_id: str | None, upload_id: str | None, asset_id: str | None
    ) -> LessonVideo | None:
        """The lesson an event refers to: by passthrough (our lesson id, authoritative when it names a
        lesson), else by any of its Mux ids. Each lookup is one indexed equality query: `$or` across
        fields is a collection scan on some servers (SecantusDB), which made webhook processing crawl."""
        oid = _object_id(lesson_id)
        if oid is not None:
            doc = self.col.find_one({"_id": oid}, _VIDEO_PROJECTION)
            if doc is not None:
                return _to_lesson_video(doc)
        mux_ids = [i for i in (upload_id, asset_id) if i]
        if not mux_ids:
            return None
        doc = self.col.find_one({"mux_ids": {"$in": mux_ids}}, _VIDEO_PROJECTION)
        return _to_lesson_video(doc) if doc is not None else None

    def video_compare_and_set(
        self, *, lesson_id: str, expected_rev: int, video: VideoState, duration: float | None = None
    ) -> bool:
        """Replace the `video` sub-document iff nobody wrote it since `expected_rev` was read."""
        oid = _object_id(lesson_id)
        if oid is None:
            return False
        new_video = dict(video)
        new_video["rev"] = expected_rev + 1
        update: dict[str, Any] = {"video": new_video, "mux_ids": _mux_ids(new_video)}
        if duration is not None:
            update["duration"] = duration
        result = self.col.update_one({"_id": oid, "video.rev": _rev_filter(expected_rev)}, {"$set": update})
        return result.modified_count == 1

    def video_mux_ids_backfill(self) -> int:
        """Give lessons written before `mux_ids` existed their ids (idempotent; returns how many).
        Does not bump `rev`: the state does not change, only how it is found."""
        missing = {
            "mux_ids": {"$exists": False},
            "$or": [{"video.upload_id": {"$type": "string"}}, {"video.asset_id": {"$type": "string"}}],
        }
        updated = 0
        for doc in self.col.find(missing, {"video": 1}):
            ids = _mux_ids(doc.get("video") or {})
            result = self.col.update_one(
                {"_id": doc["_id"], "mux_ids": {"$exists": False}}, {"$set": {"mux_ids": ids}}
            )
            updated += result.modified_count
        return updated

    def video_retired_asset_remove(self, *, lesson_id: str, asset_id: str) -> None:
        """Forget a superseded asset once Mux has deleted it (does not bump `rev`: no state change)."""
        oid = _object_id(lesson_id)
        if oid is not None:
            self.col.update_one({"_id": oid}, {"$pull": {"video.retired_asset_ids": asset_id}})

    # --- admin search ---

    def search(self, *, query: LessonSearch, offset: int, limit: int) -> list[Lesson]:
        cursor = (
            self.col.find(_search_filter(query))
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [_to_lesson(d) for d in cursor]

    def search_count(self, *, query: LessonSearch) -> int:
        return self.col.count_documents(_search_filter(query))

"""The `lessons` collection (catalog fields; the `video` sub-document belongs to `lesson_videos.py`).

Document: `{_id, course_id: ObjectId, title, description, duration: float|null, is_preview,
video: {status, ...Mux ids}, created_at, updated_at}`. Positions are not stored here: the course's
`lesson_ids` array is the order (see `courses.py`), so a reorder is one atomic single-document write.
"""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.operations import IndexModel

from catalog.repositories.base import Document, collection, is_object_id, oid, oids
from catalog.types import Lesson, LessonStats

COLLECTION = "lessons"
INDEXES = [
    IndexModel([("course_id", ASCENDING), ("created_at", ASCENDING)], name="course_created_at"),
]

EDITABLE_FIELDS = frozenset({"title", "description", "is_preview", "duration"})


def _to_lesson(doc: Document) -> Lesson:
    duration = doc.get("duration")
    return {
        "id": str(doc["_id"]),
        "course_id": str(doc["course_id"]),
        "title": doc["title"],
        "description": doc.get("description", ""),
        "duration": float(duration) if duration is not None else None,
        "is_preview": bool(doc.get("is_preview", False)),
        "video": dict(doc.get("video") or {"status": "none"}),
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
    }


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
    ) -> Lesson:
        doc: Document = {
            "_id": oid(lesson_id),
            "course_id": oid(course_id),
            "title": title,
            "description": description,
            "duration": duration,
            "is_preview": is_preview,
            "video": {"status": "none"},
            "created_at": now,
            "updated_at": now,
        }
        self.col.insert_one(doc)
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
        """Lesson count and summed duration per course, counting only the listed (ordered) lessons."""
        ids = oids(lesson_ids)
        if not ids:
            return {}
        rows = self.col.aggregate(
            [
                {"$match": {"course_id": {"$in": oids(course_ids)}, "_id": {"$in": ids}}},
                {
                    "$group": {
                        "_id": "$course_id",
                        "n": {"$sum": 1},
                        "total": {"$sum": {"$ifNull": ["$duration", 0]}},
                    }
                },
            ]
        )
        return {
            str(r["_id"]): {"lesson_count": int(r["n"]), "total_duration": float(r["total"])} for r in rows
        }

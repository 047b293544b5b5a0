"""Lesson search across courses for the admin site (`catalog/admin_views.py`).

Read-only. A bounded, escaped, case-insensitive title match (no text index, as everywhere), or an exact
id: the lesson's own id or one of its Mux ids (upload, asset, playback — the first two are indexed by
`lesson_videos.py`), so an administrator can go from a Mux dashboard id to the lesson.
"""

import re
from dataclasses import dataclass

from pymongo import DESCENDING

from catalog.repositories.base import Document, collection, is_object_id, oid
from catalog.repositories.lessons import COLLECTION, _to_lesson
from catalog.types import Lesson


@dataclass(frozen=True)
class LessonSearch:
    text: str | None = None
    video_status: str | None = None


def _build_filter(query: LessonSearch) -> Document:
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


class LessonSearchRepository:
    def __init__(self) -> None:
        self.col = collection(COLLECTION)

    def find(self, *, query: LessonSearch, offset: int, limit: int) -> list[Lesson]:
        cursor = (
            self.col.find(_build_filter(query))
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [_to_lesson(d) for d in cursor]

    def count(self, *, query: LessonSearch) -> int:
        return self.col.count_documents(_build_filter(query))

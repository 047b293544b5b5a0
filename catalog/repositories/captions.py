"""The `captions` collection: the WebVTT text of instructor-uploaded caption tracks.

Document: `{_id: caption id (= the track id in the lesson's video.tracks), lesson_id: ObjectId, vtt: str,
created_at}`. Kept apart from the lesson document so playback never reads caption text (≤ 1 MB each).
The track's state lives in the lesson (`catalog/video/tracks.py`); this is only its file, served to Mux
at a signed URL and read for transcripts.
"""

from datetime import datetime

from pymongo import ASCENDING
from pymongo.operations import IndexModel

from catalog.repositories.base import collection, insert_new, is_object_id, oid

COLLECTION = "captions"
INDEXES = [IndexModel([("lesson_id", ASCENDING)], name="lesson_id")]


class CaptionRepository:
    def __init__(self) -> None:
        self.col = collection(COLLECTION)

    def insert(self, *, caption_id: str, lesson_id: str, vtt: str, now: datetime) -> None:
        insert_new(
            self.col, {"_id": oid(caption_id), "lesson_id": oid(lesson_id), "vtt": vtt, "created_at": now}
        )

    def vtt(self, *, caption_id: str) -> str | None:
        if not is_object_id(caption_id):
            return None
        doc = self.col.find_one({"_id": oid(caption_id)}, {"vtt": 1})
        return str(doc["vtt"]) if doc else None

    def delete(self, *, caption_id: str) -> None:
        if is_object_id(caption_id):
            self.col.delete_one({"_id": oid(caption_id)})

    def delete_for_lesson(self, *, lesson_id: str) -> None:
        if is_object_id(lesson_id):
            self.col.delete_many({"lesson_id": oid(lesson_id)})

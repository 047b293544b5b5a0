"""Builders for tests/admin and tests/browser. Everything goes through the real services and stores
(catalog services → MongoDB, webhook inbox → PostgreSQL); no fakes."""

import json
import time
from typing import Any

from catalog import cache as catalog_cache
from catalog import selectors, services
from catalog.repositories.lessons import LessonRepository
from catalog.types import Course, Lesson
from catalog.video.state import pipeline_started


def course_with_lessons(
    owner: Any,
    *,
    title: str,
    lessons: list[str] = (),
    publish: bool = False,
    **fields: Any,  # type: ignore[assignment]
) -> tuple[Course, list[Lesson]]:
    course = services.course_create(owner_id=owner.id, title=title, **fields)
    made = [services.lesson_create(course=current(course), title=t, duration=60.0) for t in lessons]
    if publish:
        services.course_publish(course=current(course))
    return current(course), made


def current(course: Course) -> Course:
    fresh = selectors.course_get(course_id=course["id"])
    assert fresh is not None
    return fresh


def video_waiting_upload(lesson_id: str, *, upload_id: str) -> None:
    """The state an upload request leaves (`catalog.video.uploads.video_upload_start`: the same state
    transition and the same compare-and-set), with a chosen upload id instead of one from Mux."""
    repo = LessonRepository()
    current = repo.video_get(lesson_id=lesson_id)
    assert current is not None
    video = pipeline_started(video=current.video, upload_id=upload_id)
    assert repo.video_compare_and_set(
        lesson_id=lesson_id, expected_rev=int(current.video.get("rev") or 0), video=video
    )
    catalog_cache.lesson_invalidate(lesson_id=lesson_id)


def asset_ready_payload(
    *, lesson_id: str, upload_id: str, asset_id: str, playback_id: str, event_id: str
) -> dict[str, Any]:
    """A `video.asset.ready` webhook body shaped like Mux's."""
    now = int(time.time())
    return {
        "type": "video.asset.ready",
        "id": event_id,
        "created_at": now,
        "object": {"type": "asset", "id": asset_id},
        "environment": {"id": "env1", "name": "Production"},
        "data": {
            "id": asset_id,
            "status": "ready",
            "created_at": now,
            "upload_id": upload_id,
            "passthrough": lesson_id,
            "duration": 42.5,
            "aspect_ratio": "16:9",
            "playback_ids": [{"id": playback_id, "policy": "signed"}],
        },
    }


def raw(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()

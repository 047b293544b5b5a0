"""Apply Mux video events to lessons (called by the webhook inbox). Idempotent and order-independent."""

import logging

from catalog import cache as catalog_cache
from catalog.repositories.base import new_id
from catalog.repositories.lessons import LessonRepository
from catalog.types import LessonVideo
from catalog.video.assets import retired_assets_drain
from catalog.video.state import CAS_ATTEMPTS, VideoEvent, video_event_decide, video_event_of
from catalog.video.tracks import TrackDecision, rendition_event_decide, track_event_decide
from learnstream.errors import Conflict
from streaming import mux
from streaming.payloads import MuxVideoEvent, passthrough_value

logger = logging.getLogger(__name__)


def video_event_handle(*, event: MuxVideoEvent) -> str:
    """The webhook inbox's entry point: apply the event if its type changes lesson state."""
    if event.track is not None or event.rendition is not None:
        return track_event_apply(event=event)
    lifecycle_event = video_event_of(event)
    if lifecycle_event is None:
        return "ignored_unhandled_type"
    return video_event_apply(event=lifecycle_event)


def video_event_apply(*, event: VideoEvent) -> str:
    """Apply one event to its lesson. Idempotent; safe to run again after a failure."""
    repo = LessonRepository()
    outcome = "ignored_no_lesson"
    lesson: LessonVideo | None = None
    for _ in range(CAS_ATTEMPTS):
        lesson = repo.video_find(
            lesson_id=event.lesson_id, upload_id=event.upload_id, asset_id=event.asset_id
        )
        if lesson is None:
            outcome = "ignored_no_lesson"
            break
        decision = video_event_decide(video=lesson.video, event=event)
        outcome = decision.outcome
        if decision.video is None:
            break
        if repo.video_compare_and_set(
            lesson_id=lesson.lesson_id,
            expected_rev=int(lesson.video.get("rev") or 0),
            video=decision.video,
            duration=decision.duration,
        ):
            catalog_cache.lesson_invalidate(lesson_id=lesson.lesson_id)
            lesson = LessonVideo(lesson.lesson_id, lesson.course_id, lesson.title, decision.video)
            break
    else:
        # Persistent contention: fail so the inbox retries later instead of dropping the event.
        raise Conflict("The lesson changed repeatedly while applying a video event.")

    if lesson is not None:
        if outcome == "orphan" and event.asset_id:
            # An asset from an abandoned upload of this lesson: nobody can play it, but it costs money.
            logger.info("deleting orphan asset %s of lesson %s", event.asset_id, lesson.lesson_id)
            mux.delete_asset(event.asset_id)
        retired_assets_drain(repo=repo, lesson=lesson, strict=True)
    logger.info(
        "video event %s (asset=%s upload=%s): %s", event.type, event.asset_id, event.upload_id, outcome
    )
    return outcome


def track_event_apply(*, event: MuxVideoEvent) -> str:
    """Apply a `video.asset.track.*` or `video.asset.static_rendition.*` event to its lesson (found by
    the passthrough we set on the track or rendition, else by the asset id). Idempotent, any order."""
    repo = LessonRepository()
    lesson_id = passthrough_value(event.passthrough, key="lesson_id")
    caption_id = passthrough_value(event.passthrough, key="caption_id") if event.passthrough else None
    if caption_id == lesson_id:
        caption_id = None  # a bare passthrough is a lesson id, never a caption id
    generated_id = new_id()
    outcome = "ignored_no_lesson"
    for _ in range(CAS_ATTEMPTS):
        lesson = repo.video_find(lesson_id=lesson_id, upload_id=None, asset_id=event.asset_id)
        if lesson is None:
            outcome = "ignored_no_lesson"
            break
        decision: TrackDecision = (
            track_event_decide(video=lesson.video, event=event, caption_id=caption_id, new_id=generated_id)
            if event.track is not None
            else rendition_event_decide(video=lesson.video, event=event)
        )
        outcome = decision.outcome
        if decision.video is None:
            break
        if repo.video_compare_and_set(
            lesson_id=lesson.lesson_id, expected_rev=int(lesson.video.get("rev") or 0), video=decision.video
        ):
            catalog_cache.lesson_invalidate(lesson_id=lesson.lesson_id)
            break
    else:
        raise Conflict("The lesson changed repeatedly while applying a track event.")
    logger.info("track event %s (asset=%s): %s", event.type, event.asset_id, outcome)
    return outcome

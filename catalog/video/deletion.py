"""Deleting a lesson's video: its Mux assets (and a pending upload) first, then the lesson's state."""

from catalog import cache as catalog_cache
from catalog.repositories.captions import CaptionRepository
from catalog.repositories.lessons import LessonRepository
from catalog.video.lessons import lesson_for_owner
from catalog.video.state import CAS_ATTEMPTS, STATUS_NONE, STATUS_WAITING_UPLOAD
from learnstream.errors import Conflict
from learnstream.permissions import Actor
from streaming import mux


def video_delete_request(*, actor: Actor, lesson_id: str) -> None:
    """`DELETE lessons/{id}/video` (allowed on archived courses: it stops paying for the asset)."""
    context = lesson_for_owner(actor=actor, lesson_id=lesson_id, action="delete this lesson's video")
    video_delete_for_lesson(lesson_id=context.lesson_id)


def video_delete_for_lesson(*, lesson_id: str) -> None:
    """Delete the lesson's Mux assets (and cancel a pending upload); video status becomes `none`.

    Mux first, then MongoDB: if Mux fails, nothing changes here and the caller answers 502. The lesson
    DELETE calls this before removing the lesson document.
    """
    repo = LessonRepository()
    deleted: set[str] = set()
    for _ in range(CAS_ATTEMPTS):
        current = repo.video_get(lesson_id=lesson_id)
        if current is None:
            return
        video = current.video
        assets = {
            a
            for a in (
                video.get("asset_id"),
                video.get("playback_asset_id"),
                *(video.get("retired_asset_ids") or []),
            )
            if a
        }
        if video.get("status") == STATUS_WAITING_UPLOAD and video.get("upload_id"):
            upload = mux.cancel_direct_upload(str(video["upload_id"]))
            if upload.asset_id:
                assets.add(upload.asset_id)
        for asset_id in sorted(assets - deleted):
            mux.delete_asset(asset_id)
            deleted.add(asset_id)
        if (video.get("status") or STATUS_NONE) == STATUS_NONE and not assets:
            return
        if repo.video_compare_and_set(
            lesson_id=lesson_id,
            expected_rev=int(video.get("rev") or 0),
            video={"status": STATUS_NONE, "retired_asset_ids": []},
            duration=0.0,
        ):
            catalog_cache.lesson_invalidate(lesson_id=lesson_id)
            CaptionRepository().delete_for_lesson(lesson_id=lesson_id)  # their tracks went with the assets
            return
    raise Conflict("The lesson's video changed repeatedly; try again.")

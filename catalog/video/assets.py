"""Mux-side clean-up shared by the video lifecycle: retired assets, abandoned uploads."""

import logging

from catalog.repositories.lessons import LessonRepository
from catalog.types import LessonVideo
from learnstream.errors import IntegrationError
from streaming import mux
from streaming.payloads import Upload

logger = logging.getLogger(__name__)


def retired_assets_drain(*, repo: LessonRepository, lesson: LessonVideo, strict: bool) -> None:
    """Delete superseded assets at Mux and forget them. `strict`: a Mux failure propagates (the webhook
    inbox retries); otherwise it is logged and a later event retries."""
    for asset_id in list(lesson.video.get("retired_asset_ids") or []):
        try:
            mux.delete_asset(asset_id)
        except IntegrationError:
            if strict:
                raise
            logger.warning("could not delete retired asset %s yet; a later event retries", asset_id)
            continue
        repo.video_retired_asset_remove(lesson_id=lesson.lesson_id, asset_id=asset_id)


def upload_cancel_quietly(upload_id: str) -> Upload | None:
    try:
        return mux.cancel_direct_upload(upload_id)
    except IntegrationError:
        logger.warning("could not cancel upload %s", upload_id)
        return None


def asset_delete_quietly(asset_id: str) -> None:
    try:
        mux.delete_asset(asset_id)
    except IntegrationError:
        logger.warning("could not delete asset %s", asset_id)

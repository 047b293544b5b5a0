"""Bringing existing video in (admin only): an asset Mux ingests from a public HTTPS URL, or an asset
that already exists in the Mux account. Both become the lesson's pipeline through the same state machine
as direct uploads; the asset's current state is then applied once as if Mux had sent it (its webhooks
may have gone out before the lesson knew the asset id), and later webhooks carry on from there.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from catalog import cache as catalog_cache
from catalog.repositories.lessons import LessonRepository
from catalog.selectors import course_get, lesson_get
from catalog.services.lessons import lesson_create
from catalog.types import Lesson, LessonContext
from catalog.video.assets import retired_assets_drain
from catalog.video.events import video_event_apply
from catalog.video.lessons import LESSON_NOT_FOUND, lesson_for_video_change
from catalog.video.state import (
    CAS_ATTEMPTS,
    STATUS_ERRORED,
    STATUS_READY,
    VideoEvent,
    pipeline_from_asset,
)
from catalog.video.uploads import upload_quota_consume
from learnstream.errors import Conflict, IntegrationError, NotFound
from learnstream.permissions import Actor
from streaming import mux
from streaming.payloads import Asset

logger = logging.getLogger(__name__)


class AssetNotFound(NotFound):
    code = "asset_not_found"
    default_message = "The video service has no such asset."


@dataclass(frozen=True)
class LessonTarget:
    """An existing lesson, or a new one to create in a course."""

    lesson_id: str | None = None
    course_id: str | None = None
    title: str | None = None
    description: str = ""


def _lesson_for(
    *, actor: Actor, target: LessonTarget, before_create: Callable[[], None] | None = None
) -> LessonContext:
    if target.lesson_id:
        return lesson_for_video_change(actor=actor, lesson_id=target.lesson_id)
    course = course_get(course_id=target.course_id or "")
    if course is None:
        raise NotFound("Course not found.")
    if course["status"] == "archived":
        raise Conflict("The course is archived.")
    if before_create is not None:
        before_create()  # e.g. the quota: a refused request creates no lesson
    created = lesson_create(course=course, title=target.title or "", description=target.description)
    return lesson_for_video_change(actor=actor, lesson_id=created["id"])


def _attach(*, lesson_id: str, asset: Asset) -> Lesson:
    """Make `asset` the lesson's pipeline, then apply its current state once."""
    repo = LessonRepository()
    for _ in range(CAS_ATTEMPTS):
        current = repo.video_get(lesson_id=lesson_id)
        if current is None:
            raise NotFound(LESSON_NOT_FOUND)
        new = pipeline_from_asset(video=current.video, asset_id=asset.id)
        if repo.video_compare_and_set(
            lesson_id=lesson_id, expected_rev=int(current.video.get("rev") or 0), video=new
        ):
            catalog_cache.lesson_invalidate(lesson_id=lesson_id)
            break
    else:
        raise Conflict("The lesson's video changed repeatedly; try again.")
    target = {"ready": STATUS_READY, "errored": STATUS_ERRORED}.get(asset.status)
    if target is not None:
        video_event_apply(
            event=VideoEvent(
                type=f"video.asset.{asset.status}",
                target=target,
                event_at=None,
                lesson_id=lesson_id,
                upload_id=None,
                asset_id=asset.id,
                asset=asset,
            )
        )
    current = repo.video_get(lesson_id=lesson_id)
    if current is not None:
        retired_assets_drain(repo=repo, lesson=current, strict=False)
    stored = lesson_get(lesson_id=lesson_id)
    if stored is None:
        raise NotFound(LESSON_NOT_FOUND)
    return stored


def video_from_url(
    *,
    actor: Actor,
    target: LessonTarget,
    url: str,
    generated_subtitles: Sequence[mux.GeneratedSubtitles] = (),
) -> Lesson:
    """`POST /admin/uploads/from-url`: Mux ingests `url`; the lesson is `processing` until it is ready.
    Counted against the admin's upload quota (an ingest costs what an upload costs)."""
    user_id = actor.id or 0
    if target.lesson_id:
        context = _lesson_for(actor=actor, target=target)
        upload_quota_consume(user_id=user_id)
    else:
        context = _lesson_for(
            actor=actor, target=target, before_create=lambda: upload_quota_consume(user_id=user_id)
        )
    asset = mux.create_asset_from_url(
        lesson_id=context.lesson_id,
        url=url,
        title=context.title or None,
        generated_subtitles=generated_subtitles,
        static_renditions=[mux.DOWNLOAD_RESOLUTION] if context.course_downloadable else (),
    )
    return _attach(lesson_id=context.lesson_id, asset=asset)


def video_import_existing(*, actor: Actor, target: LessonTarget, asset_id: str) -> Lesson:
    """`POST /admin/uploads/import-existing`: attach an asset of the Mux account. It must be playable
    through a *signed* playback id (one is added when it has only public ones, so lesson access control
    holds), and its passthrough becomes the lesson id so that its later webhooks find the lesson."""
    try:
        asset = mux.get_asset(asset_id)
    except mux.NotFoundAtMux as exc:
        raise AssetNotFound(details={"asset_id": asset_id}) from exc
    if asset.status == STATUS_ERRORED:
        raise Conflict("The asset is errored at Mux; it cannot be played.", details={"asset_id": asset_id})
    if LessonRepository().video_find(lesson_id=None, upload_id=None, asset_id=asset.id) is not None:
        raise Conflict("The asset already belongs to a lesson.", details={"asset_id": asset_id})
    context = _lesson_for(actor=actor, target=target)
    if asset.signed_playback_id is None:
        mux.create_signed_playback_id(asset.id)
        logger.info("asset %s: added a signed playback id on import", asset.id)
    try:
        asset = mux.update_asset_passthrough(asset.id, passthrough=context.lesson_id)
    except mux.NotFoundAtMux as exc:  # deleted meanwhile
        raise AssetNotFound(details={"asset_id": asset_id}) from exc
    if asset.status not in (STATUS_READY, "preparing"):
        raise IntegrationError("The video service reported an unexpected asset status.")
    return _attach(lesson_id=context.lesson_id, asset=asset)

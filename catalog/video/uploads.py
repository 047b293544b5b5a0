"""Direct uploads: the per-user quota, the owner's and the admin's upload requests, and starting a new
upload pipeline for a lesson (the previous video stays playable until the new one is ready)."""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from catalog import cache as catalog_cache
from catalog.repositories.lessons import LessonRepository
from catalog.selectors import course_get, lesson_get
from catalog.services.lessons import lesson_create
from catalog.types import Lesson, VideoState
from catalog.video.assets import asset_delete_quietly, retired_assets_drain, upload_cancel_quietly
from catalog.video.lessons import LESSON_NOT_FOUND, lesson_for_video_change
from catalog.video.state import CAS_ATTEMPTS, STATUS_WAITING_UPLOAD, pipeline_started
from learnstream.errors import Conflict, IntegrationError, NotFound, RateLimited
from learnstream.permissions import Actor
from streaming import mux

UPLOAD_QUOTA_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class UploadTicket:
    upload_id: str
    upload_url: str
    expires_at: datetime | None
    lesson_id: str


@dataclass(frozen=True)
class AdminUploadResult:
    ticket: UploadTicket
    lesson: Lesson  # as stored; the response shows its video status, never its Mux ids


def upload_quota_consume(*, user_id: int) -> None:
    """Count one upload against the user's hourly quota (uploads cost money); 429 beyond it.

    Counted in the fail-closed rate-limit cache *before* Mux is called, so Mux sees at most the quota.
    """
    limit: int = settings.MUX_UPLOADS_PER_HOUR
    now = time.time()
    window = int(now // UPLOAD_QUOTA_WINDOW_SECONDS)
    count = catalog_cache.upload_quota_count(
        user_id=user_id, window=window, ttl=UPLOAD_QUOTA_WINDOW_SECONDS + 60
    )
    if count > limit:
        retry_after = int((window + 1) * UPLOAD_QUOTA_WINDOW_SECONDS - now) + 1
        raise RateLimited(
            f"Upload quota reached ({limit} per hour). Try again later.",
            retry_after=retry_after,
            details={"limit": limit},
        )


def _actor_id(actor: Actor) -> int:
    if actor.id is None:  # the views' permission classes let only authenticated authors through
        raise NotFound(LESSON_NOT_FOUND)
    return actor.id


def video_upload_request(
    *, actor: Actor, lesson_id: str, generated_subtitles: Sequence[mux.GeneratedSubtitles] = ()
) -> UploadTicket:
    """`POST lessons/{id}/upload`: permission, quota, then the Mux upload (in that order: a refused
    request never reaches Mux). `generated_subtitles`: Mux's auto captions, one track per language."""
    context = lesson_for_video_change(actor=actor, lesson_id=lesson_id)
    upload_quota_consume(user_id=_actor_id(actor))
    return video_upload_start(
        lesson_id=context.lesson_id,
        title=context.title,
        generated_subtitles=generated_subtitles,
        downloadable=context.course_downloadable,
    )


def admin_upload_request(
    *,
    actor: Actor,
    lesson_id: str | None = None,
    course_id: str | None = None,
    title: str | None = None,
    description: str = "",
) -> AdminUploadResult:
    """`POST /admin/uploads`: an upload for an existing lesson, or for a new lesson created in
    `course_id` first. The quota is taken before the lesson is created, so a refused request creates
    nothing."""
    if lesson_id is None:
        course = course_get(course_id=course_id or "")
        if course is None:
            raise NotFound("Course not found.")
        upload_quota_consume(user_id=_actor_id(actor))
        created = lesson_create(course=course, title=title or "", description=description)
        context = lesson_for_video_change(actor=actor, lesson_id=created["id"])
    else:
        context = lesson_for_video_change(actor=actor, lesson_id=lesson_id)
        upload_quota_consume(user_id=_actor_id(actor))
    ticket = video_upload_start(
        lesson_id=context.lesson_id, title=context.title, downloadable=context.course_downloadable
    )
    stored = lesson_get(lesson_id=context.lesson_id)
    if stored is None:
        raise NotFound(LESSON_NOT_FOUND)
    return AdminUploadResult(ticket=ticket, lesson=stored)


def video_upload_start(
    *,
    lesson_id: str,
    title: str = "",
    generated_subtitles: Sequence[mux.GeneratedSubtitles] = (),
    downloadable: bool = False,
) -> UploadTicket:
    """Create a Mux direct upload for the lesson and make it its pipeline (status waiting_upload).

    The caller has already checked permissions and the quota. Any previous playable video stays playable.
    A downloadable course's videos get a static MP4 rendition (Mux charges for it, so only then).
    """
    repo = LessonRepository()
    upload = mux.create_direct_upload(
        lesson_id=lesson_id,
        title=title or None,
        generated_subtitles=generated_subtitles,
        static_renditions=[mux.DOWNLOAD_RESOLUTION] if downloadable else (),
    )
    if not upload.url:
        upload_cancel_quietly(upload.id)
        raise IntegrationError("The video service returned no upload URL.")
    try:
        previous = _pipeline_replace(repo=repo, lesson_id=lesson_id, upload_id=upload.id)
    except Exception:
        upload_cancel_quietly(upload.id)  # nobody will ever get this URL
        raise
    if previous.get("status") == STATUS_WAITING_UPLOAD and previous.get("upload_id"):
        # The instructor asked again before sending bytes: the old URL must stop accepting uploads.
        replaced = upload_cancel_quietly(str(previous["upload_id"]))
        if replaced is not None and replaced.asset_id:
            asset_delete_quietly(replaced.asset_id)
    current = repo.video_get(lesson_id=lesson_id)
    if current is not None:
        retired_assets_drain(repo=repo, lesson=current, strict=False)
    return UploadTicket(
        upload_id=upload.id, upload_url=upload.url, expires_at=upload.expires_at, lesson_id=lesson_id
    )


def _pipeline_replace(*, repo: LessonRepository, lesson_id: str, upload_id: str) -> VideoState:
    for _ in range(CAS_ATTEMPTS):
        current = repo.video_get(lesson_id=lesson_id)
        if current is None:
            raise NotFound(LESSON_NOT_FOUND)
        old = current.video
        new = pipeline_started(video=old, upload_id=upload_id)
        if repo.video_compare_and_set(lesson_id=lesson_id, expected_rev=int(old.get("rev") or 0), video=new):
            catalog_cache.lesson_invalidate(lesson_id=lesson_id)
            return old
    raise Conflict("The lesson's video changed repeatedly; try again.")

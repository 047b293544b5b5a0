"""Caption tracks of a lesson: list, upload (WebVTT that Mux fetches from a signed URL), delete; the
signed caption-file URL itself; and transcripts.

Order of effects on upload: the file is stored and the track recorded (`preparing`) first, then Mux is
asked to fetch it; if Mux refuses, both are removed again, so nothing half-written remains. A second
upload in the same language replaces the first: the old track is deleted at Mux once the new one exists.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core import signing

from catalog import access
from catalog import cache as catalog_cache
from catalog.repositories.base import new_id
from catalog.repositories.captions import CaptionRepository
from catalog.repositories.lessons import LessonRepository
from catalog.selectors.release import LessonRules, require_lesson_open
from catalog.services.common import now
from catalog.types import LessonContext, VideoState
from catalog.video.lessons import LESSON_NOT_FOUND, course_ref_of, lesson_for_owner
from catalog.video.playback import playback_access_check
from catalog.video.state import CAS_ATTEMPTS
from catalog.video.tracks import (
    SOURCE_UPLOADED,
    TRACK_DELETED,
    caption_added,
    caption_mux_id_set,
    caption_removed,
    current_tracks,
    ready_tracks,
    track_rows,
)
from catalog.video.webvtt import InvalidWebVTT, vtt_plain_text
from learnstream.errors import Conflict, IntegrationError, NotFound, ServiceUnavailable
from learnstream.permissions import Actor
from streaming import mux
from streaming.signing import playback_grant

logger = logging.getLogger(__name__)

CAPTION_FILE_SALT = "learnstream.caption-file"
NO_READY_VIDEO = "Captions need a ready video: upload one and wait until it is ready."
TRACK_NOT_FOUND = "Caption track not found."


@dataclass(frozen=True)
class Transcript:
    language_code: str
    text: str


def _context(lesson_id: str) -> LessonContext:
    context = LessonRepository().video_context(lesson_id=lesson_id)
    if context is None:
        raise NotFound(LESSON_NOT_FOUND)
    return context


def caption_list(*, actor: Actor, lesson_id: str) -> list[dict[str, Any]]:
    """`GET lessons/{id}/captions/`: whoever can read the lesson."""
    context = _context(lesson_id)
    access.require_visible(actor, course_ref_of(context), not_found=LESSON_NOT_FOUND)
    return track_rows(context.video)


def _update_video(lesson_id: str, change: Callable[[VideoState], VideoState | None]) -> VideoState | None:
    """Apply `change` to the lesson's video by compare-and-set (re-read and re-decided on contention)."""
    repo = LessonRepository()
    for _ in range(CAS_ATTEMPTS):
        current = repo.video_get(lesson_id=lesson_id)
        if current is None:
            raise NotFound(LESSON_NOT_FOUND)
        new = change(current.video)
        if new is None:
            return current.video
        if repo.video_compare_and_set(
            lesson_id=lesson_id, expected_rev=int(current.video.get("rev") or 0), video=new
        ):
            catalog_cache.lesson_invalidate(lesson_id=lesson_id)
            return new
    raise Conflict("The lesson's video changed repeatedly; try again.")


def _ready_asset(video: VideoState) -> str:
    asset_id = video.get("playback_asset_id")
    if not asset_id:
        raise Conflict(NO_READY_VIDEO, details={"video_status": video.get("status") or "none"})
    return str(asset_id)


def caption_file_url(caption_id: str) -> str:
    """The short-lived signed URL Mux fetches the WebVTT from (on `PUBLIC_BASE_URL`)."""
    base = str(settings.PUBLIC_BASE_URL).rstrip("/")
    if not base:
        raise ServiceUnavailable("Caption uploads are not configured (PUBLIC_BASE_URL is not set).")
    token = signing.TimestampSigner(salt=CAPTION_FILE_SALT).sign(caption_id)
    return f"{base}/api/v1/caption-files/{caption_id}.vtt?signature={quote(token, safe='')}"


def caption_file(*, caption_id: str, token: str) -> str:
    """The WebVTT behind a signed caption-file URL; 404 for a bad, expired or foreign token."""
    try:
        signed = signing.TimestampSigner(salt=CAPTION_FILE_SALT).unsign(
            token, max_age=settings.CAPTION_FILE_URL_TTL_SECONDS
        )
    except signing.BadSignature as exc:
        raise NotFound("Caption file not found.") from exc
    vtt = CaptionRepository().vtt(caption_id=caption_id) if signed == caption_id else None
    if vtt is None:
        raise NotFound("Caption file not found.")
    return vtt


def caption_create(
    *, actor: Actor, lesson_id: str, language_code: str, name: str, vtt: str
) -> dict[str, Any]:
    """`POST lessons/{id}/captions/` (owner, admin; the WebVTT is already validated)."""
    context = lesson_for_owner(actor=actor, lesson_id=lesson_id, action="manage this lesson's captions")
    asset_id = _ready_asset(context.video)
    caption_id = new_id()
    url = caption_file_url(caption_id)  # before any write: 503 when it cannot be built
    replaced = [
        t
        for t in current_tracks(context.video)
        if t.get("source") == SOURCE_UPLOADED and t.get("language_code") == language_code
    ]
    captions = CaptionRepository()
    captions.insert(caption_id=caption_id, lesson_id=context.lesson_id, vtt=vtt, now=now())

    def add(video: VideoState) -> VideoState:
        return caption_added(
            video=video,
            caption_id=caption_id,
            asset_id=_ready_asset(video),
            language_code=language_code,
            name=name,
        )

    try:
        _update_video(context.lesson_id, add)
    except Exception:
        captions.delete(caption_id=caption_id)
        raise
    try:
        track = mux.create_text_track(
            asset_id=asset_id,
            url=url,
            language_code=language_code,
            name=name,
            passthrough=json.dumps(
                {"lesson_id": context.lesson_id, "caption_id": caption_id}, separators=(",", ":")
            ),
        )
    except IntegrationError:
        _update_video(context.lesson_id, lambda v: _forget(v, caption_id))
        captions.delete(caption_id=caption_id)
        raise
    video = _update_video(
        context.lesson_id, lambda v: caption_mux_id_set(video=v, caption_id=caption_id, mux_track_id=track.id)
    )
    for old in replaced:
        _track_delete(lesson_id=context.lesson_id, track=old, strict=False)
    row = next((r for r in track_rows(video or {}) if r["id"] == caption_id), None)
    if row is None:  # deleted meanwhile by a concurrent request
        raise NotFound(TRACK_NOT_FOUND)
    return row


def _forget(video: VideoState, caption_id: str) -> VideoState:
    """Remove a caption Mux never accepted (no tombstone needed: Mux has no such track)."""
    return {**video, "tracks": [t for t in video.get("tracks") or [] if t.get("id") != caption_id]}


def _track_delete(*, lesson_id: str, track: dict[str, Any], strict: bool) -> None:
    """Delete a track at Mux, then tombstone it here and drop its file. `strict`: Mux failures propagate."""
    mux_track_id = track.get("mux_track_id")
    if mux_track_id:
        try:
            mux.delete_text_track(asset_id=str(track["asset_id"]), track_id=str(mux_track_id))
        except IntegrationError:
            if strict:
                raise
            logger.warning("could not delete replaced track %s at Mux", mux_track_id)
    _update_video(lesson_id, lambda v: caption_removed(video=v, caption_id=str(track["id"])))
    CaptionRepository().delete(caption_id=str(track["id"]))


def caption_delete(*, actor: Actor, lesson_id: str, track_id: str) -> None:
    """`DELETE lessons/{id}/captions/{track_id}` (owner, admin): Mux first, then our state."""
    context = lesson_for_owner(actor=actor, lesson_id=lesson_id, action="manage this lesson's captions")
    _ready_asset(context.video)
    track = next((t for t in current_tracks(context.video) if t.get("id") == track_id), None)
    if track is None or track.get("status") == TRACK_DELETED:
        raise NotFound(TRACK_NOT_FOUND)
    _track_delete(lesson_id=context.lesson_id, track=track, strict=True)


def transcript_for_lesson(*, actor: Actor, lesson_id: str, language: str) -> Transcript:
    """`GET lessons/{id}/transcript?language=`: whoever may play the lesson; the ready track's text."""
    context = _context(lesson_id)
    playback_access_check(actor=actor, context=context)
    require_lesson_open(actor=actor, rules=LessonRules.of_context(context), now=now())  # as playback
    tracks = ready_tracks(context.video)
    track = next((t for t in tracks if t.get("language_code") == language), None)
    if track is None:  # "en" also finds "en-US"
        track = next((t for t in tracks if str(t.get("language_code") or "").split("-")[0] == language), None)
    if track is None or not track.get("mux_track_id"):
        raise NotFound("No ready caption track in this language.", details={"language": language})
    playback_id = str(context.video.get("playback_id") or "")

    def compute() -> str:
        if track.get("source") == SOURCE_UPLOADED:
            vtt = CaptionRepository().vtt(caption_id=str(track["id"]))
        else:
            grant = playback_grant(playback_id=playback_id)
            vtt = mux.fetch_text_track(grant.text_track_url(str(track["mux_track_id"])))
        if vtt is None:
            raise NotFound("No ready caption track in this language.", details={"language": language})
        try:
            return vtt_plain_text(vtt)
        except InvalidWebVTT as exc:  # Mux served something unreadable
            raise IntegrationError("The caption track could not be read.") from exc

    text = catalog_cache.transcript_read(track_id=str(track["id"]), compute=compute)
    return Transcript(language_code=str(track.get("language_code") or language), text=text)

"""Signed playback (mux.md §3): short-lived RS256 tokens for a lesson's signed playback id.

The hot path of the product: one MongoDB read (lesson + course in one aggregate), enrollment from the
Redis-cached selector, no PostgreSQL query, no Mux API call. Tokens carry `sub` = playback id, `aud` =
`v` (video) / `t` (thumbnail) / `s` (storyboard), `exp`, and `kid` in both the claims (as Mux's own SDK
does) and the header. The private key is Mux's base64 PEM, decoded and parsed once per process.
"""

import base64
import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from django.conf import settings

from catalog.permissions import can_edit_course, can_view_course, user_id_of
from catalog.repositories.lesson_videos import LessonContext, LessonVideoRepository
from catalog.selectors import enrollment_is_active
from learnstream.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ServiceUnavailable
from streaming import mux

AUDIENCE_VIDEO = "v"
AUDIENCE_THUMBNAIL = "t"
AUDIENCE_STORYBOARD = "s"


@dataclass(frozen=True)
class PlaybackGrant:
    playback_id: str
    stream_url: str
    thumbnail_url: str
    storyboard_url: str
    expires_at: datetime


@functools.lru_cache(maxsize=4)
def _private_key(private_key_b64: str) -> RSAPrivateKey:
    try:
        pem = base64.b64decode(private_key_b64, validate=False)
        if not pem.lstrip().startswith(b"-----BEGIN"):
            pem = private_key_b64.encode()  # tolerate a plain PEM in the setting
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ServiceUnavailable("Video playback is misconfigured.") from exc
    if not isinstance(key, RSAPrivateKey):
        raise ServiceUnavailable("Video playback is misconfigured.")
    return key


def _signing_key() -> tuple[str, RSAPrivateKey]:
    configured = mux.playback_signing_key()
    if configured is None:
        raise ServiceUnavailable("Video playback is not configured (no Mux signing key).")
    key_id, private_key_b64 = configured
    return key_id, _private_key(private_key_b64)


def _token(*, key_id: str, key: RSAPrivateKey, playback_id: str, audience: str, expires_at: int) -> str:
    claims = {"sub": playback_id, "aud": audience, "exp": expires_at, "kid": key_id}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id})


def playback_grant(*, playback_id: str) -> PlaybackGrant:
    """Signed stream, thumbnail and storyboard URLs for a playback id, valid for the configured TTL."""
    ttl: int = settings.MUX_PLAYBACK_TOKEN_TTL_SECONDS
    exp = int(time.time()) + ttl
    pid = quote(playback_id, safe="")
    stream_base = settings.MUX_STREAM_BASE_URL.rstrip("/")
    image_base = settings.MUX_IMAGE_BASE_URL.rstrip("/")
    # One key lookup for all three tokens (in development it stats the emulator's state file).
    key_id, key = _signing_key()
    video, thumbnail, storyboard = (
        _token(key_id=key_id, key=key, playback_id=playback_id, audience=audience, expires_at=exp)
        for audience in (AUDIENCE_VIDEO, AUDIENCE_THUMBNAIL, AUDIENCE_STORYBOARD)
    )
    return PlaybackGrant(
        playback_id=playback_id,
        stream_url=f"{stream_base}/{pid}.m3u8?token={video}",
        thumbnail_url=f"{image_base}/{pid}/thumbnail.jpg?token={thumbnail}",
        storyboard_url=f"{image_base}/{pid}/storyboard.vtt?token={storyboard}",
        expires_at=datetime.fromtimestamp(exp, tz=UTC),
    )


def playback_access_check(*, user: Any, context: LessonContext) -> bool:
    """Who may watch: admins, the course owner, enrolled students; anyone for a preview lesson of a
    published course. Raises NotFound where the course is invisible to the caller (no existence leak).
    Returns whether the caller manages the course (owner or admin)."""
    if context.course_status is None:
        raise NotFound("Lesson not found.")
    course = {"owner_id": context.course_owner_id, "status": context.course_status}
    if can_edit_course(user=user, course=course):
        return True
    if not can_view_course(user=user, course=course):
        raise NotFound("Lesson not found.")
    if context.is_preview:
        return False
    user_id = user_id_of(user)
    if user_id is None:
        raise NotAuthenticated("Sign in and enroll to watch this lesson.")
    if not enrollment_is_active(user_id=user_id, course_id=context.course_id):
        raise PermissionDenied("Enroll in the course to watch this lesson.")
    return False


def playback_for_lesson(*, user: Any, lesson_id: str) -> PlaybackGrant:
    context = LessonVideoRepository().context(lesson_id=lesson_id)
    if context is None:
        raise NotFound("Lesson not found.")
    manages = playback_access_check(user=user, context=context)
    playback_id = context.video.get("playback_id")
    if not playback_id:
        status = context.video.get("status") or "none"
        details: dict[str, Any] = {"video_status": status}
        errors = context.video.get("errors")
        if manages and status == "errored" and isinstance(errors, dict):
            details["errors"] = errors  # Mux's own words, for the instructor who uploaded the file
        raise Conflict("The lesson's video is not ready yet.", details=details)
    return playback_grant(playback_id=str(playback_id))

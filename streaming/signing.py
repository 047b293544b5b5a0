"""Signed playback URLs: short-lived RS256 tokens for a signed playback id (domain-free).

Tokens carry `sub` = playback id, `aud` = `v` (video) / `t` (thumbnail) / `s` (storyboard), `exp`, and
`kid` in both the claims (as Mux's own SDK does) and the header. The private key is Mux's base64 PEM,
decoded and parsed once per process. No Mux API call and no store read: this is the playback hot path.

The key comes from settings (`MUX_SIGNING_KEY_ID`, `MUX_SIGNING_PRIVATE_KEY`); in development, when
those are empty, from the state file of the local emulator (`manage.py mux_emulator`), so `make run`
needs no manual key set-up. Production never reads that file.
"""

import base64
import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from django.conf import settings

from learnstream.errors import ServiceUnavailable
from streaming.emulator.persistence import newest_signing_key

AUDIENCE_VIDEO = "v"
AUDIENCE_THUMBNAIL = "t"
AUDIENCE_STORYBOARD = "s"
DEV_EMULATOR_STATE_FILENAME = "mux-emulator-state.json"


@dataclass(frozen=True)
class PlaybackGrant:
    playback_id: str
    stream_url: str
    thumbnail_url: str
    storyboard_url: str
    expires_at: datetime
    video_token: str = ""  # the `aud v` token: also signs text tracks and static renditions

    def text_track_url(self, track_id: str) -> str:
        """Mux serves a ready text track at `{stream}/{playback_id}/text/{track_id}.vtt` (aud v)."""
        return f"{self._stream_base()}/text/{quote(track_id, safe='')}.vtt?token={self.video_token}"

    def static_rendition_url(self, name: str) -> str:
        """A static rendition (e.g. `highest.mp4`) at `{stream}/{playback_id}/{name}` (aud v)."""
        return f"{self._stream_base()}/{quote(name, safe='')}?token={self.video_token}"

    def _stream_base(self) -> str:
        return self.stream_url.split("?", 1)[0].removesuffix(".m3u8")


# --- the signing key ------------------------------------------------------------------------------------


def dev_emulator_state_path() -> Path:
    """Where `manage.py mux_emulator` persists its state (signing keys, uploads, assets)."""
    return Path(settings.VAR_DIR) / DEV_EMULATOR_STATE_FILENAME


_dev_key_cache: tuple[tuple[Path, int, int], tuple[str, str] | None] | None = None


def dev_signing_key() -> tuple[str, str] | None:
    """(key id, base64 PEM private key) of the newest key the dev emulator issued, or None.

    Always None in production and when no emulator state exists. Re-read only when the file changes.
    """
    global _dev_key_cache
    if settings.IS_PRODUCTION:
        return None
    path = dev_emulator_state_path()
    try:
        stat = path.stat()
    except OSError:
        return None
    version = (path, stat.st_mtime_ns, stat.st_size)
    if _dev_key_cache is not None and _dev_key_cache[0] == version:
        return _dev_key_cache[1]
    key = newest_signing_key(path)
    _dev_key_cache = (version, key)
    return key


def playback_signing_key() -> tuple[str, str] | None:
    """The key playback tokens are signed with: settings first, else the dev emulator's, else None."""
    if settings.MUX_SIGNING_KEY_ID and settings.MUX_SIGNING_PRIVATE_KEY:
        return settings.MUX_SIGNING_KEY_ID, settings.MUX_SIGNING_PRIVATE_KEY
    return dev_signing_key()


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
    configured = playback_signing_key()
    if configured is None:
        raise ServiceUnavailable("Video playback is not configured (no Mux signing key).")
    key_id, private_key_b64 = configured
    return key_id, _private_key(private_key_b64)


# --- tokens and URLs ------------------------------------------------------------------------------------


def _token(*, key_id: str, key: RSAPrivateKey, playback_id: str, audience: str, expires_at: int) -> str:
    claims = {"sub": playback_id, "aud": audience, "exp": expires_at, "kid": key_id}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id})


# A grant is handed out again for a short while (three RS256 signatures are most of playback's CPU), at
# most a quarter of the token lifetime, so a reused grant is never much closer to expiry than a new one.
GRANT_REUSE_SECONDS = 30
_GRANTS_MAX = 10_000
_grants: dict[tuple[str, str, int, str, str], tuple[float, "PlaybackGrant"]] = {}


def playback_grant(*, playback_id: str) -> PlaybackGrant:
    """Signed stream, thumbnail and storyboard URLs for a playback id, valid for the configured TTL."""
    ttl: int = settings.MUX_PLAYBACK_TOKEN_TTL_SECONDS
    stream_base = settings.MUX_STREAM_BASE_URL.rstrip("/")
    image_base = settings.MUX_IMAGE_BASE_URL.rstrip("/")
    # One key lookup for all three tokens (in development it stats the emulator's state file).
    key_id, key = _signing_key()
    now = time.time()
    reuse_key = (playback_id, key_id, ttl, stream_base, image_base)
    held = _grants.get(reuse_key)
    if held is not None and now - held[0] < min(GRANT_REUSE_SECONDS, ttl / 4):
        return held[1]
    grant = _sign_grant(
        playback_id=playback_id, key_id=key_id, key=key, exp=int(now) + ttl, stream_base=stream_base,
        image_base=image_base,
    )  # fmt: skip
    if len(_grants) >= _GRANTS_MAX:
        _grants.clear()
    _grants[reuse_key] = (now, grant)
    return grant


def _sign_grant(
    *, playback_id: str, key_id: str, key: RSAPrivateKey, exp: int, stream_base: str, image_base: str
) -> PlaybackGrant:
    pid = quote(playback_id, safe="")
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
        video_token=video,
    )

"""Mux's JSON as plain frozen dataclasses: API responses and webhook payloads alike.

Nothing here knows an app. `streaming.mux` builds these from SDK responses; the webhook inbox builds a
`MuxVideoEvent` from a stored payload with `video_event_from_payload` and hands it to whichever app owns
the lesson. The SDK is documented as unsuitable for webhook payloads, so parsing is ours: tolerant of
`created_at` as a number, a numeric or ISO string, or `{seconds, nanos}`, and of unknown enum values
(kept as opaque strings).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class PlaybackId:
    id: str
    policy: str  # "public" | "signed" | "drm"


@dataclass(frozen=True, slots=True)
class AssetErrors:
    type: str
    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Track:
    """One track of an asset; LearnStream cares about text tracks (subtitles)."""

    id: str
    type: str  # "video" | "audio" | "text"
    status: str  # "preparing" | "ready" | "errored" | "deleted"
    text_source: str | None  # "uploaded" | "generated_vod" | ...
    language_code: str | None
    name: str | None
    passthrough: str | None
    asset_id: str | None = None  # set in webhook payloads (`data.asset_id`)


@dataclass(frozen=True, slots=True)
class StaticRendition:
    """One static MP4/M4A file of an asset (`asset.static_renditions.files[]`, or a webhook's data)."""

    id: str
    name: str | None  # e.g. "highest.mp4"
    status: str  # "ready" | "preparing" | "skipped" | "errored"
    resolution: str | None
    asset_id: str | None = None


@dataclass(frozen=True, slots=True)
class Asset:
    id: str
    status: str  # "preparing" | "ready" | "errored" (kept as an opaque string if Mux adds values)
    created_at: datetime | None
    upload_id: str | None
    passthrough: str | None
    duration: float | None
    aspect_ratio: str | None
    resolution_tier: str | None
    max_stored_resolution: str | None
    playback_ids: tuple[PlaybackId, ...]
    errors: AssetErrors | None
    tracks: tuple[Track, ...] = ()
    static_renditions: tuple[StaticRendition, ...] = ()

    @property
    def signed_playback_id(self) -> str | None:
        return next((p.id for p in self.playback_ids if p.policy == "signed"), None)


@dataclass(frozen=True, slots=True)
class UploadError:
    type: str
    message: str


@dataclass(frozen=True, slots=True)
class Upload:
    id: str
    status: str  # "waiting" | "asset_created" | "errored" | "cancelled" | "timed_out"
    url: str | None  # the PUT target; Mux drops it once the upload is no longer waiting
    asset_id: str | None
    timeout: int | None
    cors_origin: str | None
    passthrough: str | None  # new_asset_settings.passthrough (our lesson id)
    error: UploadError | None
    expires_at: datetime | None = None  # known only from create_direct_upload (creation + timeout)


@dataclass(frozen=True, slots=True)
class SigningKey:
    id: str
    private_key_b64: str  # base64 of a PEM RSA private key, exactly as Mux returns it (only on create)
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class SigningKeyInfo:
    id: str
    created_at: datetime | None


# --- Parsing (API responses and webhook payloads alike) ---------------------------------------------


def _from_epoch(seconds: Any) -> datetime | None:
    # NaN, infinities and out-of-range values (OverflowError/OSError from the platform's time_t) are
    # unusable timestamps, not errors: a tolerant parser must not fail a whole event over one field.
    try:
        return datetime.fromtimestamp(float(seconds), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_mux_time(value: Any) -> datetime | None:
    """Mux timestamps: epoch number, epoch string, ISO-8601 string or `{seconds, nanos}`."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if isinstance(value, Mapping):
        seconds = value.get("seconds")
        if not isinstance(seconds, int | float | str):
            return None
        try:
            total = float(seconds) + float(value.get("nanos") or 0) / 1e9
        except (TypeError, ValueError, OverflowError):
            return None
        return _from_epoch(total)
    if isinstance(value, str):
        text = value.strip()
        epoch = _from_epoch(text)
        if epoch is not None:
            return epoch
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def track_from_payload(data: Mapping[str, Any]) -> Track:
    """A `Track` from Mux JSON (an asset's `tracks[]`, `data` of POST .../tracks or of a track event)."""
    return Track(
        id=str(data["id"]),
        type=str(data.get("type") or ""),
        status=str(data.get("status") or ""),
        text_source=_str_or_none(data.get("text_source")),
        language_code=_str_or_none(data.get("language_code")),
        name=_str_or_none(data.get("name")),
        passthrough=_str_or_none(data.get("passthrough")),
        asset_id=_str_or_none(data.get("asset_id")),
    )


def static_rendition_from_payload(data: Mapping[str, Any]) -> StaticRendition:
    """A `StaticRendition` from Mux JSON (`static_renditions.files[]` or a static rendition event)."""
    return StaticRendition(
        id=str(data.get("id") or ""),
        name=_str_or_none(data.get("name")),
        status=str(data.get("status") or ""),
        resolution=_str_or_none(data.get("resolution")),
        asset_id=_str_or_none(data.get("asset_id")),
    )


def asset_from_payload(data: Mapping[str, Any]) -> Asset:
    """Build an `Asset` from Mux JSON (`data` of GET /assets/{id} or of a `video.asset.*` webhook)."""
    playback_ids = tuple(
        PlaybackId(id=str(p["id"]), policy=str(p.get("policy") or ""))
        for p in (data.get("playback_ids") or [])
        if isinstance(p, Mapping) and p.get("id")
    )
    raw_errors = data.get("errors")
    errors = None
    if isinstance(raw_errors, Mapping):
        messages = raw_errors.get("messages") or []
        errors = AssetErrors(
            type=str(raw_errors.get("type") or ""),
            messages=tuple(str(m) for m in messages) if isinstance(messages, list) else (),
        )
    raw_renditions = data.get("static_renditions")
    files = raw_renditions.get("files") if isinstance(raw_renditions, Mapping) else None
    return Asset(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        created_at=parse_mux_time(data.get("created_at")),
        upload_id=_str_or_none(data.get("upload_id")),
        passthrough=_str_or_none(data.get("passthrough")),
        duration=_float_or_none(data.get("duration")),
        aspect_ratio=_str_or_none(data.get("aspect_ratio")),
        resolution_tier=_str_or_none(data.get("resolution_tier")),
        max_stored_resolution=_str_or_none(data.get("max_stored_resolution")),
        playback_ids=playback_ids,
        errors=errors,
        tracks=tuple(
            track_from_payload(t)
            for t in (data.get("tracks") or [])
            if isinstance(t, Mapping) and t.get("id")
        ),
        static_renditions=tuple(
            static_rendition_from_payload(f) for f in (files or []) if isinstance(f, Mapping) and f.get("id")
        ),
    )


def upload_from_payload(data: Mapping[str, Any], *, expires_at: datetime | None = None) -> Upload:
    """Build an `Upload` from Mux JSON (`data` of GET /uploads/{id} or of a `video.upload.*` webhook)."""
    settings_ = data.get("new_asset_settings")
    raw_error = data.get("error")
    timeout = data.get("timeout")
    return Upload(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        url=_str_or_none(data.get("url")),
        asset_id=_str_or_none(data.get("asset_id")),
        timeout=timeout if isinstance(timeout, int) and not isinstance(timeout, bool) else None,
        cors_origin=_str_or_none(data.get("cors_origin")),
        passthrough=_str_or_none(settings_.get("passthrough")) if isinstance(settings_, Mapping) else None,
        error=(
            UploadError(type=str(raw_error.get("type") or ""), message=str(raw_error.get("message") or ""))
            if isinstance(raw_error, Mapping)
            else None
        ),
        expires_at=expires_at,
    )


# --- Webhook events ---------------------------------------------------------------------------------

VIDEO_EVENT_PREFIXES = ("video.asset.", "video.upload.")


class MalformedPayload(ValueError):
    """A signed event whose `data` lacks what its type promises; retrying cannot fix it."""


@dataclass(frozen=True, slots=True)
class MuxVideoEvent:
    """A `video.asset.*` or `video.upload.*` webhook reduced to what a consumer can act on."""

    type: str
    created_at: float | None  # the event's `created_at` (Unix seconds), for staleness checks
    passthrough: str | None  # whatever the uploader set (LearnStream sets the bare lesson id)
    upload_id: str | None
    asset_id: str | None
    asset: Asset | None = None
    upload: Upload | None = None
    track: Track | None = None  # `video.asset.track.*`
    rendition: StaticRendition | None = None  # `video.asset.static_rendition.*`


TRACK_EVENT_PREFIX = "video.asset.track."
STATIC_RENDITION_EVENT_PREFIX = "video.asset.static_rendition."


def passthrough_value(passthrough: str | None, *, key: str) -> str | None:
    """The id in a passthrough: the bare string, or `key` of a JSON object set by other tooling."""
    if not passthrough:
        return None
    text = passthrough.strip()
    if not text.startswith("{"):
        return text
    try:
        value = json.loads(text).get(key)
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None


def video_event_from_payload(payload: Mapping[str, Any]) -> MuxVideoEvent | None:
    """The video event in a webhook payload, or None for other event types (acknowledged, ignored)."""
    event_type = payload.get("type")
    if not isinstance(event_type, str) or not event_type.startswith(VIDEO_EVENT_PREFIXES):
        return None
    data = payload.get("data")
    if not isinstance(data, Mapping) or not data.get("id"):
        raise MalformedPayload(f"{event_type} without data.id")
    created = parse_mux_time(payload.get("created_at"))
    created_at = created.timestamp() if created is not None else None
    if event_type.startswith((TRACK_EVENT_PREFIX, STATIC_RENDITION_EVENT_PREFIX)):
        # `data` is the track or rendition, with the asset's id beside it; its `passthrough` is the one
        # set on the track (LearnStream: its caption id), not the asset's.
        asset_id = _str_or_none(data.get("asset_id"))
        if not asset_id:
            raise MalformedPayload(f"{event_type} without data.asset_id")
        is_track = event_type.startswith(TRACK_EVENT_PREFIX)
        return MuxVideoEvent(
            type=event_type,
            created_at=created_at,
            passthrough=_str_or_none(data.get("passthrough")),
            upload_id=None,
            asset_id=asset_id,
            track=track_from_payload(data) if is_track else None,
            rendition=None if is_track else static_rendition_from_payload(data),
        )
    if event_type.startswith("video.upload."):
        upload = upload_from_payload(data)
        return MuxVideoEvent(
            type=event_type,
            created_at=created_at,
            passthrough=upload.passthrough,
            upload_id=upload.id,
            asset_id=upload.asset_id,
            upload=upload,
        )
    asset = asset_from_payload(data)
    return MuxVideoEvent(
        type=event_type,
        created_at=created_at,
        passthrough=asset.passthrough,
        upload_id=asset.upload_id,
        asset_id=asset.id,
        asset=asset,
    )

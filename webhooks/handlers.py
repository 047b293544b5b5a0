"""Dispatch a stored Mux event to the video lifecycle. Unknown types are acknowledged and ignored."""

from collections.abc import Mapping
from typing import Any

from streaming import mux, services

# Event type → the pipeline status it reports (mux.md §2.4).
VIDEO_EVENT_TARGETS: dict[str, str] = {
    "video.upload.asset_created": services.STATUS_PROCESSING,
    "video.asset.created": services.STATUS_PROCESSING,
    "video.asset.ready": services.STATUS_READY,
    "video.asset.errored": services.STATUS_ERRORED,
    "video.upload.errored": services.STATUS_ERRORED,
    "video.upload.cancelled": services.STATUS_CANCELLED,
    "video.asset.deleted": services.STATUS_DELETED,
}


class MalformedEvent(ValueError):
    """A signed event whose `data` lacks what its type promises; retrying cannot fix it."""


def _lesson_id_from_passthrough(passthrough: str | None) -> str | None:
    # We set the bare lesson id; tolerate JSON passthroughs ({"lesson_id": ...}) set by other tooling.
    if not passthrough:
        return None
    text = passthrough.strip()
    if text.startswith("{"):
        import json

        try:
            value = json.loads(text).get("lesson_id")
        except (ValueError, AttributeError):
            return None
        return str(value) if value else None
    return text


def video_event_from_payload(payload: Mapping[str, Any]) -> services.VideoEvent | None:
    """The lifecycle view of a webhook payload, or None when the type is not one we act on."""
    event_type = payload.get("type")
    target = VIDEO_EVENT_TARGETS.get(event_type) if isinstance(event_type, str) else None
    if target is None or event_type is None:
        return None
    data = payload.get("data")
    if not isinstance(data, Mapping) or not data.get("id"):
        raise MalformedEvent(f"{event_type} without data.id")
    created = mux.parse_mux_time(payload.get("created_at"))
    event_at = created.timestamp() if created is not None else None
    if event_type.startswith("video.upload."):
        upload = mux.upload_from_payload(data)
        return services.VideoEvent(
            type=event_type,
            target=target,
            event_at=event_at,
            lesson_id=_lesson_id_from_passthrough(upload.passthrough),
            upload_id=upload.id,
            asset_id=upload.asset_id,
            upload=upload,
        )
    asset = mux.asset_from_payload(data)
    return services.VideoEvent(
        type=event_type,
        target=target,
        event_at=event_at,
        lesson_id=_lesson_id_from_passthrough(asset.passthrough),
        upload_id=asset.upload_id,
        asset_id=asset.id,
        asset=asset,
    )


def event_handle(*, payload: Mapping[str, Any]) -> str:
    """Apply one event; returns the outcome (for logs and the admin)."""
    event = video_event_from_payload(payload)
    if event is None:
        return "ignored_unhandled_type"
    return services.video_event_apply(event=event)

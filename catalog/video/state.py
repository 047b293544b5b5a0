"""The lesson video state machine: pure functions, no I/O.

A lesson's `video` sub-document only moves forward: `waiting_upload → processing → ready`, with
`errored`, `cancelled` and `deleted` as explicit outcomes. A lesson has one *pipeline* (the newest upload
and its asset) and one *playable* asset; they differ while a replacement is processing, so the old video
stays playable until the new one is ready (then the old asset is retired and deleted at Mux).
`video_event_decide` turns (current state, event) into the new state or the reason nothing changes;
`catalog/video/events.py` applies it with compare-and-set.
"""

from dataclasses import dataclass
from typing import Any

from catalog.types import VideoState
from catalog.video.tracks import for_asset
from streaming.payloads import Asset, MuxVideoEvent, Upload, passthrough_value

STATUS_NONE = "none"
STATUS_WAITING_UPLOAD = "waiting_upload"
STATUS_PROCESSING = "processing"
STATUS_READY = "ready"
STATUS_ERRORED = "errored"
STATUS_CANCELLED = "cancelled"
STATUS_DELETED = "deleted"

# Which pipeline status may follow which. Terminal states are final for their pipeline, except that
# an asset that exists (ready or errored) can still be deleted.
_ALLOWED_FROM: dict[str, frozenset[str]] = {
    STATUS_PROCESSING: frozenset({STATUS_NONE, STATUS_WAITING_UPLOAD}),
    STATUS_READY: frozenset({STATUS_NONE, STATUS_WAITING_UPLOAD, STATUS_PROCESSING}),
    STATUS_ERRORED: frozenset({STATUS_NONE, STATUS_WAITING_UPLOAD, STATUS_PROCESSING}),
    STATUS_CANCELLED: frozenset({STATUS_WAITING_UPLOAD}),
    # From waiting_upload too: the asset may be created and deleted before we heard of either.
    STATUS_DELETED: frozenset({STATUS_WAITING_UPLOAD, STATUS_PROCESSING, STATUS_READY, STATUS_ERRORED}),
}

CAS_ATTEMPTS = 8  # compare-and-set retries before giving up (the caller retries later)


# Mux event type → the pipeline status it reports.
VIDEO_EVENT_TARGETS: dict[str, str] = {
    "video.upload.asset_created": STATUS_PROCESSING,
    "video.asset.created": STATUS_PROCESSING,
    "video.asset.ready": STATUS_READY,
    "video.asset.errored": STATUS_ERRORED,
    "video.upload.errored": STATUS_ERRORED,
    "video.upload.cancelled": STATUS_CANCELLED,
    "video.asset.deleted": STATUS_DELETED,
}


@dataclass(frozen=True)
class VideoEvent:
    """A Mux event reduced to what the lifecycle needs."""

    type: str
    target: str  # the pipeline status the event reports
    event_at: float | None  # the event's `created_at` (Unix seconds), for staleness
    lesson_id: str | None  # passthrough
    upload_id: str | None
    asset_id: str | None
    asset: Asset | None = None
    upload: Upload | None = None


def video_event_of(event: MuxVideoEvent) -> VideoEvent | None:
    """The lifecycle's view of a Mux video event, or None when its type changes no lesson state."""
    target = VIDEO_EVENT_TARGETS.get(event.type)
    if target is None:
        return None
    return VideoEvent(
        type=event.type,
        target=target,
        event_at=event.created_at,
        lesson_id=passthrough_value(event.passthrough, key="lesson_id"),
        upload_id=event.upload_id,
        asset_id=event.asset_id,
        asset=event.asset,
        upload=event.upload,
    )


@dataclass(frozen=True)
class Decision:
    outcome: str  # "applied" or why nothing changed
    video: VideoState | None = None
    duration: float | None = None


def _clear_playable(video: VideoState) -> None:
    video["playback_id"] = None
    video["playback_asset_id"] = None
    video["aspect_ratio"] = None
    video["duration"] = None


def video_event_decide(*, video: VideoState, event: VideoEvent) -> Decision:
    """Pure state machine: the new `video` sub-document for `event`, or why it is ignored."""
    status = video.get("status") or STATUS_NONE
    in_pipeline = bool(
        (event.upload_id and event.upload_id == video.get("upload_id"))
        or (event.asset_id and event.asset_id == video.get("asset_id"))
    )
    is_playable = bool(event.asset_id and event.asset_id == video.get("playback_asset_id"))

    if not in_pipeline:
        if is_playable and event.target == STATUS_DELETED:
            # The playable (older) asset vanished at Mux while a replacement is pending.
            new = dict(video)
            _clear_playable(new)
            return Decision("applied", new, duration=0.0)
        if (
            event.target == STATUS_READY
            and event.asset is not None
            and event.asset.upload_id  # proven to come from another upload of this lesson
            and event.asset_id not in (video.get("retired_asset_ids") or [])
            and not is_playable
        ):
            return Decision("orphan")
        return Decision("ignored_not_current")

    last = video.get("event_at")
    if event.event_at is not None and last is not None and event.event_at < last:
        return Decision("ignored_stale")

    new = dict(video)
    if event.event_at is not None:
        new["event_at"] = max(event.event_at, last or event.event_at)
    if event.asset_id and not new.get("asset_id"):
        new["asset_id"] = event.asset_id

    if event.target == status:
        newer = last is not None and event.event_at is not None and event.event_at > last
        if status == STATUS_READY and event.asset is not None and newer:
            return _ready(new, event, video)  # newer data for the same ready asset
        if new != video:
            return Decision("applied", new)  # e.g. the asset id learnt from a second event
        return Decision("ignored_no_change")
    if status not in _ALLOWED_FROM[event.target]:
        if new.get("asset_id") != video.get("asset_id"):
            return Decision("applied", _keep_status(new, video))
        return Decision(f"ignored_{status}_to_{event.target}")

    if event.target == STATUS_READY:
        return _ready(new, event, video)
    new["status"] = event.target
    if event.target == STATUS_ERRORED:
        new["errors"] = _errors(event)
    if event.target == STATUS_DELETED and video.get("playback_asset_id") == event.asset_id:
        _clear_playable(new)
        return Decision("applied", new, duration=0.0)
    return Decision("applied", new)


def _keep_status(new: VideoState, old: VideoState) -> VideoState:
    new["status"] = old.get("status") or STATUS_NONE
    return new


def _errors(event: VideoEvent) -> dict[str, Any]:
    if event.asset is not None and event.asset.errors is not None:
        return {"type": event.asset.errors.type, "messages": list(event.asset.errors.messages)}
    if event.upload is not None and event.upload.error is not None:
        return {"type": event.upload.error.type, "messages": [event.upload.error.message]}
    return {"type": "unknown", "messages": []}


def _ready(new: VideoState, event: VideoEvent, old: VideoState) -> Decision:
    asset = event.asset
    if asset is None or not asset.playback_ids:
        new["status"] = STATUS_ERRORED
        new["errors"] = {"type": "no_playback_id", "messages": ["The asset has no playback id."]}
        return Decision("applied", new)
    previous = old.get("playback_asset_id")
    retired = list(old.get("retired_asset_ids") or [])
    if previous and previous != asset.id and previous not in retired:
        retired.append(previous)  # the replaced video: delete it at Mux now that the new one is ready
    new["status"] = STATUS_READY
    new["asset_id"] = asset.id
    new["errors"] = None
    new["playback_id"] = asset.signed_playback_id or asset.playback_ids[0].id
    new["playback_asset_id"] = asset.id
    new["aspect_ratio"] = asset.aspect_ratio
    new["duration"] = asset.duration
    new["retired_asset_ids"] = retired
    new.update(for_asset(old, asset.id))  # the replaced video's captions and download go with it
    return Decision("applied", new, duration=float(asset.duration or 0.0))


def pipeline_from_asset(*, video: VideoState, asset_id: str) -> VideoState:
    """The state after an asset made without a direct upload (ingested from a URL, or imported) becomes
    the lesson's pipeline: `processing` until its ready (or errored) event. Like `pipeline_started`, the
    playable video stays and an unfinished previous asset is retired."""
    new = pipeline_started(video=video, upload_id="")
    new.update(status=STATUS_PROCESSING, upload_id=None, asset_id=asset_id)
    return new


def pipeline_started(*, video: VideoState, upload_id: str) -> VideoState:
    """The state after a new direct upload becomes the lesson's pipeline. The playable video (if any)
    stays; an unfinished or errored previous asset nobody can play is retired (deleted at Mux later)."""
    new = dict(video)
    retired = list(video.get("retired_asset_ids") or [])
    old_asset = video.get("asset_id")
    if old_asset and old_asset != video.get("playback_asset_id") and old_asset not in retired:
        retired.append(old_asset)
    new.update(
        status=STATUS_WAITING_UPLOAD,
        upload_id=upload_id,
        asset_id=None,
        event_at=None,
        errors=None,
        retired_asset_ids=retired,
    )
    return new

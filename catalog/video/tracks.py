"""Caption tracks and the static MP4 of a lesson's video: pure decisions, no I/O.

Both live in the lesson's `video` sub-document (so playback still reads one document) and are written
by the same compare-and-set on `video.rev` as the video's own state:

- `tracks`: `[{id, mux_track_id, asset_id, language_code, name, source, status}]`. `id` is ours (24 hex,
  the API's track id); `source` is `generated` (Mux's auto captions) or `uploaded` (an instructor's
  WebVTT); `status` moves forward only: `preparing` → `ready` | `errored` → `deleted` (a tombstone, so a
  late `created` cannot resurrect a deleted track).
- `downloads`: `[{asset_id, rendition_id, name, status}]`, the same forward-only rule.

Entries belong to one asset: only those of the playable asset are shown, and when a new asset becomes
ready the others are dropped (`for_asset`). Mux's track and rendition webhooks may arrive in any order,
even before the asset events; an event may add or advance an entry but never move one back.
"""

from dataclasses import dataclass
from typing import Any

from catalog.types import VideoState
from streaming.payloads import MuxVideoEvent

SOURCE_GENERATED = "generated"
SOURCE_UPLOADED = "uploaded"
TRACK_PREPARING = "preparing"
TRACK_READY = "ready"
TRACK_ERRORED = "errored"
TRACK_DELETED = "deleted"
_RANK = {TRACK_PREPARING: 0, TRACK_READY: 1, TRACK_ERRORED: 1, TRACK_DELETED: 2}

TRACK_EVENT_STATUS = {
    "video.asset.track.created": TRACK_PREPARING,
    "video.asset.track.ready": TRACK_READY,
    "video.asset.track.errored": TRACK_ERRORED,
    "video.asset.track.deleted": TRACK_DELETED,
}
RENDITION_EVENT_STATUS = {
    "video.asset.static_rendition.created": TRACK_PREPARING,
    "video.asset.static_rendition.ready": TRACK_READY,
    "video.asset.static_rendition.errored": TRACK_ERRORED,
    "video.asset.static_rendition.skipped": TRACK_ERRORED,
    "video.asset.static_rendition.deleted": TRACK_DELETED,
}


@dataclass(frozen=True)
class TrackDecision:
    outcome: str  # "applied" or why nothing changed
    video: VideoState | None = None


def shown_asset(video: VideoState) -> str | None:
    """The asset whose tracks the API shows: the playable one, else the one being processed."""
    return video.get("playback_asset_id") or video.get("asset_id")


def current_tracks(video: VideoState) -> list[dict[str, Any]]:
    """The lesson's caption tracks (any status but deleted), in the order they appeared."""
    asset = shown_asset(video)
    return [
        t
        for t in video.get("tracks") or []
        if t.get("asset_id") == asset and t.get("status") != TRACK_DELETED
    ]


def track_rows(video: VideoState) -> list[dict[str, str]]:
    """The API's view of the lesson's tracks: `{id, language_code, name, source, status}`."""
    fields = ("id", "language_code", "name", "source", "status")
    return [{k: str(t.get(k) or "") for k in fields} for t in current_tracks(video)]


def ready_tracks(video: VideoState) -> list[dict[str, Any]]:
    """Tracks a player can load: ready, of the playable asset."""
    asset = video.get("playback_asset_id")
    return [
        t
        for t in video.get("tracks") or []
        if asset and t.get("asset_id") == asset and t.get("status") == TRACK_READY
    ]


def ready_download(video: VideoState) -> dict[str, Any] | None:
    asset = video.get("playback_asset_id")
    return next(
        (
            d
            for d in video.get("downloads") or []
            if asset and d.get("asset_id") == asset and d.get("status") == TRACK_READY
        ),
        None,
    )


def for_asset(video: VideoState, asset_id: str) -> dict[str, list[dict[str, Any]]]:
    """`tracks` and `downloads` reduced to one asset's (a new asset became the playable one)."""
    return {
        "tracks": [t for t in video.get("tracks") or [] if t.get("asset_id") == asset_id],
        "downloads": [d for d in video.get("downloads") or [] if d.get("asset_id") == asset_id],
    }


def _asset_of_lesson(video: VideoState, asset_id: str | None) -> bool:
    """Whether an event's asset is (or may yet become) this lesson's: its pipeline or playable asset,
    or any asset while the pipeline's asset is not known yet (the lesson was found by passthrough)."""
    if not asset_id:
        return False
    if asset_id in (video.get("asset_id"), video.get("playback_asset_id")):
        return True
    return not video.get("asset_id") and asset_id not in (video.get("retired_asset_ids") or [])


def track_event_decide(
    *, video: VideoState, event: MuxVideoEvent, caption_id: str | None, new_id: str
) -> TrackDecision:
    """The new `video` for a `video.asset.track.*` event, or why it is ignored.

    `caption_id`: our id from the track's passthrough (uploaded captions); `new_id`: the id a generated
    track gets if this event is the first we hear of it.
    """
    track = event.track
    status = TRACK_EVENT_STATUS.get(event.type)
    if track is None or status is None or track.type != "text":
        return TrackDecision("ignored_not_a_text_track")
    if not _asset_of_lesson(video, event.asset_id):
        return TrackDecision("ignored_not_current")
    tracks = [dict(t) for t in video.get("tracks") or []]
    found = next((t for t in tracks if t.get("mux_track_id") == track.id), None)
    if found is None and caption_id:
        found = next(
            (t for t in tracks if t.get("id") == caption_id and t.get("mux_track_id") in (None, track.id)),
            None,
        )
    if found is None:
        if caption_id or not (track.text_source or "").startswith("generated"):
            return TrackDecision("ignored_unknown_track")  # e.g. a caption deleted before Mux answered
        tracks.append(
            {
                "id": new_id,
                "mux_track_id": track.id,
                "asset_id": event.asset_id,
                "language_code": track.language_code or "",
                "name": track.name or track.language_code or "",
                "source": SOURCE_GENERATED,
                "status": status,
            }
        )
        return TrackDecision("applied", {**video, "tracks": tracks})
    current = str(found.get("status") or TRACK_PREPARING)
    if _RANK[status] < _RANK.get(current, 0):
        return TrackDecision("ignored_stale")
    if status == current and found.get("mux_track_id") == track.id:
        return TrackDecision("ignored_no_change")
    if _RANK[status] == _RANK.get(current, 0) and status != current:
        return TrackDecision("ignored_stale")  # ready and errored are both final
    found["status"] = status
    found["mux_track_id"] = track.id
    return TrackDecision("applied", {**video, "tracks": tracks})


def rendition_event_decide(*, video: VideoState, event: MuxVideoEvent) -> TrackDecision:
    """The new `video` for a `video.asset.static_rendition.*` event (MP4 files only), or why not."""
    rendition = event.rendition
    status = RENDITION_EVENT_STATUS.get(event.type)
    if rendition is None or status is None or not (rendition.name or "").endswith(".mp4"):
        return TrackDecision("ignored_not_an_mp4")
    if not _asset_of_lesson(video, event.asset_id):
        return TrackDecision("ignored_not_current")
    downloads = [dict(d) for d in video.get("downloads") or []]
    found = next((d for d in downloads if d.get("rendition_id") == rendition.id), None)
    if found is None:
        downloads.append(
            {
                "asset_id": event.asset_id,
                "rendition_id": rendition.id,
                "name": rendition.name,
                "status": status,
            }
        )
        return TrackDecision("applied", {**video, "downloads": downloads})
    current = str(found.get("status") or TRACK_PREPARING)
    if _RANK[status] <= _RANK.get(current, 0):
        return TrackDecision("ignored_stale" if status != current else "ignored_no_change")
    found["status"] = status
    return TrackDecision("applied", {**video, "downloads": downloads})


def caption_added(
    *, video: VideoState, caption_id: str, asset_id: str, language_code: str, name: str
) -> VideoState:
    """An instructor's caption, recorded (preparing) before Mux is asked to fetch it."""
    entry = {
        "id": caption_id,
        "mux_track_id": None,
        "asset_id": asset_id,
        "language_code": language_code,
        "name": name,
        "source": SOURCE_UPLOADED,
        "status": TRACK_PREPARING,
    }
    return {**video, "tracks": [*(dict(t) for t in video.get("tracks") or []), entry]}


def caption_mux_id_set(*, video: VideoState, caption_id: str, mux_track_id: str) -> VideoState | None:
    """Record Mux's id for our caption (None: nothing to change, e.g. an event already did)."""
    tracks = [dict(t) for t in video.get("tracks") or []]
    found = next((t for t in tracks if t.get("id") == caption_id), None)
    if found is None or found.get("mux_track_id"):
        return None
    found["mux_track_id"] = mux_track_id
    return {**video, "tracks": tracks}


def caption_removed(*, video: VideoState, caption_id: str) -> VideoState:
    """A deleted caption becomes a tombstone (a late event for it is then ignored, not resurrected)."""
    tracks = [dict(t) for t in video.get("tracks") or []]
    for track in tracks:
        if track.get("id") == caption_id:
            track["status"] = TRACK_DELETED
    return {**video, "tracks": tracks}

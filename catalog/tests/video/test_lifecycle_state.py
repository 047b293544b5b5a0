"""The lesson video state machine (`video_event_decide`), case by case. Pure: no stores involved."""

import pytest

from catalog.video.state import VideoEvent, video_event_decide
from streaming import payloads


def asset(asset_id="A2", *, upload_id="U2", status="ready", duration=12.0, playback=("P2",), errors=None):
    data = {
        "id": asset_id,
        "upload_id": upload_id,
        "status": status,
        "duration": duration,
        "aspect_ratio": "16:9",
        "playback_ids": [{"id": p, "policy": "signed"} for p in playback],
        "passthrough": "L",
    }
    if errors:
        data["errors"] = errors
    return payloads.asset_from_payload(data)


def event(target, *, at=100.0, upload_id="U2", asset_id="A2", asset_obj=None, type_="video.asset.x"):
    return VideoEvent(
        type=type_,
        target=target,
        event_at=at,
        lesson_id="L",
        upload_id=upload_id,
        asset_id=asset_id,
        asset=asset_obj,
    )


WAITING = {"status": "waiting_upload", "upload_id": "U2", "asset_id": None, "event_at": None, "rev": 1}


def test_waiting_then_processing_attaches_the_asset():
    decision = video_event_decide(
        video=WAITING, event=event("processing", asset_obj=asset(status="preparing"))
    )
    assert decision.outcome == "applied"
    assert decision.video["status"] == "processing"
    assert decision.video["asset_id"] == "A2"
    assert decision.video["event_at"] == 100.0


def test_ready_fills_playback_fields_and_the_duration():
    decision = video_event_decide(video=WAITING, event=event("ready", asset_obj=asset()))
    assert decision.outcome == "applied"
    assert decision.duration == 12.0
    v = decision.video
    assert (v["status"], v["playback_id"], v["playback_asset_id"], v["duration"], v["aspect_ratio"]) == (
        "ready",
        "P2",
        "A2",
        12.0,
        "16:9",
    )


def test_ready_never_goes_back_to_processing_even_with_a_newer_timestamp():
    ready = video_event_decide(video=WAITING, event=event("ready", at=100, asset_obj=asset())).video
    decision = video_event_decide(
        video=ready, event=event("processing", at=200, asset_obj=asset(status="preparing"))
    )
    assert decision.video is None
    assert decision.outcome == "ignored_ready_to_processing"


def test_older_events_are_stale():
    ready = video_event_decide(video=WAITING, event=event("ready", at=100, asset_obj=asset())).video
    decision = video_event_decide(
        video=ready, event=event("errored", at=50, asset_obj=asset(status="errored"))
    )
    assert decision.outcome == "ignored_stale"


def test_newer_ready_refreshes_the_data_of_the_same_asset():
    ready = video_event_decide(video=WAITING, event=event("ready", at=100, asset_obj=asset())).video
    decision = video_event_decide(video=ready, event=event("ready", at=150, asset_obj=asset(duration=13.0)))
    assert decision.outcome == "applied"
    assert decision.video["duration"] == 13.0
    assert video_event_decide(video=ready, event=event("ready", at=100, asset_obj=asset())).outcome == (
        "ignored_no_change"
    )


def test_errored_keeps_muxs_messages():
    errored = asset(status="errored", playback=(), errors={"type": "invalid_input", "messages": ["bad file"]})
    decision = video_event_decide(video=WAITING, event=event("errored", asset_obj=errored))
    assert decision.video["status"] == "errored"
    assert decision.video["errors"] == {"type": "invalid_input", "messages": ["bad file"]}


@pytest.mark.parametrize(
    ("status", "outcome"), [("waiting_upload", "applied"), ("processing", "ignored_processing_to_cancelled")]
)
def test_cancel_only_applies_to_a_waiting_upload(status, outcome):
    video = {**WAITING, "status": status, "asset_id": "A2" if status == "processing" else None}
    assert video_event_decide(video=video, event=event("cancelled", asset_id=None)).outcome == outcome


def test_deleting_the_ready_asset_clears_playback():
    ready = video_event_decide(video=WAITING, event=event("ready", at=100, asset_obj=asset())).video
    decision = video_event_decide(video=ready, event=event("deleted", at=200, asset_obj=asset()))
    assert decision.video["status"] == "deleted"
    assert decision.video["playback_id"] is None
    assert decision.duration == 0.0


def test_replacement_ready_retires_the_old_asset():
    replacing = {
        **WAITING,
        "status": "processing",
        "asset_id": "A2",
        "playback_id": "P1",
        "playback_asset_id": "A1",
        "retired_asset_ids": [],
    }
    decision = video_event_decide(video=replacing, event=event("ready", asset_obj=asset()))
    assert decision.video["playback_asset_id"] == "A2"
    assert decision.video["retired_asset_ids"] == ["A1"]


def test_old_playable_asset_deleted_meanwhile_is_no_longer_offered():
    replacing = {**WAITING, "playback_id": "P1", "playback_asset_id": "A1"}
    decision = video_event_decide(video=replacing, event=event("deleted", upload_id="U1", asset_id="A1"))
    assert decision.outcome == "applied"
    assert decision.video["status"] == "waiting_upload"
    assert decision.video["playback_id"] is None


def test_ready_asset_of_another_upload_is_an_orphan_unless_provably_ours():
    other = asset("A9", upload_id="U9")
    assert (
        video_event_decide(
            video=WAITING, event=event("ready", upload_id="U9", asset_id="A9", asset_obj=other)
        ).outcome
        == "orphan"
    )
    # Without an upload id we cannot tell where it came from: never delete it.
    unknown = asset("A9", upload_id=None)
    decision = video_event_decide(
        video=WAITING, event=event("ready", upload_id=None, asset_id="A9", asset_obj=unknown)
    )
    assert decision.outcome == "ignored_not_current"
    # A retired asset is already being deleted.
    retired = {**WAITING, "retired_asset_ids": ["A9"]}
    assert (
        video_event_decide(
            video=retired, event=event("ready", upload_id="U9", asset_id="A9", asset_obj=other)
        ).outcome
        == "ignored_not_current"
    )


def test_events_without_a_timestamp_are_never_stale():
    processing = {**WAITING, "status": "processing", "asset_id": "A2", "event_at": 100.0}
    decision = video_event_decide(video=processing, event=event("ready", at=None, asset_obj=asset()))
    assert decision.outcome == "applied"
    assert decision.video["event_at"] == 100.0


def test_ready_without_any_playback_id_is_an_error():
    decision = video_event_decide(video=WAITING, event=event("ready", asset_obj=asset(playback=())))
    assert decision.video["status"] == "errored"
    assert decision.video["errors"]["type"] == "no_playback_id"


def test_deleted_before_we_heard_of_the_asset_still_ends_the_pipeline():
    decision = video_event_decide(video=WAITING, event=event("deleted", asset_obj=asset(status="preparing")))
    assert decision.video["status"] == "deleted"
    assert decision.video["asset_id"] == "A2"

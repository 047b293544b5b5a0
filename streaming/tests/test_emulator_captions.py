"""Captions, static renditions and URL ingest: `streaming.mux` (the unmodified mux-python client) against
the emulator over HTTP, including the track and static-rendition webhooks and the signed stream host."""

import pytest
import requests

from learnstream.errors import IntegrationError
from streaming import mux, payloads
from streaming.signing import playback_grant
from tests.support.files import file_server

MP4_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello, learners.\n"


def _ready_upload(mux_emulator, **kwargs):
    upload = mux.create_direct_upload(lesson_id="lesson-1", title="Intro", **kwargs)
    assert mux_emulator.upload_bytes(upload.url, MP4_BYTES) == 200
    asset_id = mux.get_direct_upload(upload.id).asset_id
    mux_emulator.make_ready(asset_id, duration=9.0)
    return mux.get_asset(asset_id)


def _event_data(mux_emulator, event_type):
    return [e["payload"]["data"] for e in mux_emulator.events(event_type)]


def test_generated_subtitles_and_static_rendition_from_a_direct_upload(mux_emulator):
    asset = _ready_upload(
        mux_emulator,
        generated_subtitles=[mux.GeneratedSubtitles("en", "English (auto)"), mux.GeneratedSubtitles("fr")],
        static_renditions=["highest"],
    )

    [upload] = mux_emulator.uploads()
    assert upload["new_asset_settings"]["inputs"] == [
        {
            "generated_subtitles": [
                {"language_code": "en", "name": "English (auto)", "passthrough": "lesson-1"},
                {"language_code": "fr", "passthrough": "lesson-1"},
            ]
        }
    ]
    assert upload["new_asset_settings"]["static_renditions"] == [
        {"resolution": "highest", "passthrough": "lesson-1"}
    ]
    text = [t for t in asset.tracks if t.type == "text"]
    assert [(t.language_code, t.name, t.text_source, t.status) for t in text] == [
        ("en", "English (auto)", "generated_vod", "ready"),
        ("fr", "fr", "generated_vod", "ready"),
    ]
    assert [(r.name, r.status, r.resolution) for r in asset.static_renditions] == [
        ("highest.mp4", "ready", "highest")
    ]
    # Webhooks: per track created then ready (data = the track + asset_id); the rendition likewise.
    created = _event_data(mux_emulator, "video.asset.track.created")
    ready = _event_data(mux_emulator, "video.asset.track.ready")
    assert [(d["id"], d["asset_id"], d["status"]) for d in created] == [
        (t.id, asset.id, "preparing") for t in text
    ]
    assert [(d["id"], d["asset_id"], d["status"]) for d in ready] == [(t.id, asset.id, "ready") for t in text]
    [rendition_created] = _event_data(mux_emulator, "video.asset.static_rendition.created")
    [rendition_ready] = _event_data(mux_emulator, "video.asset.static_rendition.ready")
    assert rendition_ready["passthrough"] == "lesson-1"
    assert {d["passthrough"] for d in ready} == {"lesson-1"}
    assert rendition_created["status"] == "preparing"
    assert (rendition_ready["name"], rendition_ready["status"], rendition_ready["asset_id"]) == (
        "highest.mp4",
        "ready",
        asset.id,
    )
    # The parser reads them as track / rendition events of the asset.
    [event] = [e for e in mux_emulator.events("video.asset.track.ready")][:1]
    parsed = payloads.video_event_from_payload(event["payload"])
    assert parsed.asset_id == asset.id
    assert parsed.track.id == text[0].id
    assert parsed.track.language_code == "en"

    # The stream host serves the track and the MP4 with an `aud v` token, and nothing without one.
    grant = playback_grant(playback_id=asset.signed_playback_id)
    vtt = requests.get(grant.text_track_url(text[0].id), timeout=5)
    assert vtt.status_code == 200
    assert vtt.headers["Content-Type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT")
    assert vtt.text.count("-->") == 3
    assert requests.get(grant.text_track_url(text[0].id).split("?")[0], timeout=5).status_code == 403
    mp4 = requests.get(grant.static_rendition_url("highest.mp4"), timeout=5)
    assert mp4.status_code == 200
    assert mp4.content == MP4_BYTES
    assert requests.get(grant.static_rendition_url("720p.mp4"), timeout=5).status_code == 404


def test_unknown_generated_subtitle_language_is_refused_by_mux(mux_emulator):
    with pytest.raises(IntegrationError):
        mux.create_direct_upload(lesson_id="lesson-1", generated_subtitles=[mux.GeneratedSubtitles("xx")])
    assert mux_emulator.uploads() == []


def test_text_track_from_url_is_fetched_then_ready_and_deletable(mux_emulator):
    asset = _ready_upload(mux_emulator)
    with file_server() as files:
        files.files["/captions.vtt"] = VTT
        track = mux.create_text_track(
            asset_id=asset.id, url=files.url("/captions.vtt"), language_code="de", name="Deutsch",
            passthrough="caption-1",
        )  # fmt: skip
        assert (track.status, track.text_source, track.language_code, track.passthrough) == (
            "preparing",
            "uploaded",
            "de",
            "caption-1",
        )
        mux_emulator.flush()
        assert files.hits == ["/captions.vtt"]
    [ready] = _event_data(mux_emulator, "video.asset.track.ready")
    assert (ready["id"], ready["passthrough"], ready["asset_id"]) == (track.id, "caption-1", asset.id)
    grant = playback_grant(playback_id=asset.signed_playback_id)
    assert mux.fetch_text_track(grant.text_track_url(track.id)) == VTT.decode()

    mux.delete_text_track(asset_id=asset.id, track_id=track.id)
    mux.delete_text_track(asset_id=asset.id, track_id=track.id)  # already gone counts as done
    [deleted] = _event_data(mux_emulator, "video.asset.track.deleted")
    assert (deleted["id"], deleted["status"]) == (track.id, "deleted")
    assert [t for t in mux.get_asset(asset.id).tracks if t.type == "text"] == []
    with pytest.raises(IntegrationError):
        mux.fetch_text_track(grant.text_track_url(track.id))


def test_text_track_whose_url_fails_or_is_not_webvtt_is_errored(mux_emulator):
    asset = _ready_upload(mux_emulator)
    with file_server() as files:
        files.files["/not.vtt"] = b"1\n00:00:00,000 --> 00:00:01,000\nSRT\n"
        missing = mux.create_text_track(
            asset_id=asset.id, url=files.url("/missing.vtt"), language_code="en", name="en", passthrough="a"
        )
        not_vtt = mux.create_text_track(
            asset_id=asset.id, url=files.url("/not.vtt"), language_code="en", name="en", passthrough="b"
        )
        mux_emulator.flush()
    errored = _event_data(mux_emulator, "video.asset.track.errored")
    assert sorted((d["id"], d["status"]) for d in errored) == sorted(
        [(missing.id, "errored"), (not_vtt.id, "errored")]
    )
    assert mux_emulator.events("video.asset.track.ready") == []


def test_static_rendition_for_an_existing_ready_asset(mux_emulator):
    asset = _ready_upload(mux_emulator)
    assert asset.static_renditions == ()
    rendition = mux.create_static_rendition(asset.id, passthrough="lesson-1")
    assert (rendition.name, rendition.resolution, rendition.asset_id) == ("highest.mp4", "highest", asset.id)
    [ready] = _event_data(mux_emulator, "video.asset.static_rendition.ready")
    assert (ready["id"], ready["status"]) == (rendition.id, "ready")
    assert [(r.id, r.status) for r in mux.get_asset(asset.id).static_renditions] == [(rendition.id, "ready")]


def test_asset_from_an_https_url_is_downloaded_then_ready(mux_emulator):
    with file_server(tls=True) as files:
        files.files["/talk.mp4"] = MP4_BYTES
        asset = mux.create_asset_from_url(
            lesson_id="lesson-9", url=files.url("/talk.mp4"), title="Talk",
            generated_subtitles=[mux.GeneratedSubtitles("en")],
        )  # fmt: skip
        assert (asset.status, asset.passthrough, asset.upload_id) == ("preparing", "lesson-9", None)
        assert asset.signed_playback_id
        mux_emulator.flush()
        assert files.hits == ["/talk.mp4"]
    mux_emulator.make_ready(asset.id)
    ready = mux.get_asset(asset.id)
    assert ready.status == "ready"
    assert ready.duration == 1.0  # 10 kB at the emulator's 1 Mbit/s, at least 1 s
    assert [t.language_code for t in ready.tracks if t.type == "text"] == ["en"]
    assert [e["payload"]["data"]["id"] for e in mux_emulator.events("video.asset.created")] == [asset.id]


def test_asset_from_an_unreachable_url_errors(mux_emulator):
    with file_server(tls=True) as files:
        asset = mux.create_asset_from_url(lesson_id="lesson-9", url=files.url("/gone.mp4"))
        mux_emulator.flush()
    errored = mux.get_asset(asset.id)
    assert errored.status == "errored"
    assert errored.errors.type == "invalid_input"
    assert [e["payload"]["data"]["id"] for e in mux_emulator.events("video.asset.errored")] == [asset.id]


def test_update_passthrough_and_add_a_signed_playback_id(mux_emulator):
    asset = _ready_upload(mux_emulator)
    updated = mux.update_asset_passthrough(asset.id, passthrough="65f0c0ffee0000000000abcd")
    assert updated.passthrough == "65f0c0ffee0000000000abcd"
    added = mux.create_signed_playback_id(asset.id)
    assert added.policy == "signed"
    assert added.id in {p.id for p in mux.get_asset(asset.id).playback_ids}

"""Auto captions and downloads: the upload asks Mux for generated subtitles (and, for a downloadable
course, a static MP4); the track and rendition webhooks reach the lesson through the inbox and its
forward-only state; playback lists the ready tracks and the download with signed URLs."""

import pytest
import requests

from catalog import services as catalog_services
from catalog.selectors import course_get
from catalog.tests.video.video_helpers import (
    VIDEO_BYTES,
    Deliverer,
    course_with_lesson,
    enroll,
    run_on_commit,  # noqa: F401
    video_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


def _course(instructor, *, downloadable):
    course, lesson = course_with_lesson(instructor)
    if downloadable:
        catalog_services.course_update(
            course=course_get(course_id=course["id"]), fields={"downloadable": True}
        )
    return course, lesson


def _upload_with_captions(client, mux_emulator, lesson_id, languages):
    response = client.post(
        f"/api/v1/lessons/{lesson_id}/upload",
        {"generated_subtitles": languages},
        format="json",
    )
    assert response.status_code == 201, response.content
    ticket = response.json()
    assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
    asset = mux_emulator.asset_for_upload(ticket["upload_id"])
    mux_emulator.make_ready(asset["id"], duration=12.0)
    return ticket, asset


def test_auto_captions_and_download_reach_playback_signed(
    mux_emulator, client_for, api_client, instructor, student, mongo_db
):
    course, lesson = _course(instructor, downloadable=True)
    _, asset = _upload_with_captions(
        client_for(instructor),
        mux_emulator,
        lesson["id"],
        [{"language_code": "en", "name": "English"}, {"language_code": "de"}],
    )
    [upload] = mux_emulator.uploads()
    settings_sent = upload["new_asset_settings"]
    assert [g["language_code"] for g in settings_sent["inputs"][0]["generated_subtitles"]] == ["en", "de"]
    assert settings_sent["static_renditions"] == [{"resolution": "highest", "passthrough": lesson["id"]}]

    types = Deliverer(mux_emulator, api_client).deliver_new()
    assert types.count("video.asset.track.ready") == 2
    assert "video.asset.static_rendition.ready" in types
    video = video_of(mongo_db, lesson["id"])
    assert [(t["language_code"], t["name"], t["source"], t["status"]) for t in video["tracks"]] == [
        ("en", "English", "generated", "ready"),
        ("de", "de", "generated", "ready"),
    ]
    assert [(d["name"], d["status"], d["asset_id"]) for d in video["downloads"]] == [
        ("highest.mp4", "ready", asset["id"])
    ]

    enroll(student, course["id"])
    body = client_for(student).get(f"/api/v1/lessons/{lesson['id']}/playback").json()
    assert [(t["id"], t["language_code"], t["name"]) for t in body["tracks"]] == [
        (video["tracks"][0]["id"], "en", "English"),
        (video["tracks"][1]["id"], "de", "de"),
    ]
    vtt = requests.get(body["tracks"][0]["url"], timeout=5)
    assert vtt.status_code == 200
    assert vtt.text.startswith("WEBVTT")
    assert "[en] Emulated caption 1 of 3." in vtt.text
    mp4 = requests.get(body["download_url"], timeout=5)
    assert (mp4.status_code, mp4.content) == (200, VIDEO_BYTES)
    assert requests.get(body["download_url"].split("?")[0], timeout=5).status_code == 403

    # The course stops offering downloads: the URL disappears at once (the rendition stays at Mux).
    catalog_services.course_update(course=course_get(course_id=course["id"]), fields={"downloadable": False})
    body = client_for(student).get(f"/api/v1/lessons/{lesson['id']}/playback").json()
    assert body["download_url"] is None
    assert len(body["tracks"]) == 2


def test_not_downloadable_course_asks_for_no_rendition(mux_emulator, client_for, api_client, instructor):
    _, lesson = _course(instructor, downloadable=False)
    _upload_with_captions(client_for(instructor), mux_emulator, lesson["id"], [])
    [upload] = mux_emulator.uploads()
    assert "static_renditions" not in upload["new_asset_settings"]
    assert "inputs" not in upload["new_asset_settings"]
    Deliverer(mux_emulator, api_client).deliver_new()
    body = client_for(instructor).get(f"/api/v1/lessons/{lesson['id']}/playback").json()
    assert (body["tracks"], body["download_url"]) == ([], None)


@pytest.mark.parametrize(
    ("payload", "field_error"),
    [
        ({"generated_subtitles": [{"language_code": "xx"}]}, "language_code"),
        ({"generated_subtitles": [{"language_code": "en"}, {"language_code": "en"}]}, None),
        ({"generated_subtitles": [{"name": "no code"}]}, "language_code"),
        ({"generated_subtitles": "en"}, None),
    ],
)
def test_bad_generated_subtitles_are_400_and_nothing_reaches_mux(
    mux_emulator, client_for, instructor, mongo_db, payload, field_error
):
    _, lesson = _course(instructor, downloadable=False)
    response = client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload", payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "generated_subtitles" in error["details"]
    if field_error:
        assert field_error in str(error["details"]["generated_subtitles"])
    assert mux_emulator.requests() == []
    assert video_of(mongo_db, lesson["id"]) == {"status": "none"}


@pytest.mark.parametrize("order", ["original", "reversed"])
def test_track_and_rendition_events_in_any_order_end_in_the_same_state(
    mux_emulator, client_for, api_client, instructor, mongo_db, order
):
    _, lesson = _course(instructor, downloadable=True)
    _upload_with_captions(client_for(instructor), mux_emulator, lesson["id"], [{"language_code": "fr"}])
    events = mux_emulator.events()
    if order == "reversed":
        events = list(reversed(events))
    deliverer = Deliverer(mux_emulator, api_client)
    for event in events:
        deliverer.post(event)
    for event in events[:3]:  # redelivered duplicates change nothing
        mux_emulator.post_event(api_client, event)
    video = video_of(mongo_db, lesson["id"])
    assert video["status"] == "ready"
    assert [(t["language_code"], t["status"]) for t in video["tracks"]] == [("fr", "ready")]
    assert [(d["name"], d["status"]) for d in video["downloads"]] == [("highest.mp4", "ready")]

    # A late "created" for the ready track (a retried older delivery) never moves it back.
    [created] = mux_emulator.events("video.asset.track.created")
    assert (
        mux_emulator.post_event(
            api_client, {**created, "body": created["body"].replace(created["id"], "late-1")}
        ).status_code
        == 200
    )
    assert video_of(mongo_db, lesson["id"])["tracks"][0]["status"] == "ready"


def test_a_replacement_video_drops_the_old_videos_tracks(
    mux_emulator, client_for, api_client, instructor, mongo_db
):
    _, lesson = _course(instructor, downloadable=False)
    deliverer = Deliverer(mux_emulator, api_client)
    _upload_with_captions(client_for(instructor), mux_emulator, lesson["id"], [{"language_code": "en"}])
    deliverer.deliver_new()
    _ticket, second = _upload_with_captions(
        client_for(instructor), mux_emulator, lesson["id"], [{"language_code": "es"}]
    )
    deliverer.deliver_new()
    video = video_of(mongo_db, lesson["id"])
    assert video["playback_asset_id"] == second["id"]
    assert [(t["language_code"], t["asset_id"]) for t in video["tracks"]] == [("es", second["id"])]
    body = client_for(instructor).get(f"/api/v1/lessons/{lesson['id']}/playback").json()
    assert [t["language_code"] for t in body["tracks"]] == ["es"]


def test_a_course_made_downloadable_later_gets_mp4s_for_its_ready_videos(
    mux_emulator, client_for, api_client, instructor, student
):
    course, lesson = _course(instructor, downloadable=False)
    owner = client_for(instructor)
    _upload_with_captions(owner, mux_emulator, lesson["id"], [])
    deliverer = Deliverer(mux_emulator, api_client)
    deliverer.deliver_new()
    mux_emulator.control("DELETE", "requests")

    response = owner.patch(f"/api/v1/courses/{course['id']}/", {"downloadable": True}, format="json")
    assert response.status_code == 200
    assert response.json()["downloadable"] is True
    [call] = mux_emulator.requests()
    assert (call["method"], call["path"].endswith("/static-renditions"), call["status"]) == (
        "POST",
        True,
        201,
    )
    assert "video.asset.static_rendition.ready" in deliverer.deliver_new()
    enroll(student, course["id"])
    body = client_for(student).get(f"/api/v1/lessons/{lesson['id']}/playback").json()
    assert requests.get(body["download_url"], timeout=5).content == VIDEO_BYTES

    # Off and on again: the MP4 exists, nothing more is asked of Mux.
    mux_emulator.control("DELETE", "requests")
    for value in (False, True):
        assert (
            owner.patch(
                f"/api/v1/courses/{course['id']}/", {"downloadable": value}, format="json"
            ).status_code
            == 200
        )
    assert mux_emulator.requests() == []

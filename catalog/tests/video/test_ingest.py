"""Bringing existing video in (admin): from a public HTTPS URL that Mux downloads, or an asset already
in the Mux account. Through the emulator over HTTP (the file served by a loopback HTTPS server)."""

import pytest
import requests

from catalog.selectors import course_get
from catalog.tests.video.video_helpers import (
    VIDEO_BYTES,
    Deliverer,
    course_with_lesson,
    run_on_commit,  # noqa: F401
    video_of,
)
from tests.support.files import file_server

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


def _raw_public_asset(mux_emulator):
    """An asset made outside LearnStream (public playback only), as another tool would."""
    response = requests.post(
        f"{mux_emulator.url}/video/v1/assets",
        json={"inputs": [{"url": "https://127.0.0.1:1/nothing.mp4"}], "playback_policies": ["public"]},
        auth=(mux_emulator.token_id, mux_emulator.token_secret),
        timeout=5,
    )
    assert response.status_code == 201
    return response.json()["data"]


def test_from_url_ingests_and_becomes_ready(
    mux_emulator, client_for, api_client, admin_user, instructor, mongo_db
):
    _course, lesson = course_with_lesson(instructor)
    admin = client_for(admin_user)
    with file_server(tls=True) as files:
        files.files["/talk.mp4"] = VIDEO_BYTES
        response = admin.post(
            "/admin/uploads/from-url",
            {
                "lesson_id": lesson["id"],
                "url": files.url("/talk.mp4"),
                "generated_subtitles": [{"language_code": "en"}],
            },
            format="json",
        )
        assert response.status_code == 202, response.content
        mux_emulator.flush()
        assert files.hits == ["/talk.mp4"]
    body = response.json()
    assert (body["id"], body["video_status"], body["tracks"]) == (lesson["id"], "processing", [])
    [asset] = mux_emulator.assets()
    assert (asset["passthrough"], asset["ingest_type"]) == (lesson["id"], "on_demand_url")
    assert video_of(mongo_db, lesson["id"])["asset_id"] == asset["id"]

    mux_emulator.make_ready(asset["id"], duration=7.0)
    Deliverer(mux_emulator, api_client).deliver_new()
    video = video_of(mongo_db, lesson["id"])
    assert (video["status"], video["duration"]) == ("ready", 7.0)
    assert [t["language_code"] for t in video["tracks"]] == ["en"]
    playback = client_for(instructor).get(f"/api/v1/lessons/{lesson['id']}/playback").json()
    assert requests.get(playback["stream_url"], timeout=5).status_code == 200


def test_from_url_creates_the_lesson_and_an_unreachable_url_errors_it(
    mux_emulator, client_for, api_client, admin_user, instructor, mongo_db
):
    course, _lesson = course_with_lesson(instructor)
    with file_server(tls=True) as files:
        response = client_for(admin_user).post(
            "/admin/uploads/from-url",
            {"course_id": course["id"], "title": "Imported talk", "url": files.url("/gone.mp4")},
            format="json",
        )
        mux_emulator.flush()
    assert response.status_code == 202, response.content
    lesson_id = response.json()["id"]
    assert response.json()["title"] == "Imported talk"
    assert lesson_id in course_get(course_id=course["id"])["lesson_ids"]
    Deliverer(mux_emulator, api_client).deliver_new()
    video = video_of(mongo_db, lesson_id)
    assert video["status"] == "errored"
    assert video["errors"]["type"] == "invalid_input"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://example.com/video.mp4"},
        {"url": "ftp://example.com/video.mp4"},
        {"url": "not a url"},
        {"url": "https://example.com/v.mp4", "generated_subtitles": [{"language_code": "zz"}]},
    ],
)
def test_from_url_refuses_bad_input_before_mux(
    mux_emulator, client_for, admin_user, instructor, mongo_db, body
):
    _course, lesson = course_with_lesson(instructor)
    response = client_for(admin_user).post(
        "/admin/uploads/from-url", {"lesson_id": lesson["id"], **body}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert mux_emulator.requests() == []
    assert video_of(mongo_db, lesson["id"]) == {"status": "none"}


def test_import_existing_adds_a_signed_playback_id_and_plays(
    mux_emulator, client_for, admin_user, instructor, mongo_db
):
    _course, lesson = course_with_lesson(instructor)
    raw = _raw_public_asset(mux_emulator)
    mux_emulator.flush()  # its download fails at the emulator, which does not matter to make it ready
    mux_emulator.control("POST", f"assets/{raw['id']}/override", {"status": "preparing"})
    mux_emulator.make_ready(raw["id"], duration=4.0)

    response = client_for(admin_user).post(
        "/admin/uploads/import-existing", {"lesson_id": lesson["id"], "asset_id": raw["id"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["video_status"] == "ready"
    [asset] = mux_emulator.assets()
    assert sorted(p["policy"] for p in asset["playback_ids"]) == ["public", "signed"]
    assert asset["passthrough"] == lesson["id"]
    video = video_of(mongo_db, lesson["id"])
    signed = next(p["id"] for p in asset["playback_ids"] if p["policy"] == "signed")
    assert (video["status"], video["playback_id"], video["duration"]) == ("ready", signed, 4.0)
    playback = client_for(instructor).get(f"/api/v1/lessons/{lesson['id']}/playback").json()
    assert playback["playback_id"] == signed
    assert requests.get(playback["stream_url"], timeout=5).status_code == 200  # the signed HLS playlist

    # The same asset cannot be attached to a second lesson.
    _course2, other = course_with_lesson(instructor, title="Other")
    response = client_for(admin_user).post(
        "/admin/uploads/import-existing", {"lesson_id": other["id"], "asset_id": raw["id"]}, format="json"
    )
    assert response.status_code == 409
    assert video_of(mongo_db, other["id"]) == {"status": "none"}


def test_import_of_an_unknown_asset_is_404_asset_not_found(
    mux_emulator, client_for, admin_user, instructor, mongo_db
):
    _course, lesson = course_with_lesson(instructor)
    response = client_for(admin_user).post(
        "/admin/uploads/import-existing",
        {"lesson_id": lesson["id"], "asset_id": "NoSuchAsset"},
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "asset_not_found"
    assert video_of(mongo_db, lesson["id"]) == {"status": "none"}
    assert [(r["method"], r["status"]) for r in mux_emulator.requests()] == [("GET", 404)]

"""Uploaded captions, the signed caption-file URL Mux fetches, and transcripts.

The end-to-end test runs the app as a live server: Mux (the emulator) fetches the WebVTT from the URL
built on PUBLIC_BASE_URL and reports the track through signed webhooks delivered to the app."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import signing

from accounts.tokens import issue_token_pair
from catalog.tests.video.video_helpers import (
    Deliverer,
    course_with_lesson,
    enroll,
    run_on_commit,  # noqa: F401
    upload_to_ready,
    video_of,
)
from catalog.video.captions import CAPTION_FILE_SALT, caption_file_url

VTT = (
    "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nWelcome to the <b>course</b>.\n\n"
    "00:00:02.000 --> 00:00:04.500\nLet us begin.\n"
)
VTT_FR = "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nBienvenue.\n"


def bearer(user):
    access, _refresh = issue_token_pair(user)
    return {"Authorization": f"Bearer {access}"}


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


@pytest.mark.live
@pytest.mark.django_db(transaction=True)
def test_upload_replace_play_transcribe_delete_a_caption(
    live_server, mux_emulator, mongo_db, instructor, student, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    mux_emulator.set_webhook_url(f"{live_server.url}/webhooks/mux")
    api = f"{live_server.url}/api/v1"
    course, lesson = course_with_lesson(instructor)
    ticket = requests.post(
        f"{api}/lessons/{lesson['id']}/upload", headers=bearer(instructor), timeout=10
    ).json()
    assert mux_emulator.upload_bytes(ticket["upload_url"], b"\x00\x00\x00\x18ftypmp42" * 100) == 200
    asset = mux_emulator.asset_for_upload(ticket["upload_id"])
    mux_emulator.make_ready(asset["id"], duration=5.0)
    mux_emulator.flush()
    captions_url = f"{api}/lessons/{lesson['id']}/captions/"

    # Upload: 201 preparing; Mux fetches the signed URL, says ready; the list follows. (Webhooks are held
    # so that Mux's answer cannot overtake the 201.)
    mux_emulator.hold_webhooks()
    response = requests.post(
        captions_url,
        json={"language_code": "en", "name": "English", "vtt": VTT},
        headers=bearer(instructor),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    first = response.json()
    assert {k: first[k] for k in ("language_code", "name", "source", "status")} == {
        "language_code": "en", "name": "English", "source": "uploaded", "status": "preparing",
    }  # fmt: skip
    mux_emulator.flush()
    assert requests.get(captions_url, timeout=10).json() == [first]  # Mux's news has not arrived yet
    mux_emulator.release_webhooks()
    mux_emulator.flush()
    listed = requests.get(captions_url, timeout=10).json()  # a published course: anyone may read the list
    assert listed == [{**first, "status": "ready"}]
    [mux_track] = [t for t in mux_emulator.state()["assets"][0]["tracks"] if t["type"] == "text"]
    assert (mux_track["language_code"], mux_track["status"]) == ("en", "ready")

    # A learner plays it: the track URL is signed and serves exactly the uploaded file.
    enroll(student, course["id"])
    body = requests.get(f"{api}/lessons/{lesson['id']}/playback", headers=bearer(student), timeout=10).json()
    assert [(t["id"], t["language_code"], t["name"]) for t in body["tracks"]] == [
        (first["id"], "en", "English")
    ]
    assert requests.get(body["tracks"][0]["url"], timeout=10).text == VTT
    transcript = requests.get(
        f"{api}/lessons/{lesson['id']}/transcript?language=en", headers=bearer(student), timeout=10
    )
    assert transcript.json() == {"language_code": "en", "text": "Welcome to the course.\nLet us begin."}

    # Replace (same language): the new track replaces the old one here and at Mux.
    response = requests.post(
        captions_url,
        json={"language_code": "en", "name": "English v2", "vtt": VTT_FR},
        headers=bearer(instructor),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    second = response.json()
    mux_emulator.flush()
    assert requests.get(captions_url, timeout=10).json() == [{**second, "status": "ready"}]
    mux_tracks = [t for t in mux_emulator.state()["assets"][0]["tracks"] if t["type"] == "text"]
    assert [(t["name"], t["status"]) for t in mux_tracks] == [("English v2", "ready")]
    assert mongo_db.captions.count_documents({}) == 1
    # Transcripts are per track: the new one is computed, not the cached old one.
    transcript = requests.get(f"{api}/lessons/{lesson['id']}/transcript", headers=bearer(student), timeout=10)
    assert transcript.json() == {"language_code": "en", "text": "Bienvenue."}

    # Delete: gone at Mux, here, and from playback.
    response = requests.delete(f"{captions_url}{second['id']}", headers=bearer(instructor), timeout=10)
    assert response.status_code == 204
    mux_emulator.flush()
    assert requests.get(captions_url, timeout=10).json() == []
    assert [t for t in mux_emulator.state()["assets"][0]["tracks"] if t["type"] == "text"] == []
    assert mongo_db.captions.count_documents({}) == 0
    body = requests.get(f"{api}/lessons/{lesson['id']}/playback", headers=bearer(student), timeout=10).json()
    assert body["tracks"] == []


# --- refusals (in-process; webhooks in capture mode) -------------------------------------------------------


@pytest.fixture
def ready(mux_emulator, client_for, api_client, instructor):
    course, lesson = course_with_lesson(instructor)
    deliverer = Deliverer(mux_emulator, api_client)
    upload_to_ready(client_for(instructor), deliverer, lesson["id"], duration=8.0)
    mux_emulator.control("DELETE", "requests")
    return {"course": course, "lesson": lesson, "deliverer": deliverer}


def _post(client, lesson_id, **body):
    payload = {"language_code": "en", "name": "English", "vtt": VTT, **body}
    return client.post(f"/api/v1/lessons/{lesson_id}/captions/", payload, format="json")


def _nothing_written(mux_emulator, mongo_db, lesson_id, tracks_before=()):
    assert mux_emulator.requests() == []
    assert mongo_db.captions.count_documents({}) == 0
    assert video_of(mongo_db, lesson_id).get("tracks", []) == list(tracks_before)


@pytest.mark.django_db
@pytest.mark.usefixtures("run_on_commit")
@pytest.mark.parametrize(
    ("vtt", "message"),
    [
        ("1\n00:00:00,000 --> 00:00:01,000\nAn SRT file\n", "must start with the line WEBVTT"),
        ("WEBVTT\n\n", "no cues"),
        (
            "WEBVTT\n\n00:00:0x.000 --> 00:00:02.000\nBad timing\n\n00:00:03.000 --> 00:00:04.000\nOk\n",
            "invalid timing",
        ),
        ("WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nBackwards\n", "ends before it starts"),
        ("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n" + "x" * (1024 * 1024), "larger than"),
    ],
)
def test_invalid_webvtt_is_400_and_nothing_is_written(
    ready, client_for, instructor, mux_emulator, mongo_db, settings, vtt, message
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 3 * 1024 * 1024  # reach the file check, not the body cap
    response = _post(client_for(instructor), ready["lesson"]["id"], vtt=vtt)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert message in error["details"]["vtt"][0]
    _nothing_written(mux_emulator, mongo_db, ready["lesson"]["id"])


@pytest.mark.django_db
@pytest.mark.usefixtures("run_on_commit")
def test_a_5_mb_caption_is_refused_with_the_413_envelope(
    ready, client_for, instructor, mux_emulator, mongo_db
):
    response = _post(
        client_for(instructor), ready["lesson"]["id"], vtt="WEBVTT\n\n" + "x" * (5 * 1024 * 1024)
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    _nothing_written(mux_emulator, mongo_db, ready["lesson"]["id"])


@pytest.mark.django_db
@pytest.mark.usefixtures("run_on_commit")
@pytest.mark.parametrize(
    "body", [{"language_code": "English"}, {"language_code": ""}, {"name": ""}, {"vtt": ""}]
)
def test_bad_fields_are_400(ready, client_for, instructor, mux_emulator, mongo_db, body):
    response = _post(client_for(instructor), ready["lesson"]["id"], **body)
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == set(body)
    _nothing_written(mux_emulator, mongo_db, ready["lesson"]["id"])


@pytest.mark.django_db
@pytest.mark.usefixtures("run_on_commit")
def test_captions_without_a_ready_video_are_409(mux_emulator, client_for, instructor, mongo_db):
    _course, lesson = course_with_lesson(instructor)
    response = _post(client_for(instructor), lesson["id"])
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"video_status": "none"}
    response = client_for(instructor).delete(f"/api/v1/lessons/{lesson['id']}/captions/{'a' * 24}")
    assert response.status_code == 409
    _nothing_written(mux_emulator, mongo_db, lesson["id"])


@pytest.mark.django_db
@pytest.mark.usefixtures("run_on_commit")
def test_track_of_another_lesson_is_404_and_others_may_not_write(
    ready, client_for, instructor, other_instructor, student, mux_emulator, mongo_db
):
    owner = client_for(instructor)
    response = _post(owner, ready["lesson"]["id"])
    assert response.status_code == 201
    track_id = response.json()["id"]
    _, other_lesson = course_with_lesson(instructor, title="Other")
    upload_to_ready(owner, ready["deliverer"], other_lesson["id"])
    mux_emulator.control("DELETE", "requests")
    tracks_before = video_of(mongo_db, ready["lesson"]["id"])["tracks"]

    assert owner.delete(f"/api/v1/lessons/{other_lesson['id']}/captions/{track_id}").status_code == 404
    assert owner.delete(f"/api/v1/lessons/{ready['lesson']['id']}/captions/not-an-id").status_code == 404
    assert (
        client_for(other_instructor)
        .delete(f"/api/v1/lessons/{ready['lesson']['id']}/captions/{track_id}")
        .status_code
        == 403
    )
    assert _post(client_for(student), ready["lesson"]["id"]).status_code == 403
    assert mux_emulator.requests() == []
    assert video_of(mongo_db, ready["lesson"]["id"])["tracks"] == tracks_before
    assert mongo_db.captions.count_documents({}) == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("run_on_commit")
def test_mux_refusing_the_track_leaves_nothing_behind(ready, client_for, instructor, mux_emulator, mongo_db):
    mux_emulator.fail_next(500, path_prefix="/video/v1/assets")
    response = _post(client_for(instructor), ready["lesson"]["id"])
    assert response.status_code == 502
    assert mongo_db.captions.count_documents({}) == 0
    assert video_of(mongo_db, ready["lesson"]["id"]).get("tracks") == []


@pytest.mark.django_db
@pytest.mark.usefixtures("run_on_commit")
def test_the_caption_file_url_needs_its_own_unexpired_token(
    ready, client_for, instructor, api_client, settings
):
    response = _post(client_for(instructor), ready["lesson"]["id"])
    assert response.status_code == 201, response.content
    caption_id = response.json()["id"]
    url = caption_file_url(caption_id)
    assert url.startswith(f"{settings.PUBLIC_BASE_URL}/api/v1/caption-files/{caption_id}.vtt?signature=")
    path = urlsplit(url).path
    token = parse_qs(urlsplit(url).query)["signature"][0]
    good = api_client.get(path, {"signature": token})
    assert (good.status_code, good["Content-Type"], good.content.decode()) == (
        200,
        "text/vtt; charset=utf-8",
        VTT,
    )
    assert api_client.get(path).status_code == 404
    assert api_client.get(path, {"signature": token + "x"}).status_code == 404
    other = signing.TimestampSigner(salt=CAPTION_FILE_SALT).sign("b" * 24)
    assert api_client.get(path, {"signature": other}).status_code == 404  # a token for another caption
    settings.CAPTION_FILE_URL_TTL_SECONDS = -1
    assert api_client.get(path, {"signature": token}).status_code == 404  # expired
    assert api_client.get(path, {"signature": token}).json()["error"]["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.usefixtures("run_on_commit")
def test_transcript_of_a_generated_track_is_fetched_once_then_cached(
    mux_emulator, client_for, api_client, instructor, student
):
    course, lesson = course_with_lesson(instructor)
    owner = client_for(instructor)
    ticket = owner.post(
        f"/api/v1/lessons/{lesson['id']}/upload",
        {"generated_subtitles": [{"language_code": "es"}]},
        format="json",
    ).json()
    assert mux_emulator.upload_bytes(ticket["upload_url"], b"\x00\x00\x00\x18ftypmp42" * 10) == 200
    asset = mux_emulator.asset_for_upload(ticket["upload_id"])
    mux_emulator.make_ready(asset["id"], duration=6.0)
    Deliverer(mux_emulator, api_client).deliver_new()
    enroll(student, course["id"])
    learner = client_for(student)
    url = f"/api/v1/lessons/{lesson['id']}/transcript"

    assert learner.get(url, {"language": "en"}).status_code == 404
    assert learner.get(url, {"language": "not a code"}).status_code == 400
    response = learner.get(url, {"language": "es"})
    assert response.status_code == 200
    assert response.json() == {
        "language_code": "es",
        "text": "[es] Emulated caption 1 of 3.\n[es] Emulated caption 2 of 3.\n[es] Emulated caption 3 of 3.",
    }
    # Mux no longer has the track: the cached transcript is still served (no second fetch).
    [track] = [t for t in mux_emulator.state()["assets"][0]["tracks"] if t["type"] == "text"]
    mux_emulator.control("POST", f"assets/{asset['id']}/override", {"tracks": []})
    assert learner.get(url, {"language": "es"}).json()["text"].startswith("[es] Emulated caption 1")
    assert track["status"] == "ready"
    # Someone who may not play the lesson gets no transcript.
    assert client_for(instructor).get(url, {"language": "es"}).status_code == 200
    assert api_client.get(url, {"language": "es"}).status_code == 401


@pytest.mark.django_db
@pytest.mark.usefixtures("run_on_commit")
def test_deleting_the_video_drops_its_captions(ready, client_for, instructor, mongo_db):
    owner = client_for(instructor)
    lesson_id = ready["lesson"]["id"]
    assert _post(owner, lesson_id).status_code == 201
    assert mongo_db.captions.count_documents({}) == 1
    assert owner.delete(f"/api/v1/lessons/{lesson_id}/video").status_code == 204
    assert mongo_db.captions.count_documents({}) == 0
    assert owner.get(f"/api/v1/lessons/{lesson_id}/captions/").json() == []

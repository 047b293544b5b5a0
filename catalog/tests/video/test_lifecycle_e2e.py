"""The whole video lifecycle over HTTP: app (live server) ⇄ Mux emulator (real mux-python client,
signed webhooks delivered to the live server, signed playback URLs checked by the emulator)."""

import base64
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from accounts.tokens import issue_token_pair
from catalog.tests.video.video_helpers import VIDEO_BYTES, course_with_lesson, enroll, video_of
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def bearer(user):
    access, _refresh = issue_token_pair(user)
    return {"Authorization": f"Bearer {access}"}


def public_key_of(private_key_b64):
    private = serialization.load_pem_private_key(base64.b64decode(private_key_b64), password=None)
    return private.public_key()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_upload_ready_enroll_play(live_server, mux_emulator, mongo_db, instructor, student):
    course, lesson = course_with_lesson(instructor)
    mux_emulator.set_webhook_url(f"{live_server.url}/webhooks/mux")
    api = f"{live_server.url}/api/v1"

    # The instructor asks for an upload URL.
    response = requests.post(f"{api}/lessons/{lesson['id']}/upload", headers=bearer(instructor), timeout=10)
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert set(ticket) == {"upload_id", "upload_url", "expires_at"}
    video = video_of(mongo_db, lesson["id"])
    assert video["status"] == "waiting_upload"
    assert video["upload_id"] == ticket["upload_id"]
    [upload] = mux_emulator.uploads()
    assert upload["new_asset_settings"]["passthrough"] == lesson["id"]
    assert upload["new_asset_settings"]["playback_policies"] == ["signed"]

    # The browser PUTs the bytes straight to Mux; Mux says the asset exists and is being prepared.
    assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
    mux_emulator.flush_webhooks()
    asset = mux_emulator.asset_for_upload(ticket["upload_id"])
    video = video_of(mongo_db, lesson["id"])
    assert video["status"] == "processing"
    assert video["asset_id"] == asset["id"]

    # Not ready yet: playback is a 409 even for the owner.
    response = requests.get(f"{api}/lessons/{lesson['id']}/playback", headers=bearer(instructor), timeout=10)
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"video_status": "processing"}

    # Mux finishes: ready fills duration (also on the lesson), playback id and aspect ratio.
    ready = mux_emulator.make_ready(asset["id"], duration=12.5, aspect_ratio="16:9")
    mux_emulator.flush_webhooks()
    doc = mongo_db.lessons.find_one({"_id": __import__("bson").ObjectId(lesson["id"])})
    assert doc["video"]["status"] == "ready"
    assert doc["video"]["playback_id"] == ready["playback_ids"][0]["id"]
    assert doc["video"]["aspect_ratio"] == "16:9"
    assert doc["video"]["duration"] == 12.5
    assert doc["duration"] == 12.5

    # Every delivered event is stored once and processed.
    events = mux_emulator.events()
    assert {e["type"] for e in events} >= {
        "video.upload.asset_created",
        "video.asset.created",
        "video.asset.ready",
    }
    rows = WebhookEvent.objects.order_by("received_at")
    assert sorted(r.event_id for r in rows) == sorted(e["id"] for e in events)
    assert {r.status for r in rows} == {"processed"}

    # A student who is not enrolled may not watch; once enrolled, they may.
    response = requests.get(f"{api}/lessons/{lesson['id']}/playback", headers=bearer(student), timeout=10)
    assert response.status_code == 403
    enroll(student, course["id"])
    response = requests.get(f"{api}/lessons/{lesson['id']}/playback", headers=bearer(student), timeout=10)
    assert response.status_code == 200, response.text
    grant = response.json()
    playback_id = doc["video"]["playback_id"]
    assert grant["playback_id"] == playback_id
    assert grant["stream_url"].startswith(f"{mux_emulator.url}/stream/{playback_id}.m3u8?token=")
    assert grant["thumbnail_url"].startswith(f"{mux_emulator.url}/image/{playback_id}/thumbnail.jpg?token=")
    assert grant["storyboard_url"].startswith(f"{mux_emulator.url}/image/{playback_id}/storyboard.vtt?token=")

    # The tokens verify with the signing key's public half and carry the right claims.
    public_key = public_key_of(mux_emulator.signing_private_key)
    for url, audience in (
        (grant["stream_url"], "v"),
        (grant["thumbnail_url"], "t"),
        (grant["storyboard_url"], "s"),
    ):
        token = url.split("token=", 1)[1]
        assert jwt.get_unverified_header(token) == {
            "alg": "RS256",
            "typ": "JWT",
            "kid": mux_emulator.signing_key_id,
        }
        claims = jwt.decode(token, public_key, algorithms=["RS256"], audience=audience)
        assert claims["sub"] == playback_id
        assert claims["kid"] == mux_emulator.signing_key_id
        assert 0 < claims["exp"] - time.time() <= 3600

    # Mux (the emulator) serves the signed URLs, and refuses a tampered token.
    assert requests.get(grant["stream_url"], timeout=10).status_code == 200
    assert requests.get(grant["thumbnail_url"], timeout=10).status_code == 200
    assert requests.get(grant["storyboard_url"], timeout=10).status_code == 200
    head, payload, signature = grant["stream_url"].split("token=", 1)[1].split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    assert (
        requests.get(grant["stream_url"].split("token=")[0] + f"token={tampered}", timeout=10).status_code
        == 403
    )
    # A thumbnail token does not open the stream (wrong audience).
    thumb_token = grant["thumbnail_url"].split("token=", 1)[1]
    wrong_aud = f"{mux_emulator.url}/stream/{playback_id}.m3u8?token={thumb_token}"
    assert requests.get(wrong_aud, timeout=10).status_code == 403


def test_errored_asset_keeps_muxs_messages(live_server, mux_emulator, mongo_db, instructor, student):
    course, lesson = course_with_lesson(instructor)
    mux_emulator.set_webhook_url(f"{live_server.url}/webhooks/mux")
    api = f"{live_server.url}/api/v1"
    ticket = requests.post(
        f"{api}/lessons/{lesson['id']}/upload", headers=bearer(instructor), timeout=10
    ).json()
    assert mux_emulator.upload_bytes(ticket["upload_url"], b"not a video") == 200
    asset = mux_emulator.asset_for_upload(ticket["upload_id"])
    mux_emulator.make_errored(asset["id"], error_type="invalid_input", messages=["The file is not a video."])
    mux_emulator.flush_webhooks()
    video = video_of(mongo_db, lesson["id"])
    assert video["status"] == "errored"
    assert video["errors"] == {"type": "invalid_input", "messages": ["The file is not a video."]}
    assert video.get("playback_id") is None
    response = requests.get(f"{api}/lessons/{lesson['id']}/playback", headers=bearer(instructor), timeout=10)
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "video_status": "errored",
        "errors": {"type": "invalid_input", "messages": ["The file is not a video."]},
    }
    # Students see the status only.
    enroll(student, course["id"])
    response = requests.get(f"{api}/lessons/{lesson['id']}/playback", headers=bearer(student), timeout=10)
    assert response.json()["error"]["details"] == {"video_status": "errored"}
    # A new upload is the way out: the errored asset is cleaned up at Mux.
    response = requests.post(f"{api}/lessons/{lesson['id']}/upload", headers=bearer(instructor), timeout=10)
    assert response.status_code == 201
    assert video_of(mongo_db, lesson["id"])["status"] == "waiting_upload"
    assert asset["id"] not in {a["id"] for a in mux_emulator.assets()}


def test_upload_cancelled_at_mux(live_server, mux_emulator, mongo_db, instructor):
    from streaming import mux

    _course, lesson = course_with_lesson(instructor)
    mux_emulator.set_webhook_url(f"{live_server.url}/webhooks/mux")
    ticket = requests.post(
        f"{live_server.url}/api/v1/lessons/{lesson['id']}/upload", headers=bearer(instructor), timeout=10
    ).json()
    # Cancelled outside the app (e.g. in the Mux dashboard): the webhook moves the lesson.
    assert mux.cancel_direct_upload(ticket["upload_id"]).status == "cancelled"
    mux_emulator.flush_webhooks()
    assert video_of(mongo_db, lesson["id"])["status"] == "cancelled"
    assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) >= 400


def test_concurrent_duplicate_deliveries_store_and_apply_once(
    live_server, mux_emulator, mongo_db, instructor
):
    """With real concurrency: the same signed event posted by 8 threads at once."""
    import concurrent.futures

    _course, lesson = course_with_lesson(instructor)
    ticket = requests.post(
        f"{live_server.url}/api/v1/lessons/{lesson['id']}/upload", headers=bearer(instructor), timeout=10
    ).json()
    assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
    asset = mux_emulator.asset_for_upload(ticket["upload_id"])
    mux_emulator.make_ready(asset["id"], duration=5.0)
    [ready] = mux_emulator.events("video.asset.ready")
    body = ready["body"].encode()

    def deliver(_):
        return requests.post(
            f"{live_server.url}/webhooks/mux",
            data=body,
            headers={"Content-Type": "application/json", "Mux-Signature": mux_emulator.signature(body)},
            timeout=10,
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(deliver, range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert sorted(a.json()["duplicate"] for a in answers) == [False] + [True] * 7
    row = WebhookEvent.objects.get()
    assert (row.event_id, row.status, row.attempts) == (ready["id"], "processed", 1)
    video = video_of(mongo_db, lesson["id"])
    assert (video["status"], video["rev"]) == ("ready", 2)


def test_webhook_acks_fast(live_server, mux_emulator):
    """200 signed deliveries from 8 threads; every answer is 2xx and p99 < 2 s."""
    import concurrent.futures
    import json

    def deliver(n):
        body = json.dumps(
            {"id": f"evt-{n}", "type": "video.asset.warning", "created_at": time.time(), "data": {}}
        )
        started = time.monotonic()
        response = requests.post(
            f"{live_server.url}/webhooks/mux",
            data=body.encode(),
            headers={
                "Content-Type": "application/json",
                "Mux-Signature": mux_emulator.signature(body.encode()),
            },
            timeout=10,
        )
        return response.status_code, time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(deliver, range(200)))
    assert {status for status, _ in results} == {200}
    latencies = sorted(elapsed for _, elapsed in results)
    assert latencies[int(len(latencies) * 0.99) - 1] < 2.0
    assert WebhookEvent.objects.count() == 200

"""Webhooks emitted by the emulator: signed per Mux's documented format envelope, retries, test faults.

A tiny loopback receiver stands in for the app; signatures are checked with an independent
implementation of the documented algorithm, itself pinned by Mux's official test vector.
"""

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from streaming import mux
from streaming.emulator import sign
from streaming.emulator.webhooks import WRONG_SECRET

MP4_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"\x02" * 4000


def verify(
    header: str, body: bytes, secrets: list[str], *, tolerance: int = 300, now: float | None = None
) -> bool:
    """Mux's documented format t=<ts>,v1=<hex hmac_sha256(secret, f"{t}." + raw body)>, any v1 may match."""
    parts = [p.split("=", 1) for p in header.split(",")]
    timestamps = [v for k, v in parts if k == "t"]
    signatures = [v for k, v in parts if k == "v1"]
    if len(timestamps) != 1 or not signatures:
        return False
    t = int(timestamps[0])
    if (now if now is not None else time.time()) - t > tolerance:
        return False
    expected = [hmac.new(s.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest() for s in secrets]
    return any(hmac.compare_digest(e, sig) for e in expected for sig in signatures)


def test_official_mux_test_vector():
    body = b'{"test":"body"}'
    expected = "854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7"

    assert sign(body, secret="SuperSecret123", timestamp=1565125718) == expected
    assert verify(f"t=1565125718,v1={expected}", body, ["SuperSecret123"], now=1565125718)
    assert not verify(f"t=1565125718,v1={expected}", body, ["OtherSecret"], now=1565125718)


class Receiver:
    def __init__(self):
        self.received: list[dict] = []
        self.statuses: list[int] = []  # answered in order, then 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append({"headers": dict(self.headers), "body": body, "path": self.path})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/mux"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def events(self):
        return [json.loads(r["body"]) for r in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(mux_emulator):
    r = Receiver()
    mux_emulator.set_webhook_url(r.url)
    yield r
    r.close()


def _upload_and_ready(mux_emulator):
    upload = mux.create_direct_upload(lesson_id="lesson-7")
    assert mux_emulator.upload_bytes(upload.url, MP4_BYTES) == 200
    asset_id = mux.get_direct_upload(upload.id).asset_id
    mux_emulator.make_ready(asset_id)
    mux_emulator.flush_webhooks()
    return upload, asset_id


def test_lifecycle_events_are_signed_and_enveloped(mux_emulator, receiver):
    upload, asset_id = _upload_and_ready(mux_emulator)

    events = receiver.events()
    assert [e["type"] for e in events] == [
        "video.upload.created",
        "video.upload.asset_created",
        "video.asset.created",
        "video.asset.ready",
    ]
    for request in receiver.received:
        assert request["path"] == "/webhooks/mux"
        assert request["headers"]["Content-Type"] == "application/json"
        assert verify(request["headers"]["Mux-Signature"], request["body"], [mux_emulator.webhook_secret])
        assert not verify(request["headers"]["Mux-Signature"], request["body"], ["another-secret"])
    assert len({e["id"] for e in events}) == 4
    created = [datetime.fromisoformat(e["created_at"].replace("Z", "+00:00")) for e in events]
    assert created == sorted(created)
    assert len(set(created)) == 4
    for event in events:
        assert event["environment"] == {"id": "emulator", "name": "Mux emulator"}
        assert set(event) >= {"type", "id", "created_at", "object", "environment", "data", "attempts"}
    upload_event, ready_event = events[1], events[3]
    assert upload_event["object"] == {"type": "upload", "id": upload.id}
    assert upload_event["data"]["status"] == "asset_created"
    assert upload_event["data"]["asset_id"] == asset_id
    assert upload_event["data"]["new_asset_settings"]["passthrough"] == "lesson-7"
    assert ready_event["object"] == {"type": "asset", "id": asset_id}
    assert ready_event["data"]["status"] == "ready"
    assert ready_event["data"]["passthrough"] == "lesson-7"
    assert ready_event["data"]["upload_id"] == upload.id
    assert isinstance(ready_event["data"]["created_at"], int)
    assert isinstance(ready_event["data"]["duration"], float)
    assert ready_event["data"]["playback_ids"][0]["policy"] == "signed"
    assert [(d["type"], d["attempt"], d["status"]) for d in mux_emulator.deliveries()] == [
        (e["type"], 1, 200) for e in events
    ]


def test_errored_cancelled_and_deleted_events(mux_emulator, receiver):
    first = mux.create_direct_upload(lesson_id="lesson-1")
    mux.cancel_direct_upload(first.id)
    second = mux.create_direct_upload(lesson_id="lesson-2")
    mux_emulator.upload_bytes(second.url, MP4_BYTES)
    asset_id = mux.get_direct_upload(second.id).asset_id
    mux_emulator.make_errored(asset_id, messages=["Bad input."])
    mux.delete_asset(asset_id)
    mux_emulator.flush_webhooks()

    by_type = {e["type"]: e for e in receiver.events()}
    assert by_type["video.upload.cancelled"]["data"]["status"] == "cancelled"
    assert by_type["video.upload.cancelled"]["data"]["id"] == first.id
    assert by_type["video.asset.errored"]["data"]["errors"] == {
        "type": "invalid_input",
        "messages": ["Bad input."],
    }
    assert by_type["video.asset.deleted"]["object"] == {"type": "asset", "id": asset_id}


def test_ready_after_configured_delay(mux_emulator, receiver):
    mux_emulator.set_ready_delay(0.2)
    upload = mux.create_direct_upload(lesson_id="lesson-1")
    mux_emulator.upload_bytes(upload.url, MP4_BYTES)
    asset_id = mux.get_direct_upload(upload.id).asset_id

    assert mux.get_asset(asset_id).status == "preparing"
    deadline = time.monotonic() + 5
    while mux.get_asset(asset_id).status != "ready" and time.monotonic() < deadline:
        time.sleep(0.05)
    mux_emulator.flush_webhooks()

    assert mux.get_asset(asset_id).status == "ready"
    assert receiver.events()[-1]["type"] == "video.asset.ready"


def test_non_2xx_is_retried_with_the_same_event(mux_emulator, receiver):
    receiver.statuses = [500, 503]
    mux_emulator.emit_event("video.asset.ready", {"id": "a1", "status": "ready"}, object_id="a1")
    mux_emulator.flush_webhooks()

    assert [(d["attempt"], d["status"]) for d in mux_emulator.deliveries()] == [(1, 500), (2, 503), (3, 200)]
    bodies = {r["body"] for r in receiver.received}
    assert len(bodies) == 1  # identical bytes, re-signed each attempt
    assert all(
        verify(r["headers"]["Mux-Signature"], r["body"], [mux_emulator.webhook_secret])
        for r in receiver.received
    )


def test_retries_are_bounded(mux_emulator, receiver):
    receiver.statuses = [500] * 10
    mux_emulator.emit_event("video.asset.ready", {"id": "a1"}, object_id="a1")
    mux_emulator.flush_webhooks()

    assert [d["status"] for d in mux_emulator.deliveries()] == [500, 500, 500]  # the fixture's max_attempts
    assert mux_emulator.deliveries()[-1]["retry_in"] is None


def test_unreachable_receiver_is_retried_and_logged(mux_emulator):
    mux_emulator.set_webhook_url("http://127.0.0.1:9/webhooks/mux")
    mux_emulator.emit_event("video.asset.ready", {"id": "a1"}, object_id="a1")
    mux_emulator.flush_webhooks()

    deliveries = mux_emulator.deliveries()
    assert [d["status"] for d in deliveries] == [None, None, None]
    assert all("Connection" in d["error"] or "refused" in d["error"] for d in deliveries)


def test_duplicate_delivery_has_the_same_id_and_body(mux_emulator, receiver):
    mux_emulator.webhook_faults(duplicate=1)
    mux_emulator.emit_event("video.asset.ready", {"id": "a1"}, object_id="a1")
    mux_emulator.emit_event("video.asset.ready", {"id": "a2"}, object_id="a2")
    mux_emulator.flush_webhooks()

    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == 3
    assert ids[0] == ids[1] != ids[2]
    assert receiver.received[0]["body"] == receiver.received[1]["body"]
    assert [d["duplicate"] for d in mux_emulator.deliveries()] == [False, True, False]


def test_stale_timestamp_fault(mux_emulator, receiver):
    receiver.statuses = [400]
    mux_emulator.webhook_faults(stale=1, stale_seconds=600)
    mux_emulator.emit_event("video.asset.ready", {"id": "a1"}, object_id="a1")
    mux_emulator.flush_webhooks()

    [request] = receiver.received  # a deliberately broken attempt is not retried
    header = request["headers"]["Mux-Signature"]
    t = int(header.split(",")[0].removeprefix("t="))
    assert 595 <= time.time() - t <= 605
    assert verify(header, request["body"], [mux_emulator.webhook_secret], tolerance=10**6)
    assert not verify(header, request["body"], [mux_emulator.webhook_secret])
    assert mux_emulator.deliveries()[0]["fault"] == "stale"


def test_wrong_secret_fault(mux_emulator, receiver):
    receiver.statuses = [400]
    mux_emulator.webhook_faults(wrong_secret=1)
    mux_emulator.emit_event("video.asset.ready", {"id": "a1"}, object_id="a1")
    mux_emulator.emit_event("video.asset.ready", {"id": "a2"}, object_id="a2")
    mux_emulator.flush_webhooks()

    forged, genuine = receiver.received
    assert not verify(forged["headers"]["Mux-Signature"], forged["body"], [mux_emulator.webhook_secret])
    assert verify(forged["headers"]["Mux-Signature"], forged["body"], [WRONG_SECRET])
    assert verify(genuine["headers"]["Mux-Signature"], genuine["body"], [mux_emulator.webhook_secret])


def test_several_secrets_give_several_v1_values(mux_emulator, receiver):
    mux_emulator.set_webhook_secrets(["old-secret-value-1234", "new-secret-value-5678"])
    mux_emulator.emit_event("video.asset.ready", {"id": "a1"}, object_id="a1")
    mux_emulator.flush_webhooks()

    [request] = receiver.received
    header = request["headers"]["Mux-Signature"]
    assert [p.split("=")[0] for p in header.split(",")] == ["t", "v1", "v1"]
    assert verify(header, request["body"], ["new-secret-value-5678"])
    assert verify(header, request["body"], ["old-secret-value-1234"])


def test_hold_and_release_in_reversed_order(mux_emulator, receiver):
    mux_emulator.hold_webhooks()
    upload = mux.create_direct_upload(lesson_id="lesson-1")
    mux_emulator.upload_bytes(upload.url, MP4_BYTES)
    mux_emulator.make_ready(mux.get_direct_upload(upload.id).asset_id)
    mux_emulator.flush_webhooks()
    assert receiver.received == []

    assert mux_emulator.release_webhooks(order="reversed") == 4
    mux_emulator.flush_webhooks()

    assert [e["type"] for e in receiver.events()] == [
        "video.asset.ready",
        "video.asset.created",
        "video.upload.asset_created",
        "video.upload.created",
    ]


def test_redeliver_sends_the_same_event_again(mux_emulator, receiver):
    event = mux_emulator.emit_event("video.asset.ready", {"id": "a1"}, object_id="a1")
    mux_emulator.flush_webhooks()

    mux_emulator.redeliver(event["id"])
    mux_emulator.flush_webhooks()

    assert [e["id"] for e in receiver.events()] == [event["id"], event["id"]]


def test_capture_mode_records_without_sending(mux_emulator):
    mux_emulator.emit_event("video.asset.ready", {"id": "a1"}, object_id="a1")
    mux_emulator.flush_webhooks()

    [event] = mux_emulator.events()
    assert mux_emulator.deliveries() == []
    assert json.loads(event["body"]) == event["payload"]
    header = mux_emulator.signature(event["body"].encode())
    assert verify(header, event["body"].encode(), [mux_emulator.webhook_secret])

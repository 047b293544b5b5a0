"""streaming.mux against the Mux emulator over real HTTP (the unmodified mux-python client underneath)."""

import logging
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from learnstream.errors import IntegrationError, to_response
from streaming import mux, payloads

MP4_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


def _uploaded_asset(mux_emulator, *, lesson_id="lesson-1"):
    upload = mux.create_direct_upload(lesson_id=lesson_id, title="Intro")
    assert mux_emulator.upload_bytes(upload.url, MP4_BYTES) == 200
    return upload, mux.get_direct_upload(upload.id).asset_id


def _calls(mux_emulator):
    return [(r["method"], r["path"], r["status"]) for r in mux_emulator.requests()]


# --- direct uploads --------------------------------------------------------------------------------------


def test_create_direct_upload_sends_signed_policy_passthrough_and_cors(mux_emulator, settings):
    settings.MUX_CORS_ORIGIN = "https://app.example.com"
    before = datetime.now(tz=UTC)

    upload = mux.create_direct_upload(lesson_id="65f0c0ffee0000000000abcd", title="Lesson one")

    assert upload.status == "waiting"
    assert upload.url.startswith(f"{mux_emulator.url}/_upload/{upload.id}?token=")
    assert upload.asset_id is None
    assert upload.timeout == 3600
    assert upload.cors_origin == "https://app.example.com"
    assert upload.passthrough == "65f0c0ffee0000000000abcd"
    assert upload.error is None
    assert (
        before + timedelta(seconds=3600)
        <= upload.expires_at
        <= datetime.now(tz=UTC) + timedelta(seconds=3600)
    )
    [stored] = mux_emulator.uploads()
    assert stored["new_asset_settings"]["playback_policies"] == ["signed"]
    assert stored["new_asset_settings"]["passthrough"] == "65f0c0ffee0000000000abcd"
    assert stored["new_asset_settings"]["meta"] == {
        "title": "Lesson one",
        "external_id": "65f0c0ffee0000000000abcd",
    }
    assert stored["cors_origin"] == "https://app.example.com"
    assert _calls(mux_emulator) == [("POST", "/video/v1/uploads", 201)]


def test_create_direct_upload_rejects_passthrough_over_mux_limit_without_calling_mux(mux_emulator):
    with pytest.raises(ValueError, match="255"):
        mux.create_direct_upload(lesson_id="x" * 256)

    assert mux_emulator.requests() == []
    assert mux_emulator.uploads() == []


def test_get_direct_upload_after_bytes_arrive_has_asset_id_and_no_url(mux_emulator):
    upload, asset_id = _uploaded_asset(mux_emulator)

    fetched = mux.get_direct_upload(upload.id)

    assert fetched.status == "asset_created"
    assert fetched.asset_id == asset_id
    assert fetched.url is None
    assert fetched.expires_at is None
    assert fetched.passthrough == "lesson-1"


def test_get_unknown_upload_raises_not_found_at_mux_which_renders_as_502(mux_emulator):
    with pytest.raises(mux.NotFoundAtMux) as caught:
        mux.get_direct_upload("does-not-exist")

    assert isinstance(caught.value, IntegrationError)
    response = to_response(caught.value)
    assert response.status_code == 502
    assert response.data == {
        "error": {
            "code": "integration_error",
            "message": "The video service does not know this resource.",
            "details": {},
        }
    }
    assert _calls(mux_emulator) == [("GET", "/video/v1/uploads/does-not-exist", 404)]


def test_cancel_waiting_upload(mux_emulator):
    upload = mux.create_direct_upload(lesson_id="lesson-1")

    cancelled = mux.cancel_direct_upload(upload.id)

    assert cancelled.status == "cancelled"
    assert cancelled.url is None
    assert [e["type"] for e in mux_emulator.events()][-1] == "video.upload.cancelled"


def test_cancel_of_non_waiting_upload_returns_its_current_state(mux_emulator):
    upload, asset_id = _uploaded_asset(mux_emulator)
    mux_emulator.control("DELETE", "requests")

    result = mux.cancel_direct_upload(upload.id)

    assert result.status == "asset_created"
    assert result.asset_id == asset_id
    # Mux's 403 is not retried; the client reads the upload instead.
    assert _calls(mux_emulator) == [
        ("PUT", f"/video/v1/uploads/{upload.id}/cancel", 403),
        ("GET", f"/video/v1/uploads/{upload.id}", 200),
    ]
    assert "video.upload.cancelled" not in [e["type"] for e in mux_emulator.events()]


def test_cancel_twice_is_harmless(mux_emulator):
    upload = mux.create_direct_upload(lesson_id="lesson-1")
    mux.cancel_direct_upload(upload.id)

    again = mux.cancel_direct_upload(upload.id)

    assert again.status == "cancelled"
    assert [e["type"] for e in mux_emulator.events()].count("video.upload.cancelled") == 1


def test_cancel_unknown_upload_raises_not_found(mux_emulator):
    with pytest.raises(mux.NotFoundAtMux):
        mux.cancel_direct_upload("nope")


# --- assets ------------------------------------------------------------------------------------------------


def test_get_asset_preparing_then_ready(mux_emulator):
    upload, asset_id = _uploaded_asset(mux_emulator)

    preparing = mux.get_asset(asset_id)
    mux_emulator.make_ready(asset_id, duration=12.5, aspect_ratio="4:3")
    ready = mux.get_asset(asset_id)

    assert preparing.status == "preparing"
    assert preparing.duration is None
    assert preparing.upload_id == upload.id
    assert preparing.passthrough == "lesson-1"
    assert len(preparing.playback_ids) == 1
    assert preparing.playback_ids[0].policy == "signed"
    assert ready.status == "ready"
    assert ready.duration == 12.5
    assert ready.aspect_ratio == "4:3"
    assert ready.resolution_tier == "1080p"
    assert ready.max_stored_resolution == "FHD"
    assert ready.signed_playback_id == preparing.playback_ids[0].id
    assert ready.errors is None
    assert isinstance(ready.created_at, datetime)


def test_get_errored_asset_keeps_mux_messages(mux_emulator):
    _, asset_id = _uploaded_asset(mux_emulator)
    mux_emulator.make_errored(asset_id, error_type="invalid_input", messages=["Unsupported codec."])

    asset = mux.get_asset(asset_id)

    assert asset.status == "errored"
    assert asset.errors == payloads.AssetErrors(type="invalid_input", messages=("Unsupported codec.",))


def test_unknown_enum_value_from_mux_is_tolerated(mux_emulator):
    # A future Mux status the SDK's enum does not know must not blow up deserialisation.
    _, asset_id = _uploaded_asset(mux_emulator)
    mux_emulator.control(
        "POST", f"assets/{asset_id}/override", {"status": "processing", "resolution_tier": "4320p"}
    )

    asset = mux.get_asset(asset_id)

    assert asset.status == "processing"
    assert asset.resolution_tier == "4320p"


def test_get_unknown_asset_raises_not_found(mux_emulator):
    with pytest.raises(mux.NotFoundAtMux):
        mux.get_asset("missing-asset")


def test_delete_asset_then_delete_again_is_a_no_op(mux_emulator):
    _, asset_id = _uploaded_asset(mux_emulator)
    mux_emulator.control("DELETE", "requests")

    assert mux.delete_asset(asset_id) is None
    assert mux.delete_asset(asset_id) is None

    assert _calls(mux_emulator) == [
        ("DELETE", f"/video/v1/assets/{asset_id}", 204),
        ("DELETE", f"/video/v1/assets/{asset_id}", 404),
    ]
    assert mux_emulator.assets() == []
    assert [e["type"] for e in mux_emulator.events()].count("video.asset.deleted") == 1


# --- signing keys --------------------------------------------------------------------------------------


def test_signing_key_create_list_delete(mux_emulator):
    key = mux.create_signing_key()

    listed = mux.list_signing_keys()
    mux.delete_signing_key(key.id)
    mux.delete_signing_key(key.id)  # already gone: fine
    after = mux.list_signing_keys()

    assert key.private_key_b64
    assert {k.id for k in listed} == {key.id, mux_emulator.signing_key_id}
    assert [k.id for k in after] == [mux_emulator.signing_key_id]
    assert all(isinstance(k.created_at, datetime) for k in listed)


# --- failures -------------------------------------------------------------------------------------------


def test_bad_credentials_are_an_integration_error_not_retried(mux_emulator, settings, caplog):
    settings.MUX_TOKEN_SECRET = "wrong-secret-value"
    caplog.set_level(logging.WARNING, logger="streaming.mux")

    with pytest.raises(IntegrationError) as caught:
        mux.get_asset("anything")

    assert type(caught.value) is IntegrationError
    assert caught.value.message == mux.REJECTED_MESSAGE
    assert _calls(mux_emulator) == [("GET", "/video/v1/assets/anything", 401)]
    assert "HTTP 401" in caplog.text
    assert "unauthorized" in caplog.text
    assert "wrong-secret-value" not in caplog.text


def test_429_on_get_is_retried_with_backoff_then_succeeds(mux_emulator):
    _, asset_id = _uploaded_asset(mux_emulator)
    mux_emulator.control("DELETE", "requests")
    mux_emulator.fail_next(429, count=2)

    asset = mux.get_asset(asset_id)

    assert asset.id == asset_id
    assert [c[2] for c in _calls(mux_emulator)] == [429, 429, 200]


def test_retry_after_is_honoured(mux_emulator):
    _, asset_id = _uploaded_asset(mux_emulator)
    mux_emulator.fail_next(429, count=1, retry_after=1)

    started = time.monotonic()
    mux.get_asset(asset_id)
    elapsed = time.monotonic() - started

    assert 1.0 <= elapsed < 2.5


def test_persistent_500_on_get_gives_up_after_bounded_attempts(mux_emulator, caplog):
    mux_emulator.fail_next(500, count=10)
    caplog.set_level(logging.WARNING, logger="streaming.mux")

    started = time.monotonic()
    with pytest.raises(IntegrationError) as caught:
        mux.get_asset("some-asset")

    assert time.monotonic() - started < 3
    assert caught.value.message == mux.UNAVAILABLE_MESSAGE
    assert [c[2] for c in _calls(mux_emulator)] == [500] * mux.IDEMPOTENT_ATTEMPTS
    assert "internal_server_error" in caplog.text
    assert to_response(caught.value).status_code == 502


def test_500_on_create_is_not_retried_and_nothing_is_created(mux_emulator):
    mux_emulator.fail_next(500, count=5, method="POST")

    with pytest.raises(IntegrationError):
        mux.create_direct_upload(lesson_id="lesson-1")

    assert _calls(mux_emulator) == [("POST", "/video/v1/uploads", 500)]
    assert mux_emulator.uploads() == []


def test_429_on_delete_is_retried(mux_emulator):
    _, asset_id = _uploaded_asset(mux_emulator)
    mux_emulator.control("DELETE", "requests")
    mux_emulator.fail_next(503, count=1, method="DELETE")

    mux.delete_asset(asset_id)

    assert [c[2] for c in _calls(mux_emulator)] == [503, 204]


def test_slow_get_times_out_within_bound(mux_emulator, settings):
    settings.MUX_REQUEST_TIMEOUT_SECONDS = 0.3
    mux_emulator.slow_next(3.0, count=5)

    started = time.monotonic()
    with pytest.raises(IntegrationError) as caught:
        mux.get_asset("slow-asset")
    elapsed = time.monotonic() - started

    # One urllib3 read retry for idempotent calls: 2 attempts x 0.3 s plus a short backoff.
    assert elapsed < 1.5
    assert caught.value.message == mux.UNAVAILABLE_MESSAGE


def test_slow_create_times_out_after_one_attempt(mux_emulator, settings):
    settings.MUX_REQUEST_TIMEOUT_SECONDS = 0.3
    mux_emulator.slow_next(3.0, count=5, method="POST")

    started = time.monotonic()
    with pytest.raises(IntegrationError):
        mux.create_direct_upload(lesson_id="lesson-1")

    assert time.monotonic() - started < 0.9


def test_connection_refused_is_an_integration_error(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.MUX_API_BASE_URL = f"http://127.0.0.1:{port}"

    started = time.monotonic()
    with pytest.raises(IntegrationError) as caught:
        mux.get_asset("any")
    with pytest.raises(IntegrationError):
        mux.create_direct_upload(lesson_id="lesson-1")

    assert time.monotonic() - started < 3
    assert caught.value.message == mux.UNAVAILABLE_MESSAGE
    assert to_response(caught.value).data["error"]["code"] == "integration_error"


# --- parsing (API and webhook payloads) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1609868768, datetime(2021, 1, 5, 17, 46, 8, tzinfo=UTC)),
        ("1609868768", datetime(2021, 1, 5, 17, 46, 8, tzinfo=UTC)),
        ("2021-01-05T17:46:08.500000Z", datetime(2021, 1, 5, 17, 46, 8, 500000, tzinfo=UTC)),
        ({"seconds": 1609868768, "nanos": 500000000}, datetime(2021, 1, 5, 17, 46, 8, 500000, tzinfo=UTC)),
        (None, None),
        ("garbage", None),
        ({"nanos": 5}, None),
        (True, None),
        # Out of range for a datetime or a float: unusable, not an error that fails the whole event.
        (1e300, None),
        (10**400, None),
        ("1e300", None),
        ({"seconds": 1e300}, None),
        (float("nan"), None),
    ],
)
def test_parse_mux_time(value, expected):
    assert payloads.parse_mux_time(value) == expected


def test_asset_from_webhook_payload():
    asset = payloads.asset_from_payload(
        {
            "id": "a1",
            "created_at": 1609868768,
            "status": "ready",
            "duration": 23.4,
            "aspect_ratio": "16:9",
            "playback_ids": [{"id": "p-public", "policy": "public"}, {"id": "p-signed", "policy": "signed"}],
            "upload_id": "u1",
            "passthrough": "lesson-9",
            "unknown_future_field": {"x": 1},
        }
    )

    assert asset.id == "a1"
    assert asset.created_at == datetime(2021, 1, 5, 17, 46, 8, tzinfo=UTC)
    assert asset.signed_playback_id == "p-signed"
    assert asset.duration == 23.4
    assert asset.passthrough == "lesson-9"


def test_upload_from_webhook_payload_reads_nested_passthrough():
    upload = payloads.upload_from_payload(
        {
            "id": "u1",
            "status": "asset_created",
            "asset_id": "a1",
            "new_asset_settings": {"passthrough": "lesson-9", "playback_policies": ["signed"]},
        }
    )

    assert upload == payloads.Upload(
        id="u1",
        status="asset_created",
        url=None,
        asset_id="a1",
        timeout=None,
        cors_origin=None,
        passthrough="lesson-9",
        error=None,
    )

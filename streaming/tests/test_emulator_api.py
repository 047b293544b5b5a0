"""Emulator fidelity: the unmodified mux-python SDK, with its strict enum validation, over HTTP.

These tests use mux_python directly (not streaming.mux) on purpose: they check that every envelope,
status code and enum value the emulator produces is exactly what the SDK accepts.
"""

import base64
import json

import mux_python
import pytest
import requests
from mux_python.rest import ApiException, ForbiddenException, NotFoundException, UnauthorizedException

MP4_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 250_000  # 2.0 s at the emulator's 1 Mbit/s


@pytest.fixture
def sdk(mux_emulator):
    """An ApiClient with the SDK's default (strict) model validation, which streaming.mux relaxes."""
    previous = mux_python.Configuration._default
    mux_python.Configuration.set_default(None)
    config = mux_python.Configuration(
        host=mux_emulator.url, username=mux_emulator.token_id, password=mux_emulator.token_secret
    )
    config.retries = 0
    client = mux_python.ApiClient(config)
    yield client
    mux_python.Configuration._default = previous


class _Raw:
    def __init__(self, payload):
        self.data = json.dumps(payload)


def _create_upload(sdk, **settings):
    request = mux_python.CreateUploadRequest(
        timeout=3600,
        cors_origin="http://localhost:3000",
        new_asset_settings=mux_python.CreateAssetRequest(
            playback_policies=[mux_python.PlaybackPolicy.SIGNED], passthrough="lesson-42", **settings
        ),
    )
    return mux_python.DirectUploadsApi(sdk).create_direct_upload(request, _request_timeout=5)


def _raw(mux_emulator, method, path, *, body=None, auth=True):
    response = requests.request(
        method,
        f"{mux_emulator.url}{path}",
        data=body,
        auth=(mux_emulator.token_id, mux_emulator.token_secret) if auth else None,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    return response.status_code, response.headers, response.content


def test_direct_upload_lifecycle_parses_strictly(sdk, mux_emulator):
    uploads = mux_python.DirectUploadsApi(sdk)
    assets = mux_python.AssetsApi(sdk)

    created = _create_upload(sdk, meta=mux_python.AssetMetadata(title="Lesson 42"))
    assert created.data.status == "waiting"
    assert created.data.timeout == 3600
    assert created.data.cors_origin == "http://localhost:3000"
    assert created.data.new_asset_settings.playback_policies == ["signed"]
    assert created.data.new_asset_settings.passthrough == "lesson-42"
    assert created.data.url.startswith(f"{mux_emulator.url}/_upload/")

    assert mux_emulator.upload_bytes(created.data.url, MP4_BYTES) == 200
    fetched = uploads.get_direct_upload(created.data.id, _request_timeout=5).data
    assert fetched.status == "asset_created"
    assert fetched.url is None

    preparing = assets.get_asset(fetched.asset_id, _request_timeout=5).data
    assert preparing.status == "preparing"
    assert preparing.upload_id == created.data.id
    assert preparing.passthrough == "lesson-42"
    assert preparing.ingest_type == "on_demand_direct_upload"
    assert preparing.meta.title == "Lesson 42"
    assert preparing.progress.state == "ingesting"
    assert isinstance(preparing.created_at, str)
    assert preparing.created_at.isdigit()
    assert [p.policy for p in preparing.playback_ids] == ["signed"]

    mux_emulator.make_ready(fetched.asset_id)
    ready = assets.get_asset(fetched.asset_id, _request_timeout=5).data
    assert ready.status == "ready"
    assert ready.duration == 2.0
    assert ready.aspect_ratio == "16:9"
    assert ready.resolution_tier == "1080p"
    assert ready.max_stored_resolution == "FHD"
    assert ready.progress.state == "completed"
    assert ready.progress.progress == 100
    assert [t.type for t in ready.tracks] == ["video", "audio"]

    listed = assets.list_assets(upload_id=created.data.id, _request_timeout=5)
    assert [a.id for a in listed.data] == [fetched.asset_id]
    assert [u.id for u in uploads.list_direct_uploads(_request_timeout=5).data] == [created.data.id]


def test_errored_asset_parses_strictly(sdk, mux_emulator):
    created = _create_upload(sdk)
    mux_emulator.upload_bytes(created.data.url, MP4_BYTES)
    asset_id = mux_emulator.asset_for_upload(created.data.id)["id"]
    mux_emulator.make_errored(asset_id, messages=["The input file is corrupt."])

    asset = mux_python.AssetsApi(sdk).get_asset(asset_id, _request_timeout=5).data

    assert asset.status == "errored"
    assert asset.errors.type == "invalid_input"
    assert asset.errors.messages == ["The input file is corrupt."]
    assert asset.progress.state == "errored"


def test_empty_upload_errors_the_asset(sdk, mux_emulator):
    created = _create_upload(sdk)

    assert mux_emulator.upload_bytes(created.data.url, b"") == 200

    asset = mux_emulator.asset_for_upload(created.data.id)
    assert asset["status"] == "errored"
    assert asset["errors"]["type"] == "invalid_input"


def test_update_asset_and_playback_ids(sdk, mux_emulator):
    created = _create_upload(sdk)
    mux_emulator.upload_bytes(created.data.url, MP4_BYTES)
    asset_id = mux_emulator.asset_for_upload(created.data.id)["id"]
    assets = mux_python.AssetsApi(sdk)

    updated = assets.update_asset(
        asset_id, mux_python.UpdateAssetRequest(passthrough="lesson-43"), _request_timeout=5
    ).data
    public = assets.create_asset_playback_id(
        asset_id, mux_python.CreatePlaybackIDRequest(policy="public"), _request_timeout=5
    ).data
    got = assets.get_asset_playback_id(asset_id, public.id, _request_timeout=5).data
    lookup = mux_python.PlaybackIDApi(sdk).get_asset_or_livestream_id(public.id, _request_timeout=5).data
    assets.delete_asset_playback_id(asset_id, public.id, _request_timeout=5)

    assert updated.passthrough == "lesson-43"
    assert mux_emulator.events()[-1]["type"] == "video.asset.updated"
    assert public.policy == "public"
    assert got.id == public.id
    assert lookup.object.type == "asset"
    assert lookup.object.id == asset_id
    assert lookup.policy == "public"
    with pytest.raises(NotFoundException):
        assets.get_asset_playback_id(asset_id, public.id, _request_timeout=5)


def test_delete_asset_is_204_then_404_with_mux_envelope(sdk, mux_emulator):
    created = _create_upload(sdk)
    mux_emulator.upload_bytes(created.data.url, MP4_BYTES)
    asset_id = mux_emulator.asset_for_upload(created.data.id)["id"]

    status, _headers, body = _raw(mux_emulator, "DELETE", f"/video/v1/assets/{asset_id}")
    assert (status, body) == (204, b"")

    with pytest.raises(NotFoundException) as caught:
        mux_python.AssetsApi(sdk).get_asset(asset_id, _request_timeout=5)
    assert caught.value.status == 404
    assert json.loads(caught.value.body) == {
        "error": {
            "type": "not_found",
            "messages": ["The requested resource either doesn't exist or you don't have access to it."],
        }
    }


def test_cancel_of_non_waiting_upload_is_403(sdk, mux_emulator):
    created = _create_upload(sdk)
    uploads = mux_python.DirectUploadsApi(sdk)
    cancelled = uploads.cancel_direct_upload(created.data.id, _request_timeout=5).data

    with pytest.raises(ForbiddenException) as caught:
        uploads.cancel_direct_upload(created.data.id, _request_timeout=5)

    assert cancelled.status == "cancelled"
    assert caught.value.status == 403
    assert json.loads(caught.value.body)["error"]["type"] == "forbidden"


def test_wrong_or_missing_credentials_are_401(sdk, mux_emulator):
    config = mux_python.Configuration(host=mux_emulator.url, username=mux_emulator.token_id, password="nope")
    config.retries = 0

    with pytest.raises(UnauthorizedException) as caught:
        mux_python.AssetsApi(mux_python.ApiClient(config)).get_asset("x", _request_timeout=5)
    status, headers, body = _raw(mux_emulator, "GET", "/video/v1/assets/x", auth=False)

    assert json.loads(caught.value.body) == {
        "error": {"type": "unauthorized", "messages": ["Unauthorized request"]}
    }
    assert status == 401
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["type"] == "unauthorized"


def test_injected_429_is_a_plain_api_exception_with_retry_after(sdk, mux_emulator):
    mux_emulator.fail_next(429, retry_after=3)

    with pytest.raises(ApiException) as caught:
        mux_python.AssetsApi(sdk).get_asset("x", _request_timeout=5)

    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "3"
    assert json.loads(caught.value.body)["error"]["type"] == "too_many_requests"


@pytest.mark.parametrize("api_class", [mux_python.SigningKeysApi, mux_python.URLSigningKeysApi])
def test_signing_keys(sdk, mux_emulator, api_class):
    api = api_class(sdk)
    create = api.create_signing_key if api_class is mux_python.SigningKeysApi else api.create_url_signing_key
    get = api.get_signing_key if api_class is mux_python.SigningKeysApi else api.get_url_signing_key
    list_ = api.list_signing_keys if api_class is mux_python.SigningKeysApi else api.list_url_signing_keys
    delete = api.delete_signing_key if api_class is mux_python.SigningKeysApi else api.delete_url_signing_key

    created = create(_request_timeout=5).data
    fetched = get(created.id, _request_timeout=5).data
    listed = [k.id for k in list_(_request_timeout=5).data]
    delete(created.id, _request_timeout=5)

    pem = base64.b64decode(created.private_key)
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert created.created_at.isdigit()
    assert fetched.private_key is None
    assert listed == [created.id, mux_emulator.signing_key_id]
    with pytest.raises(NotFoundException):
        get(created.id, _request_timeout=5)


def test_webhook_payloads_parse_as_sdk_models(sdk, mux_emulator):
    created = _create_upload(sdk)
    mux_emulator.upload_bytes(created.data.url, MP4_BYTES)
    asset_id = mux_emulator.asset_for_upload(created.data.id)["id"]
    mux_emulator.make_ready(asset_id)

    events = mux_emulator.events()

    assert [e["type"] for e in events] == [
        "video.upload.created",
        "video.upload.asset_created",
        "video.asset.created",
        "video.asset.ready",
    ]
    for event in events:
        data = event["payload"]["data"]
        model = "Upload" if event["type"].startswith("video.upload.") else "Asset"
        parsed = sdk.deserialize(_Raw(data), model)
        assert parsed.id == data["id"]
        if model == "Asset":
            assert isinstance(data["created_at"], int)  # a number in webhooks, a string over REST


def test_invalid_create_requests_are_400(mux_emulator):
    cases = [
        {"timeout": 10},
        {"new_asset_settings": {"playback_policies": ["secret"]}},
        {"new_asset_settings": {"passthrough": "x" * 256}},
    ]
    for payload in cases:
        status, _headers, body = _raw(
            mux_emulator, "POST", "/video/v1/uploads", body=json.dumps(payload).encode()
        )
        assert status == 400, payload
        assert json.loads(body)["error"]["type"] == "invalid_parameters"
    status, _headers, body = _raw(mux_emulator, "POST", "/video/v1/uploads", body=b"{not json")
    assert status == 400
    assert mux_emulator.uploads() == []


def test_unknown_paths_and_methods(mux_emulator):
    assert _raw(mux_emulator, "GET", "/video/v1/live-streams")[0] == 404
    assert _raw(mux_emulator, "POST", "/video/v1/assets/abc")[0] == 405
    assert _raw(mux_emulator, "GET", "/nothing-here", auth=False)[0] == 404

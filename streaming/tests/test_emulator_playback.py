"""The emulator's signed-playback gate and its upload URL."""

import base64
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from streaming import mux

MP4_BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20


@pytest.fixture
def ready_playback_id(mux_emulator):
    upload = mux.create_direct_upload(lesson_id="lesson-1")
    assert mux_emulator.upload_bytes(upload.url, MP4_BYTES) == 200
    asset_id = mux.get_direct_upload(upload.id).asset_id
    mux_emulator.make_ready(asset_id, duration=42.0)
    return mux.get_asset(asset_id).signed_playback_id


def _token(mux_emulator, playback_id, aud, *, exp_in=600, kid_in="both", key_b64=None, kid=None, **extra):
    key = base64.b64decode(key_b64 or mux_emulator.signing_private_key)
    kid = kid or mux_emulator.signing_key_id
    claims = {"sub": playback_id, "aud": aud, "exp": int(time.time()) + exp_in, **extra}
    headers = {}
    if kid_in in ("both", "claims"):
        claims["kid"] = kid
    if kid_in in ("both", "header"):
        headers["kid"] = kid
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def _get(url, **params):
    return requests.get(url, params=params, timeout=5)


def test_stream_playlist_and_source_with_valid_token(mux_emulator, ready_playback_id, settings):
    token = _token(mux_emulator, ready_playback_id, "v")

    playlist = _get(f"{settings.MUX_STREAM_BASE_URL}/{ready_playback_id}.m3u8", token=token)

    assert playlist.status_code == 200
    assert playlist.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    lines = playlist.text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert "#EXTINF:42.000," in lines
    assert lines[-1] == "#EXT-X-ENDLIST"
    source_path = lines[-2]
    assert source_path.startswith(f"/stream/{ready_playback_id}/source?token=")
    source = requests.get(f"{mux_emulator.url}{source_path}", timeout=5)
    assert source.status_code == 200
    assert source.headers["Content-Type"] == "video/mp4"
    assert source.content == MP4_BYTES


@pytest.mark.parametrize("kid_in", ["header", "claims", "both"])
def test_kid_may_be_in_header_or_claims(mux_emulator, ready_playback_id, settings, kid_in):
    token = _token(mux_emulator, ready_playback_id, "v", kid_in=kid_in)

    assert _get(f"{settings.MUX_STREAM_BASE_URL}/{ready_playback_id}.m3u8", token=token).status_code == 200


@pytest.mark.parametrize(
    ("ext", "content_type"), [("jpg", "image/jpeg"), ("png", "image/png"), ("webp", "image/webp")]
)
def test_thumbnail_with_t_token(mux_emulator, ready_playback_id, settings, ext, content_type):
    token = _token(mux_emulator, ready_playback_id, "t", time=5, width=320)

    response = _get(f"{settings.MUX_IMAGE_BASE_URL}/{ready_playback_id}/thumbnail.{ext}", token=token)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert len(response.content) > 0


def test_storyboards_with_s_token(mux_emulator, ready_playback_id, settings):
    token = _token(mux_emulator, ready_playback_id, "s")
    base = f"{settings.MUX_IMAGE_BASE_URL}/{ready_playback_id}"

    vtt = _get(f"{base}/storyboard.vtt", token=token)
    as_json = _get(f"{base}/storyboard.json", token=token)
    image = _get(f"{base}/storyboard.jpg", token=token)

    assert vtt.status_code == 200
    assert vtt.text.startswith("WEBVTT")
    assert f"/image/{ready_playback_id}/storyboard.jpg?token=" in vtt.text
    assert as_json.status_code == 200
    assert as_json.json()["duration"] == 42.0
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"


def _foreign_key_b64():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return base64.b64encode(pem).decode()


@pytest.mark.parametrize(
    "case",
    [
        "wrong_aud_thumbnail_token",
        "wrong_aud_storyboard_token",
        "wrong_sub",
        "expired",
        "no_exp",
        "unknown_kid",
        "no_kid",
        "foreign_key_with_our_kid",
        "hs256",
        "garbage",
        "missing",
    ],
)
def test_stream_refuses_bad_tokens(mux_emulator, ready_playback_id, settings, case):
    pid = ready_playback_id
    tokens = {
        "wrong_aud_thumbnail_token": lambda: _token(mux_emulator, pid, "t"),
        "wrong_aud_storyboard_token": lambda: _token(mux_emulator, pid, "s"),
        "wrong_sub": lambda: _token(mux_emulator, "someOtherPlaybackId", "v"),
        "expired": lambda: _token(mux_emulator, pid, "v", exp_in=-5),
        "no_exp": lambda: jwt.encode(
            {"sub": pid, "aud": "v", "kid": mux_emulator.signing_key_id},
            base64.b64decode(mux_emulator.signing_private_key),
            algorithm="RS256",
        ),
        "unknown_kid": lambda: _token(mux_emulator, pid, "v", kid="notAKeyWeIssued"),
        "no_kid": lambda: _token(mux_emulator, pid, "v", kid_in="none"),
        "foreign_key_with_our_kid": lambda: _token(mux_emulator, pid, "v", key_b64=_foreign_key_b64()),
        "hs256": lambda: jwt.encode(
            {"sub": pid, "aud": "v", "exp": int(time.time()) + 60, "kid": mux_emulator.signing_key_id},
            "a-shared-secret-of-sufficient-length!!",
            algorithm="HS256",
            headers={"kid": mux_emulator.signing_key_id},
        ),
        "garbage": lambda: "not.a.jwt",
        "missing": lambda: None,
    }
    token = tokens[case]()

    response = _get(f"{settings.MUX_STREAM_BASE_URL}/{pid}.m3u8", **({"token": token} if token else {}))

    assert response.status_code == 403


def test_image_refuses_stream_token(mux_emulator, ready_playback_id, settings):
    token = _token(mux_emulator, ready_playback_id, "v")

    assert (
        _get(f"{settings.MUX_IMAGE_BASE_URL}/{ready_playback_id}/thumbnail.jpg", token=token).status_code
        == 403
    )
    assert (
        _get(f"{settings.MUX_IMAGE_BASE_URL}/{ready_playback_id}/storyboard.vtt", token=token).status_code
        == 403
    )


def test_source_requires_the_token_too(mux_emulator, ready_playback_id):
    assert _get(f"{mux_emulator.url}/stream/{ready_playback_id}/source").status_code == 403


def test_deleted_signing_key_stops_working(mux_emulator, ready_playback_id, settings):
    token = _token(mux_emulator, ready_playback_id, "v")
    mux.delete_signing_key(mux_emulator.signing_key_id)

    assert _get(f"{settings.MUX_STREAM_BASE_URL}/{ready_playback_id}.m3u8", token=token).status_code == 403


def test_not_ready_is_412_and_unknown_or_deleted_is_404(mux_emulator, settings):
    upload = mux.create_direct_upload(lesson_id="lesson-1")
    mux_emulator.upload_bytes(upload.url, MP4_BYTES)
    asset = mux.get_asset(mux.get_direct_upload(upload.id).asset_id)
    pid = asset.signed_playback_id
    url = f"{settings.MUX_STREAM_BASE_URL}/{pid}.m3u8"

    assert _get(url, token=_token(mux_emulator, pid, "v")).status_code == 412
    mux.delete_asset(asset.id)
    assert _get(url, token=_token(mux_emulator, pid, "v")).status_code == 404
    assert _get(f"{settings.MUX_STREAM_BASE_URL}/unknownPid.m3u8", token="x").status_code == 404


# --- the upload URL -----------------------------------------------------------------------------------


def test_upload_url_answers_cors_preflight(mux_emulator, settings):
    settings.MUX_CORS_ORIGIN = "https://app.example.com"
    upload = mux.create_direct_upload(lesson_id="lesson-1")

    response = requests.options(
        upload.url,
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"},
        timeout=5,
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]


def test_upload_url_needs_its_token_and_a_waiting_upload(mux_emulator):
    upload = mux.create_direct_upload(lesson_id="lesson-1")
    base = upload.url.split("?")[0]

    assert requests.put(base, data=b"x", timeout=5).status_code == 403
    assert requests.put(f"{base}?token=wrong", data=b"x", timeout=5).status_code == 403
    assert (
        requests.put(f"{mux_emulator.url}/_upload/unknown?token=x", data=b"x", timeout=5).status_code == 404
    )
    mux.cancel_direct_upload(upload.id)
    assert requests.put(upload.url, data=b"x", timeout=5).status_code == 403
    assert mux_emulator.assets() == []


def test_second_put_after_completion_is_refused(mux_emulator):
    upload = mux.create_direct_upload(lesson_id="lesson-1")

    assert mux_emulator.upload_bytes(upload.url, MP4_BYTES) == 200
    assert mux_emulator.upload_bytes(upload.url, MP4_BYTES) == 403
    assert len(mux_emulator.assets()) == 1


def test_resumable_chunks_with_content_range(mux_emulator, settings):
    upload = mux.create_direct_upload(lesson_id="lesson-1")
    half = len(MP4_BYTES) // 2
    first = requests.put(
        upload.url,
        data=MP4_BYTES[:half],
        headers={"Content-Range": f"bytes 0-{half - 1}/{len(MP4_BYTES)}"},
        timeout=5,
    )
    second = requests.put(
        upload.url,
        data=MP4_BYTES[half:],
        headers={"Content-Range": f"bytes {half}-{len(MP4_BYTES) - 1}/{len(MP4_BYTES)}"},
        timeout=5,
    )

    assert first.status_code == 308
    assert first.headers["Range"] == f"bytes=0-{half - 1}"
    assert second.status_code == 200
    asset = mux.get_asset(mux.get_direct_upload(upload.id).asset_id)
    mux_emulator.make_ready(asset.id)
    token = _token(mux_emulator, asset.signed_playback_id, "v")
    assert (
        _get(f"{mux_emulator.url}/stream/{asset.signed_playback_id}/source", token=token).content == MP4_BYTES
    )

"""Operator tooling: `seed_demo_video` (demo data) and `manage.py mux_create_signing_key`."""

import base64
import io

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command

from catalog.tests.video.video_helpers import (
    Deliverer,
    course_with_lesson,
    run_on_commit,  # noqa: F401
    video_of,
)
from catalog.video.demo import seed_demo_video

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


def test_seed_demo_video_uploads_once(api_client, mux_emulator, mongo_db, instructor):
    _course, lesson = course_with_lesson(instructor)
    ticket = seed_demo_video(lesson_id=lesson["id"])
    assert ticket is not None
    asset = mux_emulator.asset_for_upload(ticket.upload_id)  # the bytes reached the upload URL
    assert seed_demo_video(lesson_id=lesson["id"]) is None  # idempotent
    assert len(mux_emulator.uploads()) == 1
    mux_emulator.make_ready(asset["id"], duration=3.0)
    Deliverer(mux_emulator, api_client).deliver_new()
    assert video_of(mongo_db, lesson["id"])["status"] == "ready"


def test_seed_demo_video_has_english_captions(api_client, client_for, mux_emulator, mongo_db, instructor):
    _course, lesson = course_with_lesson(instructor)
    ticket = seed_demo_video(lesson_id=lesson["id"])
    [upload] = mux_emulator.uploads()
    assert upload["new_asset_settings"]["inputs"] == [
        {
            "generated_subtitles": [
                {"language_code": "en", "name": "English (auto)", "passthrough": lesson["id"]}
            ]
        }
    ]
    mux_emulator.make_ready(mux_emulator.asset_for_upload(ticket.upload_id)["id"], duration=3.0)
    Deliverer(mux_emulator, api_client).deliver_new()
    body = client_for(instructor).get(f"/api/v1/lessons/{lesson['id']}/playback").json()
    assert [(t["language_code"], t["name"]) for t in body["tracks"]] == [("en", "English (auto)")]


def test_mux_create_signing_key_prints_usable_settings(mux_emulator):
    out, err = io.StringIO(), io.StringIO()
    call_command("mux_create_signing_key", stdout=out, stderr=err)
    lines = dict(line.split("=", 1) for line in out.getvalue().splitlines())
    assert set(lines) == {"MUX_SIGNING_KEY_ID", "MUX_SIGNING_PRIVATE_KEY"}
    serialization.load_pem_private_key(base64.b64decode(lines["MUX_SIGNING_PRIVATE_KEY"]), password=None)
    assert "shown once" in err.getvalue()

    listing = io.StringIO()
    call_command("mux_create_signing_key", "--list", stdout=listing)
    assert lines["MUX_SIGNING_KEY_ID"] in listing.getvalue()
    assert lines["MUX_SIGNING_PRIVATE_KEY"] not in listing.getvalue()
    call_command("mux_create_signing_key", "--delete", lines["MUX_SIGNING_KEY_ID"], stdout=io.StringIO())
    listing = io.StringIO()
    call_command("mux_create_signing_key", "--list", stdout=listing)
    assert lines["MUX_SIGNING_KEY_ID"] not in listing.getvalue()


def test_mux_create_signing_key_reports_mux_failures(mux_emulator, settings):
    settings.MUX_TOKEN_SECRET = "wrong"
    with pytest.raises(CommandError, match="MUX_TOKEN_ID"):
        call_command("mux_create_signing_key", stdout=io.StringIO(), stderr=io.StringIO())

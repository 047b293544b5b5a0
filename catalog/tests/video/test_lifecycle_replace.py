"""Replacing a lesson's video: the old one stays playable until the new one is ready, then its asset is
deleted at Mux. Abandoned uploads and their assets are cleaned up."""

import pytest

from catalog.tests.video.video_helpers import (
    VIDEO_BYTES,
    Deliverer,
    course_with_lesson,
    enroll,
    run_on_commit,  # noqa: F401
    upload_to_ready,
    video_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


def playback_id_for(client, lesson_id):
    response = client.get(f"/api/v1/lessons/{lesson_id}/playback")
    assert response.status_code == 200, response.content
    return response.json()["playback_id"]


def test_old_video_plays_until_the_new_one_is_ready(
    api_client, client_for, mux_emulator, mongo_db, instructor, student
):
    course, lesson = course_with_lesson(instructor)
    enroll(student, course["id"])
    owner = client_for(instructor)
    deliverer = Deliverer(mux_emulator, api_client)
    first = upload_to_ready(owner, deliverer, lesson["id"], duration=10.0)
    old_playback = first["asset"]["playback_ids"][0]["id"]
    viewer = client_for(student)
    assert playback_id_for(viewer, lesson["id"]) == old_playback

    # A new upload is requested and sent; Mux is still preparing it.
    ticket = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
    deliverer.deliver_new()
    video = video_of(mongo_db, lesson["id"])
    assert video["status"] == "processing"
    assert video["playback_asset_id"] == first["asset"]["id"]
    assert playback_id_for(viewer, lesson["id"]) == old_playback  # still the old video
    assert mongo_db.lessons.find_one({"title": lesson["title"]})["duration"] == 10.0

    # The new one becomes ready: it replaces the old one, whose asset is deleted at Mux.
    new_asset = mux_emulator.asset_for_upload(ticket["upload_id"])
    ready = mux_emulator.make_ready(new_asset["id"], duration=20.0)
    deliverer.deliver_new()
    video = video_of(mongo_db, lesson["id"])
    assert video["status"] == "ready"
    assert video["playback_asset_id"] == new_asset["id"]
    assert video["retired_asset_ids"] == []
    assert playback_id_for(viewer, lesson["id"]) == ready["playback_ids"][0]["id"]
    assert {a["id"] for a in mux_emulator.assets()} == {new_asset["id"]}
    assert mongo_db.lessons.find_one({"title": lesson["title"]})["duration"] == 20.0
    # The old asset's deletion webhook is acknowledged and changes nothing.
    deliverer.deliver_new()
    assert video_of(mongo_db, lesson["id"]) == video


def test_failed_replacement_keeps_the_old_video(
    api_client, client_for, mux_emulator, mongo_db, instructor, student
):
    course, lesson = course_with_lesson(instructor)
    enroll(student, course["id"])
    owner = client_for(instructor)
    deliverer = Deliverer(mux_emulator, api_client)
    first = upload_to_ready(owner, deliverer, lesson["id"])
    ticket = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    mux_emulator.upload_bytes(ticket["upload_url"], b"garbage")
    mux_emulator.make_errored(
        mux_emulator.asset_for_upload(ticket["upload_id"])["id"], messages=["Unsupported."]
    )
    deliverer.deliver_new()
    video = video_of(mongo_db, lesson["id"])
    assert video["status"] == "errored"
    assert video["errors"]["messages"] == ["Unsupported."]
    assert playback_id_for(client_for(student), lesson["id"]) == first["asset"]["playback_ids"][0]["id"]


def test_asset_of_an_abandoned_upload_is_deleted_when_ready(
    api_client, client_for, mux_emulator, mongo_db, instructor
):
    """Bytes sent to an old upload URL after a newer upload was requested: nobody can play that asset,
    but it would cost money, so it is deleted once Mux reports it ready."""
    _course, lesson = course_with_lesson(instructor)
    owner = client_for(instructor)
    deliverer = Deliverer(mux_emulator, api_client)
    first = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    assert mux_emulator.upload_bytes(first["upload_url"], VIDEO_BYTES) == 200
    abandoned = mux_emulator.asset_for_upload(first["upload_id"])
    second = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()  # before any webhook arrived
    # Asking again found the first upload already used (cancel → 403 → current state): its asset is retired.
    assert abandoned["id"] not in {a["id"] for a in mux_emulator.assets()}
    deliverer.deliver_new()
    video = video_of(mongo_db, lesson["id"])
    assert (video["status"], video["upload_id"]) == ("waiting_upload", second["upload_id"])


def test_ready_asset_from_a_stale_upload_is_deleted(
    api_client, client_for, mux_emulator, mongo_db, instructor
):
    """The same when Mux could not be reached to clean up at request time: the old upload's `ready`
    webhook, arriving after the lesson moved on, finds an asset nobody can play and deletes it."""
    _course, lesson = course_with_lesson(instructor)
    owner = client_for(instructor)
    deliverer = Deliverer(mux_emulator, api_client)
    first = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    assert mux_emulator.upload_bytes(first["upload_url"], VIDEO_BYTES) == 200
    stale_asset = mux_emulator.asset_for_upload(first["upload_id"])
    mux_emulator.make_ready(stale_asset["id"])
    mux_emulator.fail_next(500, count=3, method="PUT", path_prefix="/video/v1/uploads")  # cancel fails
    mux_emulator.fail_next(500, count=3, method="GET", path_prefix="/video/v1/uploads")
    second = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    assert stale_asset["id"] in {a["id"] for a in mux_emulator.assets()}  # could not be cleaned up yet
    deliverer.deliver_new()
    assert stale_asset["id"] not in {a["id"] for a in mux_emulator.assets()}
    video = video_of(mongo_db, lesson["id"])
    assert (video["status"], video["upload_id"]) == ("waiting_upload", second["upload_id"])

"""`POST lessons/{id}/upload` and `POST /admin/uploads`: permissions, quota,
Mux failures (502, quickly), and the upload → waiting_upload state."""

import time

import pytest
from bson import ObjectId

from catalog import services as catalog_services
from catalog.selectors import course_get
from catalog.tests.video.video_helpers import course_with_lesson, lesson_doc, video_of

pytestmark = pytest.mark.django_db


def mux_calls(mux_emulator, method=None, prefix="/video/v1/uploads"):
    return [
        r
        for r in mux_emulator.requests()
        if r["path"].startswith(prefix) and (method is None or r["method"] == method)
    ]


def test_owner_gets_an_upload_url_and_the_lesson_waits_for_it(
    client_for, mux_emulator, mongo_db, instructor, settings
):
    _course, lesson = course_with_lesson(instructor)
    before = time.time()
    response = client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"upload_id", "upload_url", "expires_at"}
    [upload] = mux_emulator.uploads()
    assert upload["id"] == body["upload_id"]
    assert upload["url"] == body["upload_url"]
    assert upload["status"] == "waiting"
    assert upload["cors_origin"] == settings.MUX_CORS_ORIGIN
    assert upload["new_asset_settings"]["passthrough"] == lesson["id"]
    assert upload["new_asset_settings"]["playback_policies"] == ["signed"]
    from datetime import datetime

    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp()
    assert before + 3600 - 5 <= expires <= time.time() + 3600 + 5
    video = video_of(mongo_db, lesson["id"])
    assert video == {
        "status": "waiting_upload",
        "upload_id": body["upload_id"],
        "asset_id": None,
        "event_at": None,
        "errors": None,
        "retired_asset_ids": [],
        "rev": 1,
    }
    assert len(mux_calls(mux_emulator, "POST")) == 1


def test_admin_may_upload_for_any_course(client_for, mux_emulator, mongo_db, instructor, admin_user):
    _course, lesson = course_with_lesson(instructor, publish=False)
    response = client_for(admin_user).post(f"/api/v1/lessons/{lesson['id']}/upload")
    assert response.status_code == 201
    assert video_of(mongo_db, lesson["id"])["status"] == "waiting_upload"


@pytest.mark.parametrize(
    ("who", "publish", "status"),
    [
        ("other_instructor", True, 403),
        ("other_instructor", False, 404),  # someone else's draft: its existence does not leak
        ("student", True, 403),
        ("anonymous", True, 401),
    ],
)
def test_bola_nobody_else_can_upload_and_mux_is_not_called(
    request, api_client, client_for, mux_emulator, mongo_db, instructor, who, publish, status
):
    _course, lesson = course_with_lesson(instructor, publish=publish)
    client = api_client if who == "anonymous" else client_for(request.getfixturevalue(who))
    response = client.post(f"/api/v1/lessons/{lesson['id']}/upload")
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert mux_emulator.requests() == []
    assert video_of(mongo_db, lesson["id"]) == {"status": "none"}


@pytest.mark.parametrize("lesson_id", [str(ObjectId()), "not-an-id", "0" * 24])
def test_unknown_or_malformed_lesson_is_404(client_for, mux_emulator, instructor, lesson_id):
    response = client_for(instructor).post(f"/api/v1/lessons/{lesson_id}/upload")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert mux_emulator.requests() == []


def test_archived_course_refuses_uploads(client_for, mux_emulator, instructor):
    course, lesson = course_with_lesson(instructor)
    catalog_services.course_archive(course=course)
    response = client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload")
    assert response.status_code == 409
    assert mux_emulator.requests() == []


def test_upload_quota_per_user_per_hour(
    client_for, mux_emulator, mongo_db, instructor, other_instructor, settings
):
    """beyond the quota → 429 with Retry-After, and Mux is called exactly quota times."""
    settings.MUX_UPLOADS_PER_HOUR = 3
    _course, lesson = course_with_lesson(instructor)
    client = client_for(instructor)
    answers = [client.post(f"/api/v1/lessons/{lesson['id']}/upload") for _ in range(6)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429, 429]
    refused = answers[3]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["details"] == {"limit": 3}
    assert 0 < int(refused["Retry-After"]) <= 3601
    assert len(mux_calls(mux_emulator, "POST")) == 3
    # The last accepted upload is the lesson's pipeline; refused requests changed nothing.
    assert video_of(mongo_db, lesson["id"])["upload_id"] == answers[2].json()["upload_id"]
    # The quota is per user.
    _other_course, other_lesson = course_with_lesson(other_instructor)
    assert (
        client_for(other_instructor).post(f"/api/v1/lessons/{other_lesson['id']}/upload").status_code == 201
    )


def test_asking_again_before_uploading_cancels_the_previous_url(
    client_for, mux_emulator, mongo_db, instructor
):
    _course, lesson = course_with_lesson(instructor)
    client = client_for(instructor)
    first = client.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    second = client.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    statuses = {u["id"]: u["status"] for u in mux_emulator.uploads()}
    assert statuses == {first["upload_id"]: "cancelled", second["upload_id"]: "waiting"}
    assert video_of(mongo_db, lesson["id"])["upload_id"] == second["upload_id"]
    # The cancelled URL no longer accepts bytes.
    assert mux_emulator.upload_bytes(first["upload_url"], b"late bytes") >= 400


# --- Mux failures: a quick 502 envelope, no hang, nothing written --------------------------------------


def test_mux_unreachable_is_a_quick_502(client_for, mux_emulator, mongo_db, instructor, settings):
    _course, lesson = course_with_lesson(instructor)
    settings.MUX_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    started = time.monotonic()
    response = client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload")
    assert time.monotonic() - started < 2
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "integration_error"
    assert video_of(mongo_db, lesson["id"]) == {"status": "none"}


@pytest.mark.parametrize("status", [500, 503, 429])
def test_mux_error_answers_are_502_and_not_retried_for_creates(
    client_for, mux_emulator, mongo_db, instructor, status
):
    _course, lesson = course_with_lesson(instructor)
    mux_emulator.fail_next(status, count=1, method="POST", path_prefix="/video/v1/uploads")
    response = client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "integration_error"
    assert len(mux_calls(mux_emulator, "POST")) == 1  # a create whose answer was lost may have happened
    assert mux_emulator.uploads() == []
    assert video_of(mongo_db, lesson["id"]) == {"status": "none"}


def test_slow_mux_times_out_into_a_502(client_for, mux_emulator, mongo_db, instructor, settings):
    settings.MUX_REQUEST_TIMEOUT_SECONDS = 0.5
    _course, lesson = course_with_lesson(instructor)
    mux_emulator.slow_next(3.0, method="POST", path_prefix="/video/v1/uploads")
    started = time.monotonic()
    response = client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload")
    elapsed = time.monotonic() - started
    assert response.status_code == 502
    assert elapsed < 2.0
    assert video_of(mongo_db, lesson["id"]) == {"status": "none"}


def test_lesson_deleted_while_mux_creates_the_upload_cancels_it(
    client_for, mux_emulator, mongo_db, instructor
):
    """Nobody will ever receive the URL of an upload whose lesson vanished meanwhile: it is cancelled.
    The lesson is deleted once Mux holds the upload request (its delay rule consumed), not after a
    fixed time, so a slow machine cannot delete it before the API has read it."""
    import threading

    _course, lesson = course_with_lesson(instructor)
    mux_emulator.slow_next(2.0, method="POST", path_prefix="/video/v1/uploads")

    def delete_while_mux_works() -> None:
        deadline = time.monotonic() + 10
        while mux_emulator.pending_faults() and time.monotonic() < deadline:
            time.sleep(0.02)
        mongo_db.lessons.delete_one({"_id": ObjectId(lesson["id"])})

    remover = threading.Thread(target=delete_while_mux_works)
    remover.start()
    response = client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload")
    remover.join()
    assert response.status_code == 404
    [upload] = mux_emulator.uploads()
    assert upload["status"] == "cancelled"


# --- POST /admin/uploads -------------------------------------------------------------------------------


def test_admin_uploads_for_an_existing_lesson(client_for, mux_emulator, mongo_db, instructor, admin_user):
    _course, lesson = course_with_lesson(instructor)
    response = client_for(admin_user).post("/admin/uploads", {"lesson_id": lesson["id"]}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"upload_id", "upload_url", "expires_at", "lesson"}
    assert body["lesson"]["id"] == lesson["id"]
    assert body["lesson"]["video_status"] == "waiting_upload"
    assert "playback_id" not in str(body["lesson"])
    assert video_of(mongo_db, lesson["id"])["upload_id"] == body["upload_id"]


def test_admin_uploads_creates_the_lesson(client_for, mux_emulator, mongo_db, instructor, admin_user):
    course, _lesson = course_with_lesson(instructor)
    response = client_for(admin_user).post(
        "/admin/uploads/",
        {"course_id": course["id"], "title": "Intro", "description": "Welcome"},
        format="json",
    )
    assert response.status_code == 201
    created = response.json()["lesson"]
    assert (created["title"], created["description"], created["course_id"]) == (
        "Intro",
        "Welcome",
        course["id"],
    )
    assert created["id"] in course_get(course_id=course["id"])["lesson_ids"]
    assert lesson_doc(mongo_db, created["id"])["video"]["upload_id"] == response.json()["upload_id"]


@pytest.mark.parametrize(
    "payload",
    [{}, {"title": "x"}, {"course_id": "abc", "title": "x"}, {"lesson_id": "nope"}, {"course_id": "0" * 24}],
)
def test_admin_uploads_validates_input(client_for, mux_emulator, admin_user, payload):
    response = client_for(admin_user).post("/admin/uploads", payload, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert mux_emulator.requests() == []


def test_admin_uploads_unknown_course_or_lesson_is_404(client_for, mux_emulator, mongo_db, admin_user):
    client = client_for(admin_user)
    assert client.post("/admin/uploads", {"lesson_id": str(ObjectId())}, format="json").status_code == 404
    response = client.post("/admin/uploads", {"course_id": str(ObjectId()), "title": "x"}, format="json")
    assert response.status_code == 404
    assert mongo_db.lessons.count_documents({}) == 0
    assert mux_emulator.requests() == []


@pytest.mark.parametrize(("who", "status"), [("instructor", 403), ("student", 403), ("anonymous", 401)])
def test_admin_uploads_is_admin_only(
    request, api_client, client_for, mux_emulator, mongo_db, instructor, who, status
):
    course, lesson = course_with_lesson(instructor)
    client = api_client if who == "anonymous" else client_for(request.getfixturevalue(who))
    for payload in ({"lesson_id": lesson["id"]}, {"course_id": course["id"], "title": "sneaky"}):
        assert client.post("/admin/uploads", payload, format="json").status_code == status
    assert mux_emulator.requests() == []
    assert mongo_db.lessons.count_documents({}) == 1


def test_admin_uploads_wins_over_the_django_admin(client_for, admin_user):
    """The Django admin keeps its own URL space around endpoint."""
    client = client_for(admin_user)
    assert client.get("/admin/uploads").status_code == 405  # ours: POST only
    from django.test import Client

    browser = Client()
    assert browser.get("/admin/").status_code == 302  # the admin site, asking to log in


def test_browsable_api_renders_the_video_endpoints(
    client_for, mux_emulator, mongo_db, instructor, admin_user
):
    """Instructors use the browsable API: every video endpoint renders as HTML, never a 500."""
    _course, lesson = course_with_lesson(instructor)
    client = client_for(instructor)
    response = client.post(f"/api/v1/lessons/{lesson['id']}/upload", HTTP_ACCEPT="text/html")
    assert response.status_code == 201
    assert "upload_url" in response.content.decode()
    assert client.get(f"/api/v1/lessons/{lesson['id']}/playback", HTTP_ACCEPT="text/html").status_code == 409
    # DRF's browsable renderer shows a 204 as a 200 page (it has content to render).
    assert client.delete(f"/api/v1/lessons/{lesson['id']}/video", HTTP_ACCEPT="text/html").status_code == 200
    assert video_of(mongo_db, lesson["id"]) == {"status": "none", "retired_asset_ids": [], "rev": 2}
    admin = client_for(admin_user)
    assert admin.get("/admin/uploads", HTTP_ACCEPT="text/html").status_code == 405

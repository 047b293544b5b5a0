"""`GET lessons/{id}/playback`: who may watch, 409 before ready, the token claims, and the hot
path's cost (no PostgreSQL query, one MongoDB command). Also `DELETE lessons/{id}/video`."""

import base64
import time
from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from pymongo import monitoring

from catalog import cache as catalog_cache
from catalog import services as catalog_services
from catalog.selectors.courses import course_get
from catalog.selectors.lessons import lesson_get
from catalog.tests.video.video_helpers import (
    Deliverer,
    course_with_lesson,
    enroll,
    lesson_doc,
    run_on_commit,  # noqa: F401
    upload_to_ready,
    video_of,
)
from catalog.video.playback import LessonPlayback, PlaybackTrack
from catalog.video.serializers import PlaybackSerializer
from catalog.video.views import playback_body
from learnstream import mongo
from learnstream.permissions import Actor
from streaming.signing import PlaybackGrant
from tests.support.roundtrips import count_round_trips

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("run_on_commit")]


@pytest.fixture
def ready_lesson(mux_emulator, client_for, api_client, instructor):
    """A published course whose first lesson's video is ready (through the real upload + webhooks)."""
    course, lesson = course_with_lesson(instructor)
    deliverer = Deliverer(mux_emulator, api_client)
    result = upload_to_ready(client_for(instructor), deliverer, lesson["id"], duration=30.0)
    return {"course": course, "lesson": lesson, "asset": result["asset"], "deliverer": deliverer}


def playback(client, lesson_id):
    return client.get(f"/api/v1/lessons/{lesson_id}/playback")


def public_key(mux_emulator):
    private = serialization.load_pem_private_key(
        base64.b64decode(mux_emulator.signing_private_key), password=None
    )
    return private.public_key()


def test_enrolled_student_gets_signed_urls_with_the_right_claims(
    client_for, mux_emulator, ready_lesson, student, settings
):
    settings.MUX_PLAYBACK_TOKEN_TTL_SECONDS = 120
    enroll(student, ready_lesson["course"]["id"])
    response = playback(client_for(student), ready_lesson["lesson"]["id"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "playback_id", "stream_url", "thumbnail_url", "storyboard_url", "expires_at",
        "tracks", "download_url",
    }  # fmt: skip
    assert (body["tracks"], body["download_url"]) == ([], None)  # no captions, not a downloadable course
    playback_id = ready_lesson["asset"]["playback_ids"][0]["id"]
    assert body["playback_id"] == playback_id
    key = public_key(mux_emulator)
    expected_exp = None
    for field, audience, prefix in (
        ("stream_url", "v", f"{settings.MUX_STREAM_BASE_URL}/{playback_id}.m3u8?token="),
        ("thumbnail_url", "t", f"{settings.MUX_IMAGE_BASE_URL}/{playback_id}/thumbnail.jpg?token="),
        ("storyboard_url", "s", f"{settings.MUX_IMAGE_BASE_URL}/{playback_id}/storyboard.vtt?token="),
    ):
        assert body[field].startswith(prefix)
        token = body[field][len(prefix) :]
        assert jwt.get_unverified_header(token)["kid"] == mux_emulator.signing_key_id
        claims = jwt.decode(token, key, algorithms=["RS256"], audience=audience)
        assert set(claims) == {"sub", "aud", "exp", "kid"}
        assert (claims["sub"], claims["aud"], claims["kid"]) == (
            playback_id,
            audience,
            mux_emulator.signing_key_id,
        )
        assert 0 < claims["exp"] - time.time() <= 120
        expected_exp = claims["exp"]
    from datetime import datetime

    assert datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp() == expected_exp


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("instructor", 200),
        ("admin_user", 200),
        ("student", 403),
        ("other_instructor", 403),
        ("anonymous", 401),
    ],
)
def test_who_may_watch_a_published_lesson(request, api_client, client_for, ready_lesson, who, status):
    client = api_client if who == "anonymous" else client_for(request.getfixturevalue(who))
    response = playback(client, ready_lesson["lesson"]["id"])
    assert response.status_code == status
    if status != 200:
        assert set(response.json()) == {"error"}
        assert ready_lesson["asset"]["playback_ids"][0]["id"] not in response.content.decode()


def test_cancelled_enrollment_loses_access(client_for, ready_lesson, student):
    enroll(student, ready_lesson["course"]["id"])
    assert playback(client_for(student), ready_lesson["lesson"]["id"]).status_code == 200
    catalog_services.enrollment_cancel(actor=Actor.of(student), course_id=ready_lesson["course"]["id"])
    assert playback(client_for(student), ready_lesson["lesson"]["id"]).status_code == 403


def test_draft_course_is_invisible_to_students(client_for, ready_lesson, student, instructor):
    enroll(student, ready_lesson["course"]["id"])
    catalog_services.course_unpublish(course=ready_lesson["course"])
    assert playback(client_for(student), ready_lesson["lesson"]["id"]).status_code == 404
    assert playback(client_for(instructor), ready_lesson["lesson"]["id"]).status_code == 200


def test_preview_lessons_of_published_courses_are_open_to_anyone(
    api_client, client_for, mux_emulator, instructor, student
):
    course, lesson = course_with_lesson(instructor, is_preview=True)
    upload_to_ready(client_for(instructor), Deliverer(mux_emulator, api_client), lesson["id"])
    assert playback(api_client, lesson["id"]).status_code == 200
    assert playback(client_for(student), lesson["id"]).status_code == 200
    catalog_services.course_unpublish(course=course)
    assert playback(api_client, lesson["id"]).status_code == 404


def test_not_ready_is_409_with_the_status(client_for, mux_emulator, instructor, student):
    course, lesson = course_with_lesson(instructor)
    enroll(student, course["id"])
    response = playback(client_for(student), lesson["id"])
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"video_status": "none"}
    client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload")
    assert playback(client_for(student), lesson["id"]).json()["error"]["details"] == {
        "video_status": "waiting_upload"
    }


def test_unknown_lesson_is_404(client_for, student):
    assert playback(client_for(student), "0" * 24).status_code == 404
    assert playback(client_for(student), "nope").status_code == 404


def test_missing_signing_key_is_503_not_500(client_for, ready_lesson, instructor, settings, tmp_path):
    settings.MUX_SIGNING_KEY_ID = ""
    settings.MUX_SIGNING_PRIVATE_KEY = ""
    settings.VAR_DIR = tmp_path  # no dev emulator state to fall back to
    response = playback(client_for(instructor), ready_lesson["lesson"]["id"])
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


class CommandCounter(monitoring.CommandListener):
    def __init__(self):
        self.commands = []

    def started(self, event):
        self.commands.append(event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_hot_path_no_postgres_query_and_one_mongo_command(
    client_for, ready_lesson, student, django_assert_num_queries, settings
):
    """Enrollment from the Redis cache, the token user without a DB row, lesson + course in one command."""
    client = client_for(student)
    # Enrolling through the API writes the enrollment cache when the transaction commits.
    assert client.post(f"/api/v1/courses/{ready_lesson['course']['id']}/enroll").status_code == 201
    counter = CommandCounter()
    # A client of our own with the listener, used by the app through learnstream.mongo.
    from pymongo import MongoClient

    listened = MongoClient(settings.MONGO_URI, event_listeners=[counter], **mongo.client_options())
    original = mongo._client
    mongo._client = listened
    try:
        with django_assert_num_queries(0):
            response = playback(client, ready_lesson["lesson"]["id"])
    finally:
        mongo._client = original
        listened.close()
    assert response.status_code == 200
    assert [c for c in counter.commands if c not in {"hello", "isMaster", "ismaster", "endSessions"}] == [
        "aggregate"
    ]


def test_warm_playback_reads_no_store_but_redis_and_follows_every_catalog_write(
    api_client, client_for, ready_lesson, student, django_assert_num_queries, mongo_commands
):
    """Warm, the lesson's context and the enrollment come from Redis: no MongoDB command, no SQL. A
    catalog write (here the lesson becoming a preview, then the course unpublished) is seen at once."""
    client, lesson_id = client_for(student), ready_lesson["lesson"]["id"]
    assert client.post(f"/api/v1/courses/{ready_lesson['course']['id']}/enroll").status_code == 201
    first = playback(client, lesson_id)
    assert first.status_code == 200

    with django_assert_num_queries(0), mongo_commands.recording() as commands:
        again = playback(client, lesson_id)
    assert again.status_code == 200
    assert again.json()["stream_url"] == first.json()["stream_url"]
    assert commands == []
    assert playback(api_client, lesson_id).status_code == 401  # not a preview: sign in and enroll

    course_id = ready_lesson["course"]["id"]
    catalog_services.lesson_update(
        lesson=lesson_get(lesson_id=lesson_id),
        course=course_get(course_id=course_id),
        fields={"is_preview": True},
    )
    assert playback(api_client, lesson_id).status_code == 200
    catalog_services.course_unpublish(course=course_get(course_id=course_id))
    assert playback(api_client, lesson_id).status_code == 404
    assert playback(client, lesson_id).status_code == 404


def test_a_process_that_finds_the_context_cached_elsewhere_still_reads_it_in_one_round_trip(
    client_for, ready_lesson, student
):
    """Under gunicorn the context is cached by whichever worker read MongoDB first; the others learn the
    lesson's course from that cached context, so their warm playback is one MGET too."""
    client, lesson_id = client_for(student), ready_lesson["lesson"]["id"]
    assert client.post(f"/api/v1/courses/{ready_lesson['course']['id']}/enroll").status_code == 201
    assert playback(client, lesson_id).status_code == 200  # this process reads MongoDB and caches it
    catalog_cache._lesson_course.clear()  # as in another worker: the context is in Redis, its course unknown
    assert playback(client, lesson_id).status_code == 200

    with count_round_trips() as warm:
        again = playback(client, lesson_id)

    assert again.status_code == 200
    assert (warm.pg, warm.mongo, warm.redis) == (0, 0, 2), warm.describe()  # revocation + one MGET


def test_the_playback_body_is_what_its_serializer_documents():
    grant = PlaybackGrant(
        playback_id="pb1",
        stream_url="https://stream.example/pb1.m3u8?token=v",
        thumbnail_url="https://image.example/pb1/thumbnail.jpg?token=t",
        storyboard_url="https://image.example/pb1/storyboard.vtt?token=s",
        expires_at=datetime(2026, 12, 3, 22, 0, 0, tzinfo=UTC),
        video_token="v",
    )
    track = PlaybackTrack(id="t" * 24, language_code="en", name="English", url=grant.text_track_url("mt1"))
    download = grant.static_rendition_url("highest.mp4")
    playback_ = LessonPlayback(grant=grant, tracks=[track], download_url=download)

    documented = PlaybackSerializer(
        {
            "playback_id": grant.playback_id,
            "stream_url": grant.stream_url,
            "thumbnail_url": grant.thumbnail_url,
            "storyboard_url": grant.storyboard_url,
            "expires_at": grant.expires_at,
            "tracks": [vars(track)],
            "download_url": playback_.download_url,
        }
    ).data

    assert playback_body(playback_) == documented
    assert documented["expires_at"] == "2026-12-03T22:00:00Z"


def test_catalog_payloads_never_contain_playback_or_asset_ids(
    api_client, client_for, ready_lesson, instructor, student
):
    enroll(student, ready_lesson["course"]["id"])
    asset = ready_lesson["asset"]
    secrets = {asset["id"], asset["playback_ids"][0]["id"], asset["upload_id"]}
    course_id, lesson_id = ready_lesson["course"]["id"], ready_lesson["lesson"]["id"]
    for client in (api_client, client_for(student), client_for(instructor)):
        for url in (
            f"/api/v1/courses/{course_id}",
            f"/api/v1/courses/{course_id}/lessons/",
            f"/api/v1/lessons/{lesson_id}",
            "/api/v1/courses/",
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            text = response.content.decode()
            assert not any(s in text for s in secrets), url
    lesson_view = client_for(student).get(f"/api/v1/lessons/{lesson_id}").json()
    assert lesson_view["video_status"] == "ready"
    assert lesson_view["duration"] == 30.0


# --- DELETE lessons/{id}/video ------------------------------------------------------------------------------


def test_owner_deletes_the_video(client_for, mux_emulator, mongo_db, ready_lesson, instructor, student):
    enroll(student, ready_lesson["course"]["id"])
    lesson_id = ready_lesson["lesson"]["id"]
    response = client_for(instructor).delete(f"/api/v1/lessons/{lesson_id}/video")
    assert response.status_code == 204
    doc = lesson_doc(mongo_db, lesson_id)
    assert doc["video"] == {"status": "none", "retired_asset_ids": [], "rev": doc["video"]["rev"]}
    assert doc["duration"] == 0.0
    assert mux_emulator.assets() == []  # deleted at Mux
    assert playback(client_for(student), lesson_id).status_code == 409
    # The asset.deleted webhook that follows changes nothing; deleting again is a no-op.
    ready_lesson["deliverer"].deliver_new()
    assert video_of(mongo_db, lesson_id)["status"] == "none"
    assert client_for(instructor).delete(f"/api/v1/lessons/{lesson_id}/video").status_code == 204


@pytest.mark.parametrize(("who", "status"), [("other_instructor", 403), ("student", 403), ("anonymous", 401)])
def test_bola_nobody_else_deletes_the_video(
    request, api_client, client_for, mux_emulator, mongo_db, ready_lesson, who, status
):
    client = api_client if who == "anonymous" else client_for(request.getfixturevalue(who))
    before = video_of(mongo_db, ready_lesson["lesson"]["id"])
    mux_emulator.control("DELETE", "requests")
    response = client.delete(f"/api/v1/lessons/{ready_lesson['lesson']['id']}/video")
    assert response.status_code == status
    assert video_of(mongo_db, ready_lesson["lesson"]["id"]) == before
    assert [r for r in mux_emulator.requests() if r["method"] == "DELETE"] == []


def test_admin_deletes_any_video(client_for, mux_emulator, mongo_db, ready_lesson, admin_user):
    assert (
        client_for(admin_user).delete(f"/api/v1/lessons/{ready_lesson['lesson']['id']}/video").status_code
        == 204
    )
    assert video_of(mongo_db, ready_lesson["lesson"]["id"])["status"] == "none"


def test_mux_failure_on_delete_is_502_and_changes_nothing(
    client_for, mux_emulator, mongo_db, ready_lesson, instructor
):
    before = lesson_doc(mongo_db, ready_lesson["lesson"]["id"])
    mux_emulator.fail_next(500, count=3, method="DELETE")  # every attempt of the retried DELETE
    response = client_for(instructor).delete(f"/api/v1/lessons/{ready_lesson['lesson']['id']}/video")
    assert response.status_code == 502
    assert lesson_doc(mongo_db, ready_lesson["lesson"]["id"]) == before
    assert len(mux_emulator.assets()) == 1


def test_catalog_lesson_delete_removes_the_asset(client_for, mux_emulator, mongo_db, instructor, api_client):
    course, lesson = course_with_lesson(instructor)
    second = catalog_services.lesson_create(course=course, title="Second")
    upload_to_ready(client_for(instructor), Deliverer(mux_emulator, api_client), second["id"])
    assert len(mux_emulator.assets()) == 1
    assert client_for(instructor).delete(f"/api/v1/lessons/{second['id']}").status_code == 204
    assert mux_emulator.assets() == []
    assert mongo_db.lessons.count_documents({"_id": lesson_doc(mongo_db, lesson["id"])["_id"]}) == 1

"""The admin site shows a lesson's caption tracks and its static MP4, and edits `downloadable`."""

import pytest

from tests.admin.builders import asset_ready_payload, course_with_lessons, current, raw, video_waiting_upload
from webhooks.services import webhook_event_process, webhook_event_receive

pytestmark = pytest.mark.django_db


def _apply(payload):
    event, created = webhook_event_receive(raw_body=raw(payload), payload=payload)
    assert created
    return webhook_event_process(event_pk=event.pk)


def test_lesson_page_lists_caption_tracks_and_the_mp4(admin_web, instructor):
    _course, (lesson,) = course_with_lessons(instructor, title="Video", lessons=["Intro"])
    video_waiting_upload(lesson["id"], upload_id="up-1")
    ready = asset_ready_payload(
        lesson_id=lesson["id"], upload_id="up-1", asset_id="asset-1", playback_id="play-1", event_id="ev-1"
    )
    assert _apply(ready) == "applied"
    track = {
        "id": "track-1", "asset_id": "asset-1", "type": "text", "text_type": "subtitles",
        "text_source": "generated_vod", "language_code": "de", "name": "Deutsch (auto)", "status": "ready",
        "passthrough": lesson["id"],
    }  # fmt: skip
    rendition = {"id": "r-1", "asset_id": "asset-1", "name": "highest.mp4", "status": "ready"}
    for event_id, event_type, data in (
        ("ev-2", "video.asset.track.ready", track),
        ("ev-3", "video.asset.static_rendition.ready", rendition),
    ):
        payload = {**ready, "id": event_id, "type": event_type, "data": data}
        assert _apply(payload) == "applied"

    response = admin_web.get(f"/admin/catalog/lessons/{lesson['id']}/")

    assert response.status_code == 200
    video = response.context["video"]
    assert [(t["language_code"], t["name"], t["source"], t["status"]) for t in video["tracks"]] == [
        ("de", "Deutsch (auto)", "generated", "ready")
    ]
    assert video["download"] == "highest.mp4"
    html = response.content.decode()
    assert "Deutsch (auto) (generated, ready)" in html
    assert "highest.mp4" in html


def test_admin_makes_a_course_downloadable(admin_web, instructor):
    course, _ = course_with_lessons(instructor, title="Downloads")
    form = {
        "action": "save", "title": course["title"], "slug": course["slug"], "description": "",
        "tags": "", "level": course["level"], "downloadable": "on",
    }  # fmt: skip
    response = admin_web.post(f"/admin/catalog/courses/{course['id']}/", form, follow=True)
    assert response.status_code == 200
    assert current(course)["downloadable"] is True
    assert 'name="downloadable"' in admin_web.get(f"/admin/catalog/courses/{course['id']}/").content.decode()


def test_browsable_api_shows_tracks_and_offers_the_caption_and_course_forms(login, instructor, mux_emulator):
    course, (lesson,) = course_with_lessons(instructor, title="Browsable", lessons=["Intro"])
    web = login(instructor)
    html = {"HTTP_ACCEPT": "text/html"}
    page = web.get(f"/api/v1/lessons/{lesson['id']}/captions/", **html)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'name="vtt"' in text  # the upload form: language_code, name, vtt
    assert 'name="language_code"' in text
    upload_page = web.get(f"/api/v1/lessons/{lesson['id']}/upload/", **html)
    assert upload_page.status_code == 405  # POST-only: the page with its form, never a 500
    course_page = web.get(f"/api/v1/courses/{course['id']}/", **html)
    assert course_page.status_code == 200
    assert 'name="downloadable"' in course_page.content.decode()

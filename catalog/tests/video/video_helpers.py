"""Builders shared by the video lifecycle tests (streaming/ and webhooks/). Real catalog services and a
real MongoDB; no fakes."""

from typing import Any

import pytest
from bson import ObjectId

from catalog import services as catalog_services
from catalog.selectors import course_get
from learnstream.permissions import Actor

# Bytes a browser would PUT; the emulator stores and later serves them for a valid stream token.
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"lesson-video-bytes" * 64


@pytest.fixture
def run_on_commit(monkeypatch: Any, django_capture_on_commit_callbacks: Any) -> None:
    """For `django_db` (non-transactional) tests: run each test-client request's on-commit work (the
    webhook processing task) when the request ends, as the real commit would. Import it into a test
    module (or request it) to use it."""
    from django.test import Client

    real = Client.generic

    def generic(self: Any, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return real(self, *args, **kwargs)

    monkeypatch.setattr(Client, "generic", generic)


def course_with_lesson(
    owner: Any, *, publish: bool = True, is_preview: bool = False, title: str = "Lesson 1"
) -> tuple[dict[str, Any], dict[str, Any]]:
    course = catalog_services.course_create(owner_id=owner.id, title=f"Course of {owner.email}")
    lesson = catalog_services.lesson_create(course=course, title=title, is_preview=is_preview)
    if publish:
        course = catalog_services.course_publish(course=course_get(course_id=course["id"]))
    return dict(course_get(course_id=course["id"])), dict(lesson)


def enroll(user: Any, course_id: str) -> None:
    catalog_services.enrollment_create(actor=Actor.of(user), course_id=course_id)


def lesson_doc(mongo_db: Any, lesson_id: str) -> dict[str, Any]:
    return mongo_db.lessons.find_one({"_id": ObjectId(lesson_id)})


def video_of(mongo_db: Any, lesson_id: str) -> dict[str, Any]:
    return dict(lesson_doc(mongo_db, lesson_id)["video"])


class Deliverer:
    """Posts the emulator's captured webhook events to the app through a Django test client, each once,
    in emission order (or as the test chooses), with a fresh valid signature."""

    def __init__(self, mux_emulator: Any, client: Any) -> None:
        self.emulator = mux_emulator
        self.client = client
        self.posted: set[str] = set()

    def new_events(self) -> list[dict[str, Any]]:
        return [e for e in self.emulator.events() if e["id"] not in self.posted]

    def post(self, event: dict[str, Any]) -> Any:
        self.posted.add(event["id"])
        response = self.emulator.post_event(self.client, event)
        assert response.status_code == 200, response.content
        return response

    def deliver_new(self) -> list[str]:
        events = self.new_events()
        for event in events:
            self.post(event)
        return [e["type"] for e in events]


def upload_to_ready(
    client: Any, deliverer: Deliverer, lesson_id: str, *, duration: float = 10.0, path: str = ""
) -> dict[str, Any]:
    """Request an upload as `client`'s user, PUT bytes, make the asset ready, deliver every webhook."""
    response = client.post(path or f"/api/v1/lessons/{lesson_id}/upload")
    assert response.status_code == 201, response.content
    ticket = response.json()
    assert deliverer.emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
    asset = deliverer.emulator.asset_for_upload(ticket["upload_id"])
    ready = deliverer.emulator.make_ready(asset["id"], duration=duration)
    deliverer.deliver_new()
    return {"ticket": ticket, "asset": ready}

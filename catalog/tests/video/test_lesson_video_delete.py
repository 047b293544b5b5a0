"""DELETE lessons/{id} removes the lesson's Mux video through the video lifecycle's hook first: if Mux
fails nothing is deleted (502); once Mux answers, the lesson and its video go (real emulator, HTTP)."""

import pytest

from catalog import selectors
from catalog.tests.helpers import assert_error
from catalog.video import uploads as streaming_services

pytestmark = pytest.mark.django_db


def test_lesson_delete_removes_video_and_keeps_everything_when_mux_fails(
    mux_emulator, client_for, instructor, make_course
):
    course = make_course(instructor, lessons=2)
    lesson_id = course["lesson_ids"][0]
    ticket = streaming_services.video_upload_start(lesson_id=lesson_id, title="Lesson 1")
    assert selectors.lesson_get(lesson_id=lesson_id)["video"]["status"] == "waiting_upload"
    owner = client_for(instructor)

    mux_emulator.fail_next(500, count=10)
    failed = owner.delete(f"/api/v1/lessons/{lesson_id}")

    assert_error(failed, 502)
    assert selectors.lesson_get(lesson_id=lesson_id) is not None
    assert selectors.course_get(course_id=course["id"])["lesson_ids"] == course["lesson_ids"]

    mux_emulator.clear_faults()
    deleted = owner.delete(f"/api/v1/lessons/{lesson_id}")

    assert deleted.status_code == 204
    assert selectors.lesson_get(lesson_id=lesson_id) is None
    assert selectors.course_get(course_id=course["id"])["lesson_ids"] == course["lesson_ids"][1:]
    upload = next(u for u in mux_emulator.uploads() if u["id"] == ticket.upload_id)
    assert upload["status"] == "cancelled"

"""The production path: the database task backend (django-tasks-db) and `manage.py db_worker`."""

import pytest
from django_tasks_db.models import DBTaskResult

from catalog.tests.video.video_helpers import (
    VIDEO_BYTES,
    Deliverer,
    course_with_lesson,
    upload_to_ready,
    video_of,
)
from tests.support.tasks import run_db_worker_once
from webhooks.models import WebhookEvent

# The worker manages its own connections and transactions, as in production: real commits needed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_events_are_acknowledged_first_and_processed_by_the_worker(
    database_tasks, api_client, client_for, mux_emulator, mongo_db, instructor
):
    _course, lesson = course_with_lesson(instructor)
    ticket = client_for(instructor).post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
    mux_emulator.make_ready(mux_emulator.asset_for_upload(ticket["upload_id"])["id"], duration=9.0)
    Deliverer(mux_emulator, api_client).deliver_new()

    # Acknowledged and stored, nothing processed yet: one queued task per stored event.
    events = WebhookEvent.objects.all()
    assert {e.status for e in events} == {"pending"}
    assert DBTaskResult.objects.filter(status="READY").count() == events.count()
    assert video_of(mongo_db, lesson["id"])["status"] == "waiting_upload"

    run_db_worker_once()
    assert {e.status for e in WebhookEvent.objects.all()} == {"processed"}
    assert video_of(mongo_db, lesson["id"])["status"] == "ready"
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_a_failure_schedules_a_deferred_retry_task(
    database_tasks, api_client, client_for, mux_emulator, instructor
):
    _course, lesson = course_with_lesson(instructor)
    owner = client_for(instructor)
    deliverer = Deliverer(mux_emulator, api_client)
    upload_to_ready(owner, deliverer, lesson["id"])
    run_db_worker_once()
    # A replacement becomes ready while Mux refuses to delete the old asset.
    ticket = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES)
    mux_emulator.make_ready(mux_emulator.asset_for_upload(ticket["upload_id"])["id"])
    deliverer.deliver_new()
    mux_emulator.fail_next(400, count=1, method="DELETE")
    run_db_worker_once()
    failed = WebhookEvent.objects.get(status="failed")
    deferred = DBTaskResult.objects.get(status="READY")
    assert deferred.run_after == failed.next_attempt_at
    assert deferred.args_kwargs["kwargs"] == {"event_pk": failed.pk}

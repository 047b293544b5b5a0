"""Several `db_worker`s draining the inbox at once (the production setup runs more than one): every event
is applied exactly once and each lesson ends in the state one worker processing the events in order
would reach, whatever the interleaving. Real worker loops (django-tasks-db's), one thread and one
PostgreSQL connection each; real MongoDB and the Mux emulator."""

from collections import Counter, defaultdict
from typing import Any

import pytest
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from catalog.tests.video.video_helpers import VIDEO_BYTES, Deliverer, course_with_lesson, video_of
from streaming.payloads import parse_mux_time
from tests.support.concurrency import run_at_once
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_enqueue

# The workers manage their own connections and transactions, as in production: real commits needed.
pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 4
LESSONS = 4


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def worker(n: int) -> Worker:
    return Worker(
        queue_names=["default"],
        interval=0,
        batch=True,  # exit once the queue is empty
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"test-{n}",
        excluded_queue_names=[],
    )


def test_concurrent_workers_apply_every_event_once_and_reach_the_in_order_state(
    database_tasks, api_client, client_for, mux_emulator, mongo_db, instructor
):
    owner, deliverer = client_for(instructor), Deliverer(mux_emulator, api_client)
    assets: dict[str, dict[str, Any]] = {}
    for n in range(LESSONS):
        _course, lesson = course_with_lesson(instructor, title=f"Lesson {n}")
        ticket = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
        assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
        asset = mux_emulator.asset_for_upload(ticket["upload_id"])
        assets[lesson["id"]] = mux_emulator.make_ready(asset["id"], duration=10.0 + n)
    deliverer.deliver_new()  # stored and acknowledged; one queued task each, nothing processed yet
    events = list(WebhookEvent.objects.all())
    assert len(events) >= 3 * LESSONS
    assert {e.status for e in events} == {"pending"}
    for event in events:  # a second trigger per event (as a replay racing the first task would add)
        webhook_event_enqueue(event_pk=event.pk)
    assert DBTaskResult.objects.filter(status="READY").count() == 2 * len(events)

    errors = run_at_once([worker(n).run for n in range(WORKERS)])

    assert errors == []
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    # Of the two tasks of an event exactly one processed it; the other found it leased or done.
    results: dict[int, list[Any]] = defaultdict(list)
    for task in DBTaskResult.objects.all():
        results[task.args_kwargs["kwargs"]["event_pk"]].append(task.return_value)
    assert {pk: sorted(v is None for v in values) for pk, values in results.items()} == {
        e.pk: [False, True] for e in events
    }
    rows = list(WebhookEvent.objects.all())
    assert Counter((r.status, r.attempts) for r in rows) == {("processed", 1): len(events)}
    workers_used = {t.worker_ids[0] for t in DBTaskResult.objects.all()}
    assert len(workers_used) > 1  # the drain really was shared

    latest: dict[str, float] = {}
    for row in rows:
        created = parse_mux_time(row.payload["created_at"])
        assert created is not None
        lesson_id = next(lid for lid in assets if lid in row.raw_body)  # the passthrough
        latest[lesson_id] = max(latest.get(lesson_id, 0.0), created.timestamp())
    for lesson_id, asset in assets.items():
        video = video_of(mongo_db, lesson_id)
        signed = next(p["id"] for p in asset["playback_ids"] if p["policy"] == "signed")
        assert (video["status"], video["asset_id"], video["playback_asset_id"]) == (
            "ready",
            asset["id"],
            asset["id"],
        )
        assert (video["playback_id"], video["duration"], video["errors"]) == (
            signed,
            asset["duration"],
            None,
        )
        assert video["event_at"] == latest[lesson_id]  # the staleness watermark is the newest event's
        assert video["retired_asset_ids"] == []

"""Processing holds a lease, not a lock (issue 10, item 12): the event is claimed in one short UPDATE,
the handler runs with no transaction open (Mux HTTP calls, MongoDB writes), and the outcome is recorded
in a second short UPDATE. A crashed worker's lease lapses and another worker takes the event over.

The handler under observation is the real one: a replacement video becomes ready, so processing asks
the Mux emulator to DELETE the old asset, and the emulator holds that DELETE for a few seconds. While it
waits, a second PostgreSQL connection looks at pg_stat_activity / pg_locks.
"""

import io
import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from catalog.tests.video.video_helpers import (
    VIDEO_BYTES,
    Deliverer,
    course_with_lesson,
    upload_to_ready,
    video_of,
)
from webhooks.models import WebhookEvent
from webhooks.selectors import webhook_events_exhausted
from webhooks.services import LEASE_SECONDS, MAX_AUTOMATIC_ATTEMPTS, webhook_event_process, webhook_events_due

SLOW_DELETE_SECONDS = 2.0


def replay(*args: str) -> str:
    out = io.StringIO()
    call_command("webhooks_replay", *args, stdout=out)
    return out.getvalue()


def _idle_in_transaction_on_the_inbox() -> list[tuple[Any, ...]]:
    """Backends of this database with a transaction open but idle (waiting on something else, e.g.
    an HTTP call) that hold a lock on the inbox table or one of its rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.pid, a.state, l.mode
            FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
              AND a.state LIKE 'idle in transaction%%'
              AND l.relation = 'webhooks_webhookevent'::regclass
            """
        )
        return list(cursor.fetchall())


def _open_transactions() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
        )
        return list(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_the_handler_runs_with_no_transaction_open_and_is_never_run_twice(
    api_client: Any, client_for: Any, mux_emulator: Any, mongo_db: Any, instructor: Any, settings: Any
) -> None:
    _course, lesson = course_with_lesson(instructor)
    owner = client_for(instructor)
    deliverer = Deliverer(mux_emulator, api_client)
    first = upload_to_ready(owner, deliverer, lesson["id"])  # processed at once (immediate backend)

    # From here on events are only stored (as in production, where the worker processes them).
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    ticket = owner.post(f"/api/v1/lessons/{lesson['id']}/upload").json()
    assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
    new_asset = mux_emulator.asset_for_upload(ticket["upload_id"])
    mux_emulator.make_ready(new_asset["id"])
    deliverer.deliver_new()
    ready = WebhookEvent.objects.get(type="video.asset.ready", payload__data__id=new_asset["id"])
    for pk in WebhookEvent.objects.exclude(pk=ready.pk).filter(status="pending").values_list("pk", flat=True):
        webhook_event_process(event_pk=pk)

    mux_emulator.control("DELETE", "requests")
    mux_emulator.slow_next(SLOW_DELETE_SECONDS, method="DELETE")
    outcomes: list[str | None] = []

    def worker() -> None:
        try:
            outcomes.append(webhook_event_process(event_pk=ready.pk))
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    # The emulator drops the fault rule when the DELETE arrives: from then on the handler waits on Mux.
    deadline = time.monotonic() + 10
    while mux_emulator.control("GET", "faults")["faults"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert mux_emulator.control("GET", "faults")["faults"] == [], "the handler never called Mux"

    observations = 0
    locked: list[tuple[Any, ...]] = []
    open_transactions: list[tuple[Any, ...]] = []
    concurrent: list[str | None] = []
    while thread.is_alive():
        locked += _idle_in_transaction_on_the_inbox()
        open_transactions += _open_transactions()
        if not concurrent:
            # A second worker (and the replay command) arriving now must leave the event alone.
            concurrent.append(webhook_event_process(event_pk=ready.pk))
            concurrent.append(replay())
        observations += 1
        time.sleep(0.05)
    thread.join()

    assert observations >= 10, "the handler finished before it could be observed"
    assert locked == []
    assert open_transactions == []
    assert concurrent == [None, "webhooks_replay: 0 selected, 0 processed, 0 failed, 0 skipped\n"]
    assert outcomes == ["applied"]
    row = WebhookEvent.objects.get(pk=ready.pk)
    assert (row.status, row.attempts, row.lease_token, row.lease_expires_at, row.next_attempt_at) == (
        "processed",
        1,
        None,
        None,
        None,
    )
    deletes = [r for r in mux_emulator.requests() if r["method"] == "DELETE"]
    assert [(r["path"], r["status"]) for r in deletes] == [(f"/video/v1/assets/{first['asset']['id']}", 204)]
    assert video_of(mongo_db, lesson["id"])["retired_asset_ids"] == []


def _stored_event(event_id: str, **fields: Any) -> WebhookEvent:
    payload = {"id": event_id, "type": "video.asset.warning", "created_at": 1, "data": {"id": "a1"}}
    return WebhookEvent.objects.create(
        event_id=event_id, type=payload["type"], raw_body=json.dumps(payload), payload=payload, **fields
    )


@pytest.mark.django_db
def test_a_crashed_workers_lease_lapses_and_another_worker_takes_over() -> None:
    """What a worker killed mid-handler leaves behind: its lease and its counted attempt."""
    now = timezone.now()
    lapsed = _stored_event(
        "crashed-1",
        attempts=1,
        lease_token="6f1c7c1e-8d1e-4d0b-9a57-0d5d1c1b2a01",
        lease_expires_at=now - timedelta(seconds=1),
        next_attempt_at=now - timedelta(seconds=1),
    )
    held = _stored_event(
        "running-1",
        attempts=1,
        lease_token="6f1c7c1e-8d1e-4d0b-9a57-0d5d1c1b2a02",
        lease_expires_at=now + timedelta(seconds=LEASE_SECONDS),
        next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
    )

    assert list(webhook_events_due().values_list("event_id", flat=True)) == ["crashed-1"]
    assert replay() == "webhooks_replay: 1 selected, 1 processed, 0 failed, 0 skipped\n"
    assert webhook_event_process(event_pk=held.pk) is None  # a live lease is respected, even by hand

    lapsed.refresh_from_db()
    held.refresh_from_db()
    assert (lapsed.status, lapsed.attempts, lapsed.outcome, lapsed.lease_token, lapsed.lease_expires_at) == (
        "processed",
        2,
        "ignored_unhandled_type",
        None,
        None,
    )
    assert (held.status, held.attempts, str(held.lease_token)) == (
        "pending",
        1,
        "6f1c7c1e-8d1e-4d0b-9a57-0d5d1c1b2a02",
    )


@pytest.mark.django_db
def test_a_pending_event_is_claimed_before_it_is_processed() -> None:
    event = _stored_event("fresh-1", next_attempt_at=timezone.now())
    assert webhook_event_process(event_pk=event.pk) == "ignored_unhandled_type"
    event.refresh_from_db()
    assert (event.status, event.attempts, event.lease_token, event.next_attempt_at) == (
        "processed",
        1,
        None,
        None,
    )
    assert webhook_event_process(event_pk=event.pk) is None
    event.refresh_from_db()
    assert event.attempts == 1


@pytest.mark.django_db
def test_an_event_whose_worker_dies_every_time_runs_out_of_attempts() -> None:
    """Each claim counts an attempt; a handler that kills its worker every time must stop being re-driven
    once the attempts are used up, and show up as exhausted for a human."""
    now = timezone.now()
    _stored_event(
        "crashes-always",
        attempts=MAX_AUTOMATIC_ATTEMPTS,
        lease_token="6f1c7c1e-8d1e-4d0b-9a57-0d5d1c1b2a03",
        lease_expires_at=now - timedelta(seconds=1),
        next_attempt_at=now - timedelta(seconds=1),
    )
    _stored_event(
        "crashed-once", attempts=1, lease_expires_at=now - timedelta(seconds=1), next_attempt_at=now
    )

    assert list(webhook_events_due().values_list("event_id", flat=True)) == ["crashed-once"]
    assert list(webhook_events_exhausted().values_list("event_id", flat=True)) == ["crashes-always"]
    assert replay() == "webhooks_replay: 1 selected, 1 processed, 0 failed, 0 skipped\n"
    assert WebhookEvent.objects.get(event_id="crashes-always").attempts == MAX_AUTOMATIC_ATTEMPTS

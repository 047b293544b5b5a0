"""What processing one stored event costs the stores (the worker's drain rate is bounded by it)."""

import json
import uuid
from typing import Any

import pytest

from catalog.tests.video.video_helpers import Deliverer, course_with_lesson, upload_to_ready, video_of
from learnstream import mongo
from streaming.payloads import parse_mux_time
from tests.budgets import PROCESSING_BUDGETS
from tests.support.roundtrips import command_recorder, count_round_trips
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_process, webhook_event_receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(api_client, client_for, mux_emulator, mongo_db, instructor, django_capture_on_commit_callbacks):
    """A lesson made ready through the real flow, and the `video.asset.ready` payload that did it."""
    _course, lesson = course_with_lesson(instructor)
    with django_capture_on_commit_callbacks(execute=True):
        first = upload_to_ready(client_for(instructor), Deliverer(mux_emulator, api_client), lesson["id"])
    [event] = [
        e
        for e in mux_emulator.events("video.asset.ready")
        if e["payload"]["data"]["id"] == first["asset"]["id"]
    ]
    assert video_of(mongo_db, lesson["id"])["status"] == "ready"
    return {"lesson": lesson, "payload": event["payload"]}


def stored(payload: dict[str, Any], *, later_by: float) -> WebhookEvent:
    """The same event as a fresh delivery `later_by` seconds after the original (stored, not processed:
    this test is not in the on-commit capture, so no task runs)."""
    created = parse_mux_time(payload["created_at"])
    assert created is not None
    again = {**payload, "id": str(uuid.uuid4()), "created_at": created.timestamp() + later_by}
    row, created_now = webhook_event_receive(raw_body=json.dumps(again).encode(), payload=again)
    assert created_now
    return row


def test_a_newer_ready_event_costs_one_read_one_write(ready):
    """Newer data for the ready asset is applied (the staleness watermark moves): the lease claim and
    release in PostgreSQL, one read and one compare-and-set write in MongoDB."""
    recorder = command_recorder()  # re-creates the app's client with the listener: read through it
    mongo_db = mongo.get_db()
    before = video_of(mongo_db, ready["lesson"]["id"])
    row = stored(ready["payload"], later_by=60)
    with count_round_trips() as trips, recorder.recording() as commands:
        outcome = webhook_event_process(event_pk=row.pk)
    assert outcome == "applied"
    assert [name for name, _ in commands] == ["find", "update"]
    [update] = [doc for doc in recorder.documents if "update" in doc]
    assert update["updates"][0]["q"]["video.rev"] == before["rev"]
    after = video_of(mongo_db, ready["lesson"]["id"])
    assert after["rev"] == before["rev"] + 1
    assert after["event_at"] == before["event_at"] + 60
    assert (after["status"], after["playback_id"]) == ("ready", before["playback_id"])
    assert (trips.pg, trips.mongo, trips.redis) == PROCESSING_BUDGETS["webhook_event_applied"], (
        trips.describe()
    )
    row.refresh_from_db()
    assert (row.status, row.outcome, row.attempts) == ("processed", "applied", 1)


def test_an_event_that_changes_nothing_costs_one_read(ready):
    """The common case of a redelivery: one MongoDB read, no write, no cache invalidation."""
    command_recorder()  # as above: the counters see the app's client only once it is re-created
    mongo_db = mongo.get_db()
    before = video_of(mongo_db, ready["lesson"]["id"])
    row = stored(ready["payload"], later_by=0)
    with count_round_trips() as trips:
        outcome = webhook_event_process(event_pk=row.pk)
    assert outcome == "ignored_no_change"
    assert (trips.pg, trips.mongo, trips.redis) == PROCESSING_BUDGETS["webhook_event_unchanged"], (
        trips.describe()
    )
    assert video_of(mongo_db, ready["lesson"]["id"]) == before

"""PostgreSQL unavailable during delivery → 5xx (never 2xx), then redelivery → exactly once.

How the outage is made (honest, and harmless to parallel test runs): the live server keeps running,
but our *own* test database refuses new connections (`ALTER DATABASE … CONNECTION LIMIT 0`, which binds
every non-superuser) and the server's existing connections are terminated. Every webhook request then
fails inside psycopg with a real OperationalError ("too many connections for database"), exactly what
a stopped or unreachable PostgreSQL produces for the app. The limit is lifted afterwards, and the
emulator redelivers every event, as Mux keeps retrying non-2xx answers for 24 h.
"""

import contextlib

import pytest
import requests
from django.db import connection

from accounts.tokens import issue_token_pair
from catalog.tests.video.video_helpers import VIDEO_BYTES, course_with_lesson, video_of
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def postgres_refusing_connections():
    name = connection.settings_dict["NAME"]
    quoted = connection.ops.quote_name(name)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {quoted} CONNECTION LIMIT 0")
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {quoted} CONNECTION LIMIT -1")


def test_database_down_is_never_acknowledged_and_redelivery_stores_exactly_once(
    live_server, mux_emulator, mongo_db, instructor
):
    _course, lesson = course_with_lesson(instructor)
    access, _refresh = issue_token_pair(instructor)
    response = requests.post(
        f"{live_server.url}/api/v1/lessons/{lesson['id']}/upload",
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )
    assert response.status_code == 201
    ticket = response.json()
    mux_emulator.set_webhook_url(f"{live_server.url}/webhooks/mux")

    with postgres_refusing_connections():
        # 10 events: the real lifecycle (asset_created, asset.created, ready) plus 7 others.
        assert mux_emulator.upload_bytes(ticket["upload_url"], VIDEO_BYTES) == 200
        asset = mux_emulator.asset_for_upload(ticket["upload_id"])
        mux_emulator.make_ready(asset["id"], duration=7.0)
        for n in range(7):
            mux_emulator.emit_event("video.asset.warning", {"id": asset["id"], "warning": {"n": n}})
        mux_emulator.flush_webhooks()
        deliveries = mux_emulator.deliveries()
        assert len({d["event_id"] for d in deliveries}) == 10
        assert {d["status"] for d in deliveries} == {503}  # every attempt, retries included: never 2xx
        assert all(d["response_body"].startswith('{"error"') for d in deliveries)
        # Nothing was processed behind the database's back.
        assert video_of(mongo_db, lesson["id"])["status"] == "waiting_upload"

    assert WebhookEvent.objects.count() == 0
    events = mux_emulator.events()
    # Mux retries later; twice for good measure (duplicates must be absorbed too).
    for _ in range(2):
        for event in events:
            mux_emulator.redeliver(event["id"])
        mux_emulator.flush_webhooks()

    later = [d for d in mux_emulator.deliveries() if d["status"] != 503]
    assert len(later) == 2 * len(events)  # incl. video.upload.created, captured before delivery began
    assert {d["status"] for d in later} == {200}
    assert sorted(WebhookEvent.objects.values_list("event_id", flat=True)) == sorted(e["id"] for e in events)
    assert set(WebhookEvent.objects.values_list("status", "attempts").distinct()) == {("processed", 1)}
    video = video_of(mongo_db, lesson["id"])
    assert video["status"] == "ready"
    assert video["duration"] == 7.0

"""The webhook inbox: store once, acknowledge, process asynchronously, retry with backoff.

The PostgreSQL row (unique on the Mux event id) is the source of truth. Tasks are only triggers (the task
is defined here, next to what it runs and what enqueues it): if an enqueue is lost,
`manage.py webhooks_replay` finds the event by its status and `next_attempt_at`.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tasks import task

from webhooks import handlers
from webhooks.models import WebhookEvent, WebhookEventStatus

logger = logging.getLogger(__name__)

MAX_AUTOMATIC_ATTEMPTS = 8
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
LAST_ERROR_MAX_CHARS = 2000


def retry_delay(*, attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h."""
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def webhook_event_receive(*, raw_body: bytes, payload: dict[str, Any]) -> tuple[WebhookEvent, bool]:
    """Store a verified event once. Returns (row, created); processing is enqueued only after commit."""
    with transaction.atomic():
        event, created = WebhookEvent.objects.get_or_create(
            event_id=str(payload["id"]),
            defaults={
                "type": str(payload.get("type") or "")[:255],
                "raw_body": raw_body.decode("utf-8", "replace"),
                "payload": payload,
                "next_attempt_at": timezone.now(),
            },
        )
        if created:
            pk = event.pk
            # robust: a failed enqueue must not turn an already committed event into an error answer;
            # the replay command picks the event up by its status.
            transaction.on_commit(lambda: webhook_event_enqueue(event_pk=pk), robust=True)
    return event, created


@task()
def process_webhook_event(event_pk: int) -> str | None:
    """The Django Tasks entry point (ImmediateBackend in tests/dev, django_tasks_db in production).
    Idempotent: processing an already processed or locked event does nothing."""
    return webhook_event_process(event_pk=event_pk)


def webhook_event_enqueue(*, event_pk: int, run_after: datetime | None = None) -> None:
    task = process_webhook_event
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # e.g. the immediate backend: the replay command retries when due
        task = task.using(run_after=run_after)
    task.enqueue(event_pk=event_pk)


def webhook_event_process(*, event_pk: int) -> str | None:
    """Process one stored event unless it is already processed or another worker holds it.

    Returns the outcome, or None when there was nothing to do.
    """
    retry_at: datetime | None = None
    with transaction.atomic():
        event = (
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_pk)
            .exclude(status=WebhookEventStatus.PROCESSED)
            .first()
        )
        if event is None:
            return None
        event.attempts += 1
        try:
            outcome = handlers.event_handle(payload=event.payload)
        except handlers.MalformedPayload as exc:
            # Signed by Mux but unusable: retrying cannot help, keep it visible in the admin.
            _record_failure(event, exc, retry=False)
            return "failed"
        except Exception as exc:  # any failure must be recorded on the row and retried, never lost
            logger.exception("webhook event %s (%s) failed", event.event_id, event.type)
            retry_at = _record_failure(event, exc, retry=True)
            outcome = "failed"
        else:
            event.status = WebhookEventStatus.PROCESSED
            event.processed_at = timezone.now()
            event.next_attempt_at = None
            event.last_error = ""
            event.outcome = outcome[:64]
            event.save(
                update_fields=[
                    "status",
                    "processed_at",
                    "next_attempt_at",
                    "last_error",
                    "outcome",
                    "attempts",
                ]
            )
        if retry_at is not None:
            at = retry_at
            transaction.on_commit(lambda: webhook_event_enqueue(event_pk=event_pk, run_after=at), robust=True)
    return outcome


def _record_failure(event: WebhookEvent, exc: BaseException, *, retry: bool) -> datetime | None:
    event.status = WebhookEventStatus.FAILED
    event.last_error = f"{type(exc).__name__}: {exc}"[:LAST_ERROR_MAX_CHARS]
    event.outcome = "failed"
    if retry and event.attempts < MAX_AUTOMATIC_ATTEMPTS:
        event.next_attempt_at = timezone.now() + retry_delay(attempts=event.attempts)
    else:
        event.next_attempt_at = None  # exhausted: only a manual reprocess re-drives it
    event.save(update_fields=["status", "last_error", "outcome", "next_attempt_at", "attempts"])
    return event.next_attempt_at


def webhook_events_due(
    *, now: datetime | None = None, include_exhausted: bool = False
) -> QuerySet[WebhookEvent]:
    """Unprocessed events whose (re)try is due; with include_exhausted, every unprocessed event."""
    unprocessed = WebhookEvent.objects.exclude(status=WebhookEventStatus.PROCESSED)
    if include_exhausted:
        return unprocessed.order_by("received_at", "id")
    moment = now or timezone.now()
    return unprocessed.filter(Q(next_attempt_at__lte=moment) | Q(status=WebhookEventStatus.PENDING)).order_by(
        "received_at", "id"
    )


def webhook_events_reprocess(*, event_pks: Iterable[int]) -> dict[str, int]:
    """Process the given events now (admin action, replay command). Processed events are skipped."""
    counts = {"processed": 0, "failed": 0, "skipped": 0}
    for pk in event_pks:
        outcome = webhook_event_process(event_pk=pk)
        if outcome is None:
            counts["skipped"] += 1
        elif outcome == "failed":
            counts["failed"] += 1
        else:
            counts["processed"] += 1
    return counts

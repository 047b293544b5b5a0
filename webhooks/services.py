"""The webhook inbox: store once, acknowledge, process asynchronously, retry with backoff.

The PostgreSQL row (unique on the Mux event id) is the source of truth. Tasks are only triggers (the task
is defined here, next to what it runs and what enqueues it): if an enqueue is lost,
`manage.py webhooks_replay` finds the event by its status and `next_attempt_at`.
"""

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tasks import task

from learnstream.leases import attempts_covering, backoff_delay, lease_claim, lease_release
from webhooks import handlers
from webhooks.models import WebhookEvent, WebhookEventStatus, WebhookSource

logger = logging.getLogger(__name__)

# Capped exponential backoff: 30 s, 1 min, 2 min, ... Automatic retries go on for at least 24 h (Mux's own
# redelivery horizon): 13 attempts, the last ~29 h after the first. The 12 h cap binds only on the last
# delay, so each wait is longer than the one before.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 12 * 3600
RETRY_HORIZON = timedelta(hours=24)
# How long a worker may hold an event. Far above one handler run (a few Mux calls of <= 5 s, MongoDB
# operations of <= 2 s); a crashed worker's event is taken over once it lapses.
LEASE_SECONDS = 300
LAST_ERROR_MAX_CHARS = 2000


def retry_delay(*, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, ... capped at 12 h."""
    return backoff_delay(attempts=attempts, base_seconds=RETRY_BASE_SECONDS, max_seconds=RETRY_MAX_SECONDS)


def _attempts_covering(horizon: timedelta) -> int:
    return attempts_covering(horizon=horizon, delay=lambda attempts: retry_delay(attempts=attempts))


MAX_AUTOMATIC_ATTEMPTS = _attempts_covering(RETRY_HORIZON)


def webhook_event_receive(
    *, raw_body: bytes, payload: dict[str, Any], source: str = WebhookSource.MUX
) -> tuple[WebhookEvent, bool]:
    """Store a verified event once per (source, id). Returns (row, created); processing is enqueued only
    after commit."""
    with transaction.atomic():
        event, created = WebhookEvent.objects.get_or_create(
            source=source,
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
    """Process one stored event unless it is already processed or another worker holds its lease.

    Three steps, none of them holding a lock across the others: claim the event (one UPDATE), run the
    handler (Mux HTTP calls, MongoDB writes) outside any transaction, record the outcome (one UPDATE,
    only if the lease is still ours). Returns the outcome, or None when there was nothing to do.
    """
    claim = _claim(event_pk=event_pk)
    if claim is None:
        return None
    event, token = claim
    try:
        outcome = handlers.event_handle(payload=event.payload, source=event.source)
    except handlers.MalformedPayload as exc:
        # Signed by the provider but unusable: retrying cannot help, keep it visible in the admin.
        _record_failure(event=event, token=token, exc=exc, retry=False)
        return "failed"
    except Exception as exc:  # any failure must be recorded on the row and retried, never lost
        logger.exception("webhook event %s (%s) failed", event.event_id, event.type)
        retry_at = _record_failure(event=event, token=token, exc=exc, retry=True)
        if retry_at is not None:
            # on_commit: runs at once outside a transaction, after the caller's commit inside one.
            transaction.on_commit(
                lambda: webhook_event_enqueue(event_pk=event_pk, run_after=retry_at), robust=True
            )
        return "failed"
    _record(
        event=event,
        token=token,
        status=WebhookEventStatus.PROCESSED,
        processed_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
        outcome=outcome[:64],
    )
    return outcome


def _claim(*, event_pk: int) -> tuple[WebhookEvent, uuid.UUID] | None:
    """Take the event's lease (`learnstream.leases.lease_claim`: one conditional UPDATE ... RETURNING,
    exactly one of two racing workers wins, the attempt is counted, a dead worker's event is due again at
    the lease's expiry)."""
    return lease_claim(
        model=WebhookEvent,
        pk=event_pk,
        lease_seconds=LEASE_SECONDS,
        done_status=WebhookEventStatus.PROCESSED.value,
    )


def _record(*, event: WebhookEvent, token: uuid.UUID, **fields: Any) -> bool:
    """Write the outcome and release the lease, unless the lease lapsed and another worker took over
    (then that worker's outcome wins; the handlers are idempotent, so nothing is applied twice)."""
    updated = lease_release(model=WebhookEvent, pk=event.pk, token=token, **fields)
    if not updated:
        logger.warning("webhook event %s: lease lapsed before the outcome was recorded", event.event_id)
    return updated


def _record_failure(
    *, event: WebhookEvent, token: uuid.UUID, exc: BaseException, retry: bool
) -> datetime | None:
    next_attempt_at = (
        timezone.now() + retry_delay(attempts=event.attempts)
        if retry and event.attempts < MAX_AUTOMATIC_ATTEMPTS
        else None  # exhausted (or not retryable): only a manual reprocess re-drives it
    )
    recorded = _record(
        event=event,
        token=token,
        status=WebhookEventStatus.FAILED,
        last_error=f"{type(exc).__name__}: {exc}"[:LAST_ERROR_MAX_CHARS],
        outcome="failed",
        next_attempt_at=next_attempt_at,
    )
    return next_attempt_at if recorded else None


def webhook_events_due(
    *, now: datetime | None = None, include_exhausted: bool = False
) -> QuerySet[WebhookEvent]:
    """Unprocessed events whose (re)try is due; with include_exhausted, every unprocessed event."""
    moment = now or timezone.now()
    # A live lease means a worker is on it; a lapsed one (a crashed worker) is fair game.
    unprocessed = WebhookEvent.objects.exclude(status=WebhookEventStatus.PROCESSED).exclude(
        lease_expires_at__gt=moment
    )
    if include_exhausted:
        return unprocessed.order_by("received_at", "id")
    # Out of attempts is exhausted however the attempts ended: a handler that kills its worker every
    # time must not be re-driven for ever.
    due = Q(next_attempt_at__lte=moment) | Q(status=WebhookEventStatus.PENDING)
    return unprocessed.filter(due, attempts__lt=MAX_AUTOMATIC_ATTEMPTS).order_by("received_at", "id")


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

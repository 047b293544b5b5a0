"""Read-only queries over the webhook inbox (admin dashboard, admin filters)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from webhooks.models import WebhookEvent, WebhookEventStatus
from webhooks.services import MAX_AUTOMATIC_ATTEMPTS


@dataclass(frozen=True)
class ExhaustedEvents:
    """Failed events no automatic retry will touch again: only a human (admin "Reprocess", or
    `manage.py webhooks_replay --all`) re-drives them. A lesson they concern may be stuck."""

    count: int
    oldest_received_at: datetime | None


def lease_is_live(*, now: datetime) -> Q:
    """A worker is on the event. A lapsed lease (a worker that died) no longer counts."""
    return Q(lease_expires_at__gt=now)


def webhook_events_exhausted(*, now: datetime | None = None) -> QuerySet[WebhookEvent]:
    """Unprocessed events no automatic retry will touch again: failed with no retry scheduled (retries
    used up, or unusable data), or out of attempts because a worker died on them each time."""
    moment = now or timezone.now()
    return (
        WebhookEvent.objects.exclude(status=WebhookEventStatus.PROCESSED)
        .exclude(lease_is_live(now=moment))
        .filter(
            Q(status=WebhookEventStatus.FAILED, next_attempt_at__isnull=True)
            | Q(attempts__gte=MAX_AUTOMATIC_ATTEMPTS)
        )
    )


def webhook_events_exhausted_summary() -> ExhaustedEvents:
    row = webhook_events_exhausted().order_by().aggregate(count=Count("id"), oldest=Min("received_at"))
    return ExhaustedEvents(count=row["count"], oldest_received_at=row["oldest"])

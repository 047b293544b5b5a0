"""Read-only queries over the webhook inbox (admin dashboard, admin filters)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, QuerySet

from webhooks.models import WebhookEvent, WebhookEventStatus


@dataclass(frozen=True)
class ExhaustedEvents:
    """Failed events no automatic retry will touch again: only a human (admin "Reprocess", or
    `manage.py webhooks_replay --all`) re-drives them. A lesson they concern may be stuck."""

    count: int
    oldest_received_at: datetime | None


def webhook_events_exhausted() -> QuerySet[WebhookEvent]:
    """Failed, with no retry scheduled and no worker on it (retries used up, or unusable data)."""
    return WebhookEvent.objects.filter(
        status=WebhookEventStatus.FAILED, next_attempt_at__isnull=True, lease_token__isnull=True
    )


def webhook_events_exhausted_summary() -> ExhaustedEvents:
    row = webhook_events_exhausted().order_by().aggregate(count=Count("id"), oldest=Min("received_at"))
    return ExhaustedEvents(count=row["count"], oldest_received_at=row["oldest"])

"""The webhook inbox's block on the admin dashboard (registered by `WebhooksConfig.ready`)."""

import logging

from django.db.models import Count

from learnstream.dashboard import Block, Figure, admin_url
from learnstream.errors import STORE_OUTAGES
from webhooks.models import WebhookEvent, WebhookEventStatus
from webhooks.selectors import ExhaustedEvents, webhook_events_exhausted_summary

logger = logging.getLogger(__name__)


def webhook_block() -> Block:
    """Inbox counts by status, failures first and highlighted, each linking to the filtered inbox."""
    title = "Mux webhook inbox"
    try:
        rows = WebhookEvent.objects.order_by().values("status").annotate(n=Count("id"))
        counts = {row["status"]: row["n"] for row in rows}
    except STORE_OUTAGES as exc:
        logger.warning("admin dashboard: webhook inbox unavailable: %s", type(exc).__name__)
        return Block(title=title, error="Unavailable: PostgreSQL is not answering.")
    changelist = admin_url("admin:webhooks_webhookevent_changelist")
    order = [WebhookEventStatus.FAILED, WebhookEventStatus.PENDING, WebhookEventStatus.PROCESSED]
    return Block(
        title=title,
        figures=[
            Figure(
                label=str(status.label),
                value=counts.get(status.value, 0),
                url=f"{changelist}?status__exact={status.value}" if changelist else "",
                alert=status == WebhookEventStatus.FAILED and counts.get(status.value, 0) > 0,
            )
            for status in order
        ],
    )


def webhook_exhausted() -> ExhaustedEvents | None:
    """Events no automatic retry will re-drive, shown as a banner above the dashboard when there are any."""
    try:
        exhausted = webhook_events_exhausted_summary()
    except STORE_OUTAGES:
        return None  # the inbox block already says PostgreSQL is not answering
    return exhausted if exhausted.count else None

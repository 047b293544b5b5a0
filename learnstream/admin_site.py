"""The admin index dashboard: platform figures, webhook inbox health and the MongoDB catalog pages.

Rendered by `templates/admin/index.html` through the `{% admin_dashboard %}` tag
(`learnstream/templatetags/learnstream_admin.py`), so the stock `admin.site` needs no subclass.
Every figure degrades on its own: a store outage shows "unavailable" in its block, never a 500 on the
page administrators need most during an incident.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from learnstream.errors import STORE_OUTAGES, ApplicationError

logger = logging.getLogger(__name__)

UNAVAILABLE: tuple[type[BaseException], ...] = (ApplicationError, *STORE_OUTAGES)


@dataclass(frozen=True)
class Figure:
    label: str
    value: int | float | str
    url: str = ""
    alert: bool = False  # shown highlighted (e.g. failed webhook events)


@dataclass(frozen=True)
class Block:
    title: str
    figures: list[Figure] = field(default_factory=list)
    error: str = ""  # set when the block's store did not answer


def _label(key: str) -> str:
    return key.replace("_", " ").replace(" 7d", " (last 7 days)").strip().capitalize()


def _url(name: str, query: str = "") -> str:
    try:
        return reverse(name) + query
    except NoReverseMatch:  # that app's admin is not installed/wired (yet)
        return ""


def _flatten(overview: dict[str, Any]) -> list[Block]:
    """analytics/overview → one block per group: dicts (users by role…) become a block, numbers a row."""
    totals = Block(title="Totals")
    blocks: list[Block] = []
    for key, value in overview.items():
        if isinstance(value, dict):
            blocks.append(
                Block(
                    title=_label(key),
                    figures=[Figure(label=_label(str(k)), value=v) for k, v in value.items()],
                )
            )
        elif isinstance(value, int | float):
            totals.figures.append(Figure(label=_label(key), value=value))
    return [*blocks, totals] if totals.figures else blocks


def overview_blocks() -> list[Block]:
    """The `GET analytics/overview` figures (users by role, courses by status, enrollments, watching)."""
    from catalog.analytics import analytics_overview

    try:
        overview = analytics_overview()
    except UNAVAILABLE as exc:
        logger.warning("admin dashboard: analytics overview unavailable: %s", type(exc).__name__)
        return [Block(title="Platform overview", error="Unavailable: a data store is not answering.")]
    return _flatten(dict(overview))


def webhook_block() -> Block:
    """Inbox counts by status, failures first and highlighted, each linking to the filtered inbox."""
    from webhooks.models import WebhookEvent, WebhookEventStatus

    title = "Mux webhook inbox"
    try:
        rows = WebhookEvent.objects.order_by().values("status").annotate(n=Count("id"))
        counts = {row["status"]: row["n"] for row in rows}
    except STORE_OUTAGES as exc:
        logger.warning("admin dashboard: webhook inbox unavailable: %s", type(exc).__name__)
        return Block(title=title, error="Unavailable: PostgreSQL is not answering.")
    changelist = _url("admin:webhooks_webhookevent_changelist")
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


def webhook_exhausted() -> Any:
    """Events no automatic retry will re-drive (webhooks.selectors.ExhaustedEvents), shown as a banner
    above the dashboard when there are any."""
    # Imported here like webhook_block's: learnstream (plumbing) imports no app at module level.
    from webhooks.selectors import webhook_events_exhausted_summary

    try:
        exhausted = webhook_events_exhausted_summary()
    except STORE_OUTAGES:
        return None  # the inbox block already says PostgreSQL is not answering
    return exhausted if exhausted.count else None


def catalog_links() -> list[Figure]:
    """The custom MongoDB catalog pages (catalog/admin_urls.py); empty until their URLs are wired."""
    links = [
        Figure(label="Courses", value="", url=_url("catalog_admin:course_list")),
        Figure(label="Lessons", value="", url=_url("catalog_admin:lesson_list")),
    ]
    return [link for link in links if link.url]


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "overview_blocks": overview_blocks(),
        "webhook_block": webhook_block(),
        "webhook_exhausted": webhook_exhausted(),
        "catalog_links": catalog_links(),
    }

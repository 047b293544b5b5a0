"""The webhook inbox in the Django admin: read-only rows, filters, pretty payloads, a reprocess action."""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from learnstream.admin import ReadOnlyAdminMixin
from webhooks.models import WebhookEvent, WebhookEventStatus
from webhooks.selectors import lease_is_live, webhook_events_exhausted
from webhooks.services import webhook_events_reprocess


class RetryStateFilter(admin.SimpleListFilter):
    """Which unprocessed events will be retried automatically, and which need a human."""

    title = "retry state"
    parameter_name = "retry"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("exhausted", "Exhausted (needs a reprocess)"),
            ("scheduled", "Retry scheduled"),
            ("running", "Being processed"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> QuerySet[WebhookEvent]:
        if self.value() == "exhausted":
            return queryset & webhook_events_exhausted()
        if self.value() == "scheduled":
            return queryset.filter(status=WebhookEventStatus.FAILED, next_attempt_at__isnull=False).exclude(
                lease_is_live(now=timezone.now())
            )
        if self.value() == "running":
            return queryset.filter(lease_is_live(now=timezone.now()))
        return queryset


@admin.register(WebhookEvent)
# Read-only: the inbox is written only by the providers (through the signed endpoints) and by processing.
class WebhookEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "event_id",
        "source",
        "type",
        "status",
        "attempts",
        "outcome",
        "received_at",
        "processed_at",
        "next_attempt_at",
    )
    list_filter = ("source", "status", RetryStateFilter, "type", "received_at")
    # Facet counts next to each filter value: failures per status/type at a glance.
    show_facets = admin.ShowFacets.ALWAYS
    search_fields = ("event_id", "type")
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    actions = ["reprocess"]
    fields = (
        "event_id",
        "source",
        "type",
        "status",
        "outcome",
        "attempts",
        "received_at",
        "processed_at",
        "next_attempt_at",
        "lease_expires_at",
        "last_error",
        "pretty_payload",
    )
    readonly_fields = fields

    @admin.display(description="payload")
    def pretty_payload(self, obj: WebhookEvent) -> str:
        text = json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap; max-width: 100ch">{}</pre>', text)

    @admin.action(description="Reprocess selected events now (skips processed ones)")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        pks = list(queryset.order_by("received_at", "id").values_list("pk", flat=True))
        counts = webhook_events_reprocess(event_pks=pks)
        level = messages.WARNING if counts["failed"] else messages.SUCCESS
        self.message_user(
            request,
            f"Processed {counts['processed']}, failed {counts['failed']}, "
            f"skipped {counts['skipped']} (already processed or busy).",
            level=level,
        )

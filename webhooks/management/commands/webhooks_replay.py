"""Re-drive inbox events that are not processed yet: due retries by default, or everything with --all.

Run it from cron (or with --loop in the worker container); it is safe to run concurrently with the task
worker because processing locks the row and skips processed events.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from webhooks.models import WebhookEvent
from webhooks.services import webhook_events_due, webhook_events_reprocess


class Command(BaseCommand):
    help = "Process pending and failed Mux webhook events whose retry is due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Every unprocessed event, including not-yet-due and exhausted ones.",
        )
        parser.add_argument("--event-id", action="append", default=[], help="Only this Mux event id.")
        parser.add_argument("--limit", type=int, default=500, help="At most this many events per pass.")
        parser.add_argument("--loop", type=float, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            self._pass(options)
            if not options["loop"]:
                return
            time.sleep(options["loop"])

    def _pass(self, options: dict[str, Any]) -> None:
        if options["event_id"]:
            queryset = WebhookEvent.objects.filter(event_id__in=options["event_id"])
        else:
            queryset = webhook_events_due(include_exhausted=options["all"])
        pks = list(queryset.values_list("pk", flat=True)[: options["limit"]])
        counts = webhook_events_reprocess(event_pks=pks)
        self.stdout.write(
            f"webhooks_replay: {len(pks)} selected, {counts['processed']} processed, "
            f"{counts['failed']} failed, {counts['skipped']} skipped"
        )

"""Deliver outgoing mail whose (re)try is due: a lost enqueue, a failed attempt, a crashed worker; and
drop sent messages older than 30 days (the outbox stays bounded).

Run it from the scheduler (or with --loop); it is safe next to the task worker because delivery leases
the row and skips sent messages.
"""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from learnstream.mail import mail_deliver, mail_due, mail_prune


class Command(BaseCommand):
    help = "Deliver pending and failed outgoing mail whose retry is due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=500, help="At most this many messages per pass.")
        parser.add_argument("--loop", type=float, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            self._pass(limit=options["limit"])
            if not options["loop"]:
                return
            time.sleep(options["loop"])

    def _pass(self, *, limit: int) -> None:
        pks = list(mail_due().values_list("pk", flat=True)[:limit])
        outcomes = [mail_deliver(mail_pk=pk) for pk in pks]
        pruned = mail_prune()
        self.stdout.write(
            f"mail_replay: {len(pks)} selected, {outcomes.count('sent')} sent, "
            f"{outcomes.count('failed')} failed, {outcomes.count(None)} skipped, {pruned} old sent pruned"
        )

"""`manage.py stripe_emulator --port N [--webhook-url URL] [--host 127.0.0.1]`.

Runs the Stripe emulator for local development (`make run` starts it when STRIPE_SECRET_KEY is not set):
it accepts the development key (settings.STRIPE_SECRET_KEY) and signs webhooks with this checkout's
STRIPE_WEBHOOK_SECRETS[0], so the app and the emulator agree with nothing to configure. State is kept in
memory: a restart forgets sessions (pending orders then get a new session at their next checkout).
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from commerce.emulator import StripeEmulator, is_loopback


class Command(BaseCommand):
    help = "Run the loopback Stripe API emulator (development and manual testing only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=12111)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--webhook-url", default=None, help="e.g. http://127.0.0.1:8000/webhooks/stripe")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("the Stripe emulator is not for production")
        if not is_loopback(options["host"]):
            raise CommandError(f"refusing to listen on non-loopback host {options['host']!r}")
        if not settings.STRIPE_SECRET_KEY or not settings.STRIPE_WEBHOOK_SECRETS:
            raise CommandError("STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are needed")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        emulator = StripeEmulator(
            api_key=settings.STRIPE_SECRET_KEY,
            webhook_secrets=list(settings.STRIPE_WEBHOOK_SECRETS[:1]),
            webhook_url=options["webhook_url"],
            host=options["host"],
            port=options["port"],
        ).start()
        self.stdout.write(
            f"Stripe emulator on {emulator.url} (webhooks -> {options['webhook_url'] or 'nowhere'})"
        )
        signal.signal(signal.SIGTERM, lambda *_: emulator.stopping.set())
        try:
            while not emulator.stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            emulator.stop()

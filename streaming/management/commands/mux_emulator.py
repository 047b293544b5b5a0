"""`manage.py mux_emulator --port N --webhook-url URL [--ready-delay S] [--host 127.0.0.1]`.

Runs the Mux emulator for local development (`make run` starts it when no Mux credentials are set):
Basic auth from MUX_TOKEN_ID/MUX_TOKEN_SECRET, webhooks signed with MUX_WEBHOOK_SECRETS[0], state
(signing keys, uploads, assets) persisted in var/ so restarts keep them, uploaded bytes under
var/mux-emulator/. On first start it issues a signing key, which `streaming.signing.dev_signing_key()`
hands to the playback code when MUX_SIGNING_KEY_ID is empty.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from streaming import signing
from streaming.emulator import EmulatorConfig, MuxEmulator, is_loopback


class Command(BaseCommand):
    help = "Run the loopback Mux API emulator (development and manual testing only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--webhook-url", default=None, help="e.g. http://127.0.0.1:8000/webhooks/mux")
        parser.add_argument(
            "--ready-delay",
            type=float,
            default=2.0,
            help="seconds until an upload's asset is ready (<=0: never)",
        )
        parser.add_argument("--no-persist", action="store_true", help="keep state in memory only")
        parser.add_argument(
            "--allow-non-loopback",
            action="store_true",
            help="listen beyond loopback (inside a container only, so `web` can reach it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("the Mux emulator is not for production")
        host = options["host"]
        if not is_loopback(host) and not options["allow_non_loopback"]:
            raise CommandError(f"refusing to listen on non-loopback host {host!r}")
        persist = not options["no_persist"]
        state_file = signing.dev_emulator_state_path() if persist else None
        config = EmulatorConfig(
            token_id=settings.MUX_TOKEN_ID,
            token_secret=settings.MUX_TOKEN_SECRET,
            webhook_url=options["webhook_url"],
            webhook_secrets=list(settings.MUX_WEBHOOK_SECRETS[:1]),
            ready_delay=options["ready_delay"],
            state_file=state_file,
            storage_dir=Path(settings.VAR_DIR) / "mux-emulator" if persist else None,
            ensure_signing_key=True,  # so dev playback works with no human step
        )
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        emulator = MuxEmulator(
            config,
            host=host,
            port=options["port"],
            # Required off loopback (docker-compose): `/_control/` then needs the X-Control-Token header.
            control_token=os.environ.get("MUX_EMULATOR_CONTROL_TOKEN") or None,
            allow_non_loopback=options["allow_non_loopback"],
        ).start()
        self.stdout.write(
            f"Mux emulator on {emulator.url} (webhooks -> {options['webhook_url'] or 'nowhere'}); "
            f"state: {state_file or 'memory'}"
        )
        signal.signal(signal.SIGTERM, lambda *_: emulator.stopping.set())
        try:
            while not emulator.stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            emulator.stop()

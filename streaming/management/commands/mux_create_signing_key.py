"""`manage.py mux_create_signing_key [--list | --delete KEY_ID]`: set up signed playback against Mux.

Creates an RS256 URL-signing key at Mux (with the MUX_TOKEN_ID/SECRET in the environment) and prints
the two settings to put in your secret store. Mux returns the private key only once, here. Rotation:
create a new key, deploy it, and delete the old one once tokens it signed have expired
(MUX_PLAYBACK_TOKEN_TTL_SECONDS).
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learnstream.errors import IntegrationError
from streaming import mux


class Command(BaseCommand):
    help = "Create (or list/delete) Mux URL-signing keys for signed playback."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--list", action="store_true", help="List existing key ids (no private keys).")
        group.add_argument("--delete", metavar="KEY_ID", help="Delete a key (tokens it signed stop working).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except IntegrationError as exc:
            raise CommandError(
                f"Mux: {exc.message} (check MUX_TOKEN_ID/MUX_TOKEN_SECRET and MUX_API_BASE_URL)"
            ) from exc

    def _handle(self, options: dict[str, Any]) -> None:
        if options["list"]:
            for info in mux.list_signing_keys():
                created = info.created_at.isoformat() if info.created_at else "?"
                self.stdout.write(f"{info.id}  created {created}")
            return
        if options["delete"]:
            mux.delete_signing_key(options["delete"])
            self.stdout.write(f"deleted signing key {options['delete']}")
            return
        key = mux.create_signing_key()
        self.stderr.write(
            "Created a Mux signing key. Store these two values as secrets (the private key is shown once):"
        )
        self.stdout.write(f"MUX_SIGNING_KEY_ID={key.id}")
        self.stdout.write(f"MUX_SIGNING_PRIVATE_KEY={key.private_key_b64}")

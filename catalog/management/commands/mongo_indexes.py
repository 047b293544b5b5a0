from typing import Any

from django.core.management.base import BaseCommand

from catalog.indexes import ensure_indexes


class Command(BaseCommand):
    help = "Create the MongoDB indexes declared next to each repository (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        names = ensure_indexes()
        for name in names:
            self.stdout.write(f"  {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(names)} MongoDB indexes in place."))

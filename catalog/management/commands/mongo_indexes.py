from typing import Any

from django.core.management.base import BaseCommand

from catalog.indexes import apply_declared_indexes
from learnstream import mongo


class Command(BaseCommand):
    help = (
        "Create the MongoDB indexes declared next to each repository and drop the ones they superseded "
        "(idempotent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with mongo.maintenance_deadline():  # an index build may take longer than a request's budget
            names, dropped = apply_declared_indexes()
        for name in names:
            self.stdout.write(f"  {name}")
        for name in dropped:
            self.stdout.write(f"  dropped superseded {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(names)} MongoDB indexes in place."))

from typing import Any

from django.core.management.base import BaseCommand

from catalog.indexes import apply_declared_indexes
from catalog.repositories.lessons import LessonRepository
from learnstream import mongo


class Command(BaseCommand):
    help = (
        "Create the MongoDB indexes declared next to each repository and drop the ones they superseded "
        "(idempotent), and backfill `mux_ids` on lessons written before it existed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with mongo.maintenance_deadline():  # an index build may take longer than a request's budget
            names, dropped = apply_declared_indexes()
            backfilled = LessonRepository().video_mux_ids_backfill()
        for name in names:
            self.stdout.write(f"  {name}")
        for name in dropped:
            self.stdout.write(f"  dropped superseded {name}")
        if backfilled:
            self.stdout.write(f"  gave {backfilled} lessons their mux_ids")
        self.stdout.write(self.style.SUCCESS(f"{len(names)} MongoDB indexes in place."))

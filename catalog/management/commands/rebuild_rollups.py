from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.repositories.base import is_object_id
from catalog.repositories.courses import CourseRepository
from catalog.services.rollups import rollups_rebuild
from learnstream import mongo


class Command(BaseCommand):
    help = (
        "Recompute the lesson rollups and the learners' last active hours behind course analytics from the "
        "progress documents (all courses, or those given with --course). Run it once after upgrading to "
        "the activity hours, after restoring progress from a backup, or if an update was lost to an "
        "outage; heartbeats landing while a course is rebuilt may be missed until the next rebuild, so "
        "prefer a quiet moment."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--course", action="append", default=[], help="a course id (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        course_ids: list[str] = options["course"]
        for course_id in course_ids:
            if not is_object_id(course_id):
                raise CommandError(f"not a course id: {course_id!r}")
        repo = CourseRepository()
        with mongo.maintenance_deadline():  # reads every progress document of a course
            ids = course_ids or repo.all_ids()
            for course_id in ids:
                course = repo.get(course_id=course_id)
                if course is None:
                    raise CommandError(f"no course {course_id}")
                rollups = rollups_rebuild(course=course)
                starts = sum(r["starts"] for r in rollups.values())
                self.stdout.write(f"  {course_id}: {len(rollups)} lessons, {starts} learner-lessons")
        self.stdout.write(self.style.SUCCESS(f"Rebuilt the rollups of {len(ids)} courses."))

"""Running the production task worker (`manage.py db_worker` of django-tasks-db) inside a test."""

from __future__ import annotations

import io

from django.core.management import call_command


def run_db_worker_once() -> None:
    """Run every task that is due now, as a deployed `db_worker` would, then return (`--batch`): the
    worker opens its own connections and commits, so callers need `django_db(transaction=True)`."""
    call_command(
        "db_worker",
        "--batch",
        "--no-startup-delay",
        "--interval",
        "0",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

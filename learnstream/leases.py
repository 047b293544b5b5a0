"""Durable background work: one PostgreSQL row per unit of work, tasks only as triggers.

The rule shared by the webhook inbox (`webhooks.services`) and the mail outbox (`learnstream.mail`):
- a worker *claims* a row in one conditional UPDATE ... RETURNING (its own short transaction), taking a
  lease and counting the attempt; it does the slow work (HTTP, SMTP) with no transaction open;
- it *records* the outcome in a second UPDATE that only applies while the lease is still its own;
- a failed attempt waits `backoff_delay` before the next; a crashed worker's lease lapses and the row is
  due again at the lease's expiry.

A leased model has the fields `status`, `attempts` (int), `next_attempt_at`, `lease_token` (UUID) and
`lease_expires_at` (nullable datetimes).
"""

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast

from django.db import connection, models
from django.utils import timezone

M = TypeVar("M", bound=models.Model)


def backoff_delay(*, attempts: int, base_seconds: int, max_seconds: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base, ... capped."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


def attempts_covering(*, horizon: timedelta, delay: Callable[[int], timedelta]) -> int:
    """How many attempts it takes for the waits between them to cover `horizon`."""
    waited, attempts = timedelta(0), 1
    while waited < horizon:
        waited += delay(attempts)
        attempts += 1
    return attempts


def lease_claim(
    *, model: type[M], pk: int, lease_seconds: int, done_status: str
) -> tuple[M, uuid.UUID] | None:
    """Take the row's lease unless it is done or another worker holds a live lease.

    PostgreSQL re-checks the WHERE clause of a concurrent UPDATE against the winner's committed row, so
    of two workers racing for one row exactly one gets it back. The attempt is counted here, so a worker
    that dies mid-work still uses up an attempt. `next_attempt_at` moves to the lease's expiry: if the
    worker dies, the replay command finds the row due again right then.
    """
    now = timezone.now()
    token = uuid.uuid4()
    expires = now + timedelta(seconds=lease_seconds)
    table = connection.ops.quote_name(model._meta.db_table)
    sql = (
        f"UPDATE {table} SET lease_token = %s, "  # noqa: S608  # nosec B608 - our table name; values bound
        "lease_expires_at = %s, next_attempt_at = %s, attempts = attempts + 1 "
        "WHERE id = %s AND status <> %s AND (lease_expires_at IS NULL OR lease_expires_at <= %s) "
        "RETURNING *"
    )
    token_field = cast(models.UUIDField, model._meta.get_field("lease_token"))
    at = connection.ops.adapt_datetimefield_value
    params = [
        token_field.get_db_prep_value(token, connection),
        at(expires),
        at(expires),
        pk,
        str(done_status),  # a plain string, never an enum member (psycopg would send its name)
        at(now),
    ]
    manager: Any = model._default_manager
    claimed = list(manager.raw(sql, params))
    return (claimed[0], token) if claimed else None


def lease_release(*, model: type[models.Model], pk: int, token: uuid.UUID, **fields: Any) -> bool:
    """Write the outcome and release the lease; False when the lease lapsed and another worker took
    over (then that worker's outcome wins)."""
    manager: Any = model._default_manager
    updated = manager.filter(pk=pk, lease_token=token).update(
        lease_token=None, lease_expires_at=None, **fields
    )
    return bool(updated)

"""Count store round trips of one request: PostgreSQL queries, MongoDB commands, Redis sends.

Used by tests/test_budgets.py (asserted) and bench/ (printed next to the throughput figures).
Counting happens at the drivers' boundaries (Django's execute wrapper, a pymongo CommandListener,
redis-py's packed-command send), never inside our code, and only in the thread that opened the
counter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pymongo import monitoring

_local = threading.local()


@dataclass
class RoundTrips:
    pg: int = 0
    mongo: int = 0
    redis: int = 0
    pg_sql: list[str] = field(default_factory=list)
    mongo_commands: list[str] = field(default_factory=list)
    redis_commands: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"pg": self.pg, "mongo": self.mongo, "redis": self.redis}

    def describe(self) -> str:
        return (
            f"PG {self.pg} {self.pg_sql}\nMongo {self.mongo} {self.mongo_commands}\n"
            f"Redis {self.redis} {self.redis_commands}"
        )


def _active() -> RoundTrips | None:
    return getattr(_local, "counter", None)


class _MongoListener(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        counter = _active()
        if counter is not None:
            counter.mongo += 1
            counter.mongo_commands.append(f"{event.command_name} {event.command.get(event.command_name, '')}")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Register the pymongo listener and wrap redis-py's send once per process.

    pymongo only attaches global listeners to clients created afterwards, so the app's client is
    closed here and lazily re-created with the listener on its next use.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        monitoring.register(_MongoListener())
        from learnstream import mongo

        mongo.close_client()

        from redis.connection import AbstractConnection

        original = AbstractConnection.send_packed_command

        def send_packed_command(self: Any, command: Any, check_health: bool = True) -> Any:
            counter = _active()
            if counter is not None:
                counter.redis += 1
                try:
                    first = command[0] if isinstance(command, list) else command
                    counter.redis_commands.append(bytes(first).split(b"\r\n")[2].decode(errors="replace"))
                except (IndexError, TypeError, ValueError):
                    counter.redis_commands.append("?")
            return original(self, command, check_health)

        AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
        _installed = True


@contextmanager
def count_round_trips() -> Iterator[RoundTrips]:
    from django.db import connection

    install()
    counter = RoundTrips()

    def execute_wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Savepoints are transaction control (and an artefact of the test transaction around
        # in-process requests), not data round trips we budget.
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            counter.pg += 1
            counter.pg_sql.append(sql.split(" WHERE ")[0][:90])
        return execute(sql, params, many, context)

    _local.counter = counter
    try:
        with connection.execute_wrapper(execute_wrapper):
            yield counter
    finally:
        _local.counter = None

"""Store round trips seen at the drivers' boundaries, for budgets and hot-path tests.

One pymongo CommandListener and one wrapper around redis-py's packed-command send serve every consumer:
- `count_round_trips()`: counts PostgreSQL queries, MongoDB commands and Redis sends of the current
  thread (tests/test_budgets.py asserts them; bench/ prints them);
- `command_recorder()`: the MongoDB commands of every thread while `recording()` is active, without the
  driver's own housekeeping commands;
- `redis_recorder()`: the Redis sends of the current thread while `recording()` is active, decoded as
  `[NAME, arg, ...]`.
Nothing inside the application is patched: pymongo's monitoring API, Django's execute wrapper and
redis-py's send boundary are the observation points.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from pymongo import monitoring
from redis.connection import AbstractConnection

from learnstream import mongo

# Driver-internal commands that are not application work.
_HOUSEKEEPING = frozenset({"endSessions", "hello", "isMaster", "ismaster", "ping", "killCursors"})

_local = threading.local()  # this thread's counter (`count_round_trips`) and Redis sends (`recording`)


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


def _counter() -> RoundTrips | None:
    return getattr(_local, "counter", None)


class MongoCommandRecorder:
    """Process-wide; records only while `recording()` is active (in any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = False
        self.commands: list[tuple[str, str]] = []
        self.documents: list[dict[str, Any]] = []  # the full command documents, same order

    def record(self, event: monitoring.CommandStartedEvent) -> None:
        if not self._active or event.command_name in _HOUSEKEEPING:
            return
        with self._lock:
            self.commands.append((event.command_name, str(event.command.get(event.command_name))))
            self.documents.append(dict(event.command))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, str]]]:
        with self._lock:
            self.commands = []
            self.documents = []
            self._active = True
        try:
            yield self.commands
        finally:
            self._active = False


class RedisCommandRecorder:
    """One entry per send (i.e. per round trip): the first command's `[NAME, key, ...]`, recorded only in
    the thread that is inside `recording()`."""

    @contextmanager
    def recording(self) -> Iterator[list[list[str]]]:
        sends: list[list[str]] = []
        _local.sends = sends
        try:
            yield sends
        finally:
            _local.sends = None


_mongo_recorder = MongoCommandRecorder()
_redis_recorder = RedisCommandRecorder()


class _MongoListener(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        counter = _counter()
        if counter is not None:
            counter.mongo += 1
            counter.mongo_commands.append(f"{event.command_name} {event.command.get(event.command_name, '')}")
        _mongo_recorder.record(event)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def resp_commands(packed: bytes) -> list[list[str]]:
    """Decode the RESP arrays of one send (a pipeline sends several): [[name, arg, ...], ...]."""
    commands: list[list[str]] = []
    pos = 0
    while pos < len(packed) and packed[pos : pos + 1] == b"*":
        end = packed.index(b"\r\n", pos)
        count, pos = int(packed[pos + 1 : end]), end + 2
        args: list[str] = []
        for _ in range(count):
            end = packed.index(b"\r\n", pos)
            length, pos = int(packed[pos + 1 : end]), end + 2
            args.append(packed[pos : pos + length].decode(errors="replace"))
            pos += length + 2
        commands.append(args)
    return commands


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Register the pymongo listener and wrap redis-py's send, once per process.

    pymongo only attaches global listeners to clients created afterwards, so the app's client is
    closed here and lazily re-created with the listener on its next use.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        monitoring.register(_MongoListener())
        mongo.close_client()
        original = AbstractConnection.send_packed_command

        def send_packed_command(conn: Any, command: Any, check_health: bool = True) -> Any:
            counter, sends = _counter(), getattr(_local, "sends", None)
            if counter is not None or sends is not None:
                packed = b"".join(bytes(c) for c in command) if isinstance(command, list) else bytes(command)
                decoded = resp_commands(packed)
                first = decoded[0] if decoded else ["?"]
                if counter is not None:
                    counter.redis += 1
                    counter.redis_commands.append(first[0] if first else "?")
                if sends is not None:
                    sends.append(first)
            return original(conn, command, check_health)

        AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
        _installed = True


def command_recorder() -> MongoCommandRecorder:
    install()
    return _mongo_recorder


def redis_recorder() -> RedisCommandRecorder:
    install()
    return _redis_recorder


@contextmanager
def count_round_trips() -> Iterator[RoundTrips]:
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

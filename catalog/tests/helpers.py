"""Small test helpers: pymongo and Redis command recorders (round-trip budgets) and error-envelope
assertions."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import monitoring

from learnstream import mongo

# Driver-internal commands that are not application work.
_IGNORED = frozenset({"endSessions", "hello", "isMaster", "ismaster", "ping", "killCursors"})


class MongoCommandRecorder(monitoring.CommandListener):
    """Registered once per process; records only while `recording()` is active."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = False
        self.commands: list[tuple[str, str]] = []
        self.documents: list[dict[str, Any]] = []  # the full command documents, same order

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self._active or event.command_name in _IGNORED:
            return
        target = event.command.get(event.command_name)
        with self._lock:
            self.commands.append((event.command_name, str(target)))
            self.documents.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

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


_recorder: MongoCommandRecorder | None = None


def command_recorder() -> MongoCommandRecorder:
    """The process-wide recorder; the current MongoClient is recreated so it carries the listener."""
    global _recorder
    if _recorder is None:
        _recorder = MongoCommandRecorder()
        monitoring.register(_recorder)
        mongo.close_client()
    return _recorder


def _resp_commands(packed: bytes) -> list[list[str]]:
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


class RedisCommandRecorder:
    """Records what redis-py sends, at its send boundary: one entry per send, i.e. per round trip, as
    the first command's `[NAME, key, ...]`. Installed once per process; records only in the thread that
    is inside `recording()`."""

    def __init__(self) -> None:
        self._local = threading.local()

    def install(self) -> None:
        from redis.connection import AbstractConnection

        original = AbstractConnection.send_packed_command
        recorder = self

        def send_packed_command(conn: Any, command: Any, check_health: bool = True) -> Any:
            sends = getattr(recorder._local, "sends", None)
            if sends is not None:
                packed = b"".join(bytes(c) for c in command) if isinstance(command, list) else bytes(command)
                decoded = _resp_commands(packed)
                sends.append(decoded[0] if decoded else ["?"])
            return original(conn, command, check_health)

        AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]

    @contextmanager
    def recording(self) -> Iterator[list[list[str]]]:
        sends: list[list[str]] = []
        self._local.sends = sends
        try:
            yield sends
        finally:
            self._local.sends = None


_redis_recorder: RedisCommandRecorder | None = None


def redis_recorder() -> RedisCommandRecorder:
    global _redis_recorder
    if _redis_recorder is None:
        _redis_recorder = RedisCommandRecorder()
        _redis_recorder.install()
    return _redis_recorder


def catalog_sends(sends: list[list[str]]) -> list[list[str]]:
    """The round trips that touch catalog keys, as `[NAME, key, ...]`: keys only (no values or options),
    without the cache's `ls:1:` prefix. Drops the rest, e.g. the token denylist lookup of authentication."""
    trips = []
    for name, *args in sends:
        keys = [a.split(":", 2)[2] for a in args if a.startswith("ls:")]
        if any(k.startswith("catalog:") for k in keys):
            trips.append([name, *keys])
    return trips


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]

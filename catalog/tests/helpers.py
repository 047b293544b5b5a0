"""Small test helpers: a pymongo command recorder (query budgets) and error-envelope assertions."""

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

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if not self._active or event.command_name in _IGNORED:
            return
        target = event.command.get(event.command_name)
        with self._lock:
            self.commands.append((event.command_name, str(target)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, str]]]:
        with self._lock:
            self.commands = []
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


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]

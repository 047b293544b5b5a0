"""Fixtures shared by tests/admin and tests/browser (imported by both conftests, so they do not leak
into the other suites under tests/)."""

import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from learnstream import mongo


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mongo_outage(settings: Any, mongo_db: Any) -> Callable[[], AbstractContextManager[None]]:
    """`with mongo_outage():` MongoDB unreachable for real — the client is re-created against a port
    nobody listens on (short timeout), then restored. Requires `mongo_db` so its teardown (dropping the
    test database) runs after the restore."""

    @contextmanager
    def outage() -> Iterator[None]:
        original_uri, original_timeout = settings.MONGO_URI, settings.MONGO_TIMEOUT_MS
        mongo.close_client()
        settings.MONGO_URI = f"mongodb://127.0.0.1:{_closed_port()}"
        settings.MONGO_TIMEOUT_MS = 300
        try:
            yield
        finally:
            mongo.close_client()
            settings.MONGO_URI, settings.MONGO_TIMEOUT_MS = original_uri, original_timeout

    return outage


@pytest.fixture
def mongo_down(mongo_outage: Callable[[], AbstractContextManager[None]]) -> Iterator[None]:
    """MongoDB unreachable for the whole test."""
    with mongo_outage():
        yield

"""One lazily created MongoClient per process.

PyMongo's MongoClient is not fork-safe, so the client is created on first use (after gunicorn forks)
and re-created if the process id changes. Every timeout is short: a dead MongoDB must turn into a quick
503, never a worker pinned for pymongo's 30 s default.
"""

import atexit
import os
import threading
from contextlib import AbstractContextManager
from typing import Any

import pymongo
from django.conf import settings
from pymongo import MongoClient
from pymongo.database import Database

_lock = threading.Lock()
_client: MongoClient[dict[str, Any]] | None = None
_client_pid: int | None = None


def client_options() -> dict[str, Any]:
    timeout_ms: int = settings.MONGO_TIMEOUT_MS
    return {
        "tz_aware": True,
        "serverSelectionTimeoutMS": timeout_ms,
        "connectTimeoutMS": timeout_ms,
        # One deadline per operation, server selection and the automatic retry included (client-side
        # operation timeout). A per-socket timeout is not enough: a retryable write against a hung
        # server waited it out twice.
        "timeoutMS": timeout_ms,
        # Retryable writes are left to MONGO_URI (pymongo's default: on, what a replica set wants). The
        # embedded SecantusDB's URIs turn them off (scripts/run.sh, bench/run.py): it keeps every
        # retryable write's reply for 30 minutes and, past 10,000 of them, sorts them all on every
        # write, so each write grew from ~3 to ~20 ms of its CPU, with nothing to fail over to on loopback.
        "appname": "learnstream",
    }


def get_client() -> MongoClient[dict[str, Any]]:
    global _client, _client_pid
    pid = os.getpid()
    if _client is not None and _client_pid == pid:
        return _client
    with _lock:
        if _client is None or _client_pid != pid:
            _client = MongoClient(settings.MONGO_URI, **client_options())
            _client_pid = pid
        return _client


def get_db() -> Database[dict[str, Any]]:
    return get_client()[settings.MONGO_DB]


def close_client() -> None:
    global _client, _client_pid
    with _lock:
        if _client is not None and _client_pid == os.getpid():
            _client.close()
        _client = None
        _client_pid = None


# Close the pool (ending server sessions) when the process exits normally.
atexit.register(close_client)


def maintenance_deadline(seconds: float = 600) -> AbstractContextManager[None]:
    """A longer deadline for operator commands (index builds on big collections), not for requests."""
    return pymongo.timeout(seconds)


def ping(timeout_ms: int = 1000) -> None:
    """Raise if MongoDB does not answer within `timeout_ms` (used by /readyz)."""
    with pymongo.timeout(timeout_ms / 1000):
        get_client().admin.command("ping")

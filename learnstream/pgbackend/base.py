"""Django's PostgreSQL backend with a client-side deadline on every wait for the server.

Server-side timeouts (statement, lock, idle-in-transaction; settings.py) stop slow queries, and TCP
keepalives / `tcp_user_timeout` detect a peer that vanished from the network. Neither helps when the
server's host still acknowledges packets but PostgreSQL does not answer (a stopped or wedged process):
libpq would wait forever and pin the web worker until gunicorn kills it. psycopg's `Connection.wait`
takes a timeout; this backend always passes one (`DATABASE_CLIENT_TIMEOUT_MS`), closes the connection
when it fires (its protocol state is unknown) and raises OperationalError, which the API maps to 503.
"""

import types
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base

_WAIT_INTERVAL = 0.1


class DeadlineConnection(psycopg.Connection[Any]):
    deadline_seconds: float | None = None

    def wait(self, gen: Any, interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> Any:
        if timeout is None:
            timeout = self.deadline_seconds
        try:
            return super().wait(gen, interval=interval, timeout=timeout)
        except psycopg.errors._WaitTimeout as exc:  # psycopg's own signal for an expired `timeout`
            self.pgconn.finish()
            raise psycopg.OperationalError(f"PostgreSQL did not answer within {timeout:.1f}s") from exc


class _PsycopgModule(types.ModuleType):
    """psycopg as Django's backend sees it, except that `connect` returns a DeadlineConnection."""

    def __getattr__(self, name: str) -> Any:
        return getattr(psycopg, name)


_database = _PsycopgModule("psycopg")
_database.connect = DeadlineConnection.connect  # type: ignore[attr-defined]


class DatabaseWrapper(base.DatabaseWrapper):
    Database = _database

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        timeout_ms: int = settings.DATABASE_CLIENT_TIMEOUT_MS
        if isinstance(connection, DeadlineConnection):
            connection.deadline_seconds = timeout_ms / 1000 if timeout_ms > 0 else None
        return connection

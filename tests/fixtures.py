"""Fixtures for the proof tests (schema fuzzing, authorization matrix, concurrency, faults).

A pytest plugin (listed in the root conftest's `pytest_plugins`) rather than tests/conftest.py, which
the admin/browser suites use. Names are prefixed `live_`/`proof_` so nothing here shadows a fixture
another suite relies on.

The live gunicorn shares this test session's PostgreSQL test database and Redis DB; it gets its own
MongoDB database name and its own Mux emulator (webhooks delivered to it over HTTP). The `live`
fixture points the in-process settings at the same database and emulator for the duration of a test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support import servers

LIVE_MONGO_DB = f"proof_live_{uuid.uuid4().hex[:8]}"


def _database_url(settings_dict: dict[str, Any]) -> str:
    user = quote(str(settings_dict.get("USER") or ""), safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{settings_dict['NAME']}"


@dataclass
class LiveMux:
    """A Mux emulator and the MUX_* settings that point an app at it."""

    server: Any  # streaming.emulator.MuxEmulator
    handle: Any  # tests.support.mux.MuxEmulatorHandle
    settings: dict[str, Any]

    def env(self) -> dict[str, str]:
        return {
            "MUX_API_BASE_URL": self.settings["MUX_API_BASE_URL"],
            "MUX_STREAM_BASE_URL": self.settings["MUX_STREAM_BASE_URL"],
            "MUX_IMAGE_BASE_URL": self.settings["MUX_IMAGE_BASE_URL"],
            "MUX_TOKEN_ID": self.settings["MUX_TOKEN_ID"],
            "MUX_TOKEN_SECRET": self.settings["MUX_TOKEN_SECRET"],
            "MUX_WEBHOOK_SECRET": ",".join(self.settings["MUX_WEBHOOK_SECRETS"]),
            "MUX_SIGNING_KEY_ID": self.settings["MUX_SIGNING_KEY_ID"],
            "MUX_SIGNING_PRIVATE_KEY": self.settings["MUX_SIGNING_PRIVATE_KEY"],
        }


def start_mux(webhook_url: str | None) -> LiveMux:
    """A Mux emulator in this process (background thread), delivering webhooks to `webhook_url`."""
    from django.test import override_settings

    from streaming import mux
    from streaming.emulator import EmulatorConfig, MuxEmulator
    from tests.support import mux as testing

    config = EmulatorConfig(
        token_id=testing.TEST_TOKEN_ID,
        token_secret=testing.TEST_TOKEN_SECRET,
        webhook_url=webhook_url,
        webhook_secrets=[testing.TEST_WEBHOOK_SECRET],
        ready_delay=0,
        webhook_max_attempts=3,
        webhook_retry_base_seconds=0.05,
        reuse_keys=True,
    )
    server = MuxEmulator(config).start()
    values: dict[str, Any] = {
        "MUX_API_BASE_URL": server.url,
        "MUX_STREAM_BASE_URL": f"{server.url}/stream",
        "MUX_IMAGE_BASE_URL": f"{server.url}/image",
        "MUX_TOKEN_ID": testing.TEST_TOKEN_ID,
        "MUX_TOKEN_SECRET": testing.TEST_TOKEN_SECRET,
        "MUX_WEBHOOK_SECRETS": [testing.TEST_WEBHOOK_SECRET],
    }
    with override_settings(**values):
        key = mux.create_signing_key()
    values.update(MUX_SIGNING_KEY_ID=key.id, MUX_SIGNING_PRIVATE_KEY=key.private_key_b64)
    handle = testing.MuxEmulatorHandle(
        server=server,
        url=server.url,
        token_id=testing.TEST_TOKEN_ID,
        token_secret=testing.TEST_TOKEN_SECRET,
        webhook_secret=testing.TEST_WEBHOOK_SECRET,
        signing_key_id=key.id,
        signing_private_key=key.private_key_b64,
    )
    return LiveMux(server=server, handle=handle, settings=values)


@pytest.fixture(scope="session")
def live_port() -> int:
    return servers.free_port()


@pytest.fixture(scope="session")
def live_mux(live_port: int) -> Iterator[LiveMux]:
    mux = start_mux(f"http://{servers.LOOPBACK}:{live_port}/webhooks/mux")
    try:
        yield mux
    finally:
        mux.server.stop()


@pytest.fixture(scope="session")
def live_env(django_db_setup: None, live_mux: LiveMux) -> dict[str, str]:
    """Environment of an app process that sees exactly the stores this test session uses."""
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("live tests need PostgreSQL (DATABASE_URL); run through scripts/services.sh")
    overrides = {
        "DJANGO_ENV": "test",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "MONGO_URI": settings.MONGO_URI,
        "MONGO_DB": LIVE_MONGO_DB,
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "WARNING",
        # The proof tests check immediate reuse detection; the default 15 s grace window has its own
        # tests (accounts/tests/test_token_storage.py).
        "JWT_REFRESH_GRACE_SECONDS": "0",
        **live_mux.env(),
    }
    return servers.app_env(overrides)


@pytest.fixture(scope="session")
def live_server_proc(
    live_env: dict[str, str], live_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[servers.Managed]:
    """One gunicorn (the committed gunicorn.conf.py, 3 gthread workers x 4 threads) per session.

    Depends on django_db_setup through live_env, so it stops before the test database is dropped.
    """
    workdir = tmp_path_factory.mktemp("live")
    proc = servers.start_gunicorn(live_env, workdir, workers=3, threads=4, port=live_port)
    yield proc
    proc.stop()


@dataclass
class Live:
    base_url: str
    proc: servers.Managed
    mux: Any  # tests.support.mux.MuxEmulatorHandle (webhooks delivered to the live server)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def request(self, method: str, path: str, **kwargs: Any) -> servers.HttpResult:
        return servers.http_request(method, self.url(path), **kwargs)


@pytest.fixture
def live(
    live_server_proc: servers.Managed,
    live_mux: LiveMux,
    transactional_db: None,
    settings: Any,
    mongo_db: Any,
) -> Iterator[Live]:
    """The live server with committed PostgreSQL data (transactional_db) and a clean live Mongo DB.

    The in-process settings point at the same Mongo database and Mux emulator, so a test can sign
    webhooks and inspect the stores exactly as the server sees them.
    """
    from catalog.indexes import ensure_indexes
    from learnstream import mongo

    original = settings.MONGO_DB
    settings.MONGO_DB = LIVE_MONGO_DB
    for name, value in live_mux.settings.items():
        setattr(settings, name, value)
    mongo.get_client().drop_database(LIVE_MONGO_DB)
    ensure_indexes()
    live_mux.handle.clear_faults()
    try:
        yield Live(
            base_url=f"http://{servers.LOOPBACK}:{live_server_proc.port}",
            proc=live_server_proc,
            mux=live_mux.handle,
        )
    finally:
        mongo.get_client().drop_database(LIVE_MONGO_DB)
        settings.MONGO_DB = original


@pytest.fixture(scope="session")
def proof_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proof")

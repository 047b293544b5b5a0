"""Pytest fixtures for the Stripe emulator (registered from the root conftest via `pytest_plugins`).

The emulator runs as a real separate process (`python -m commerce.emulator`), started once per test
session; `stripe_emulator` resets it for each test, points the app's STRIPE_* settings at it and yields a
`StripeEmulatorHandle` that drives `/_control/` over HTTP. The app talks to it with the unmodified
`stripe` SDK.

Webhooks: by default events are recorded, not sent; a test posts them itself with
`handle.post_event(client, event)` (the emulator's own fresh signature, or a forged/stale one), so it
decides order and duplication. `handle.set_webhook_url(url)` makes the emulator deliver them itself.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.control import control_call
from tests.support.servers import ROOT, Managed, _spawn, free_port, temp_workdir, wait_for_port

TEST_API_KEY = "sk_test_learnstream_emulator_key"
TEST_WEBHOOK_SECRET = "whsec_test_learnstream_0123456789"
WEBHOOK_ATTEMPTS = 3  # per event, in delivery mode (retries after 0.05 s, 0.1 s)


@dataclass
class StripeEmulatorHandle:
    url: str
    api_key: str
    webhook_secret: str

    def control(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        return control_call(self.url, method, path, payload)

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "state")
        return result

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.state()["checkout_sessions"])

    def pay(
        self, session_id: str, *, amount: int | None = None, currency: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if amount is not None:
            body["amount"] = amount
        if currency is not None:
            body["currency"] = currency
        result: dict[str, Any] = self.control("POST", f"checkout/sessions/{session_id}/pay", body)
        return result

    def expire(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", f"checkout/sessions/{session_id}/expire", {})
        return result

    def dispute(self, payment_intent: str) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", "disputes", {"payment_intent": payment_intent})
        return result

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control("GET", "events")
        return [e for e in found if event_type is None or e["type"] == event_type]

    def event(self, event_type: str) -> dict[str, Any]:
        found = self.events(event_type)
        assert len(found) == 1, f"expected one {event_type}, got {len(found)}"
        return found[0]

    def fault(self, *, status: int | None = None, delay: float = 0.0, count: int = 1) -> None:
        self.control("POST", "faults", {"status": status, "delay": delay, "count": count})

    def requests(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control("GET", "requests")
        return found

    def set_webhook_url(self, url: str | None) -> None:
        self.control("POST", "webhook", {"url": url})

    def deliveries(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control("GET", "deliveries")
        return found

    def wait_for_deliveries(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll until at least `count` delivery attempts were made (retries included)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.deliveries()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def redeliver(self, event_id: str) -> bool:
        return bool(self.control("POST", f"events/{event_id}/redeliver", {})["delivered"])

    def post_event(self, client: Any, event: dict[str, Any], *, signature: str | None = None) -> Any:
        """POST the event's exact body to /webhooks/stripe with Stripe's header (the emulator's fresh
        signature unless `signature` is given)."""
        return client.post(
            "/webhooks/stripe",
            data=event["payload"].encode(),
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature if signature is not None else event["signature"],
        )


@pytest.fixture(scope="session")
def stripe_emulator_process() -> Iterator[Managed]:
    with temp_workdir("stripe-emulator-") as workdir:
        port = free_port()
        cmd = [sys.executable, "-m", "commerce.emulator", "--port", str(port), "--api-key", TEST_API_KEY,
               "--webhook-secret", TEST_WEBHOOK_SECRET, "--webhook-attempts", str(WEBHOOK_ATTEMPTS),
               "--webhook-retry-seconds", "0.05"]  # fmt: skip
        log_path = workdir / "stripe-emulator.log"
        managed = Managed(
            "stripe-emulator", port, _spawn(cmd, env=None, log_path=log_path, cwd=ROOT), log_path
        )
        managed.cmd = cmd
        try:
            wait_for_port(port, timeout=30, proc=managed.proc)
            yield managed
        finally:
            managed.stop()


@pytest.fixture
def stripe_emulator(stripe_emulator_process: Managed, settings: Any) -> StripeEmulatorHandle:
    """The emulator, reset, with the app's STRIPE_* settings pointing at it."""
    handle = StripeEmulatorHandle(
        url=f"http://127.0.0.1:{stripe_emulator_process.port}",
        api_key=TEST_API_KEY,
        webhook_secret=TEST_WEBHOOK_SECRET,
    )
    handle.control("POST", "reset", {})
    settings.STRIPE_SECRET_KEY = TEST_API_KEY
    settings.STRIPE_API_BASE = handle.url
    settings.STRIPE_WEBHOOK_SECRETS = [TEST_WEBHOOK_SECRET]
    settings.STRIPE_REQUEST_TIMEOUT_SECONDS = 2.0
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    settings.CHECKOUT_REDIRECT_ORIGINS = ["https://learn.example.com"]
    return handle

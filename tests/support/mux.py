"""Pytest fixtures for the Mux emulator (registered from the root conftest via `pytest_plugins`).

`mux_emulator` starts a fresh emulator on a free loopback port in a background thread, points the
`MUX_*` settings at it (API, stream and image hosts, credentials, webhook secret, a signing key issued
by the emulator through `streaming.mux`), and yields a `MuxEmulatorHandle`. The app talks to it over
real HTTP with the unmodified mux-python client; the handle talks to `/_control/` over HTTP too.

Webhooks, two ways:
- capture mode (the default, `webhook_url` unset): events are recorded, not sent; a test posts them
  itself with `handle.post_event(client, event)` (fresh valid signature, or a forged/stale one);
- delivery mode: `handle.set_webhook_url(live_server.url + "/webhooks/mux")`, then
  `handle.flush_webhooks()` blocks until every delivery (including retries) has finished.
Assets stay `preparing` until `handle.make_ready(asset_id)` (ready delay 0), so tests are deterministic.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from streaming.emulator import EmulatorConfig, MuxEmulator, signature_header
from streaming.emulator.server import CONTROL_TOKEN_HEADER
from tests.support.control import control_call

TEST_TOKEN_ID = "test-mux-token-id"
TEST_TOKEN_SECRET = "test-mux-token-secret"
TEST_WEBHOOK_SECRET = "test-mux-webhook-secret-0123456789"


@dataclass
class MuxEmulatorHandle:
    """Test helpers wrapping the emulator's `/_control/` API (see docs/emulator.md)."""

    server: MuxEmulator
    url: str
    token_id: str
    token_secret: str
    webhook_secret: str
    signing_key_id: str
    signing_private_key: str  # base64 PEM, as Mux returns it
    control_token: str | None = None  # sent as X-Control-Token when the emulator requires one

    # --- raw access -------------------------------------------------------------------------------------

    def control(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        """Call `/_control/<path>`; raises AssertionError on a non-2xx answer."""
        headers = {CONTROL_TOKEN_HEADER: self.control_token} if self.control_token else None
        return control_call(self.url, method, path, payload, headers=headers)

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "state")
        return result

    def reset(self) -> None:
        self.control("POST", "reset", {})

    # --- assets and uploads ----------------------------------------------------------------------------

    def upload_bytes(self, upload_url: str, data: bytes, *, content_type: str = "video/mp4") -> int:
        """PUT `data` to a direct-upload URL like a browser would; returns the HTTP status."""
        request = urllib.request.Request(upload_url, data=data, method="PUT")  # noqa: S310
        request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310 - test upload URL
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def uploads(self) -> list[dict[str, Any]]:
        return list(self.state()["uploads"])

    def assets(self) -> list[dict[str, Any]]:
        return list(self.state()["assets"])

    def asset_for_upload(self, upload_id: str) -> dict[str, Any]:
        found = [a for a in self.assets() if a.get("upload_id") == upload_id]
        assert found, f"no asset for upload {upload_id}"
        return found[0]

    def make_ready(
        self, asset_id: str, *, duration: float | None = None, aspect_ratio: str | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        if duration is not None:
            payload["duration"] = duration
        if aspect_ratio is not None:
            payload["aspect_ratio"] = aspect_ratio
        result: dict[str, Any] = self.control("POST", f"assets/{asset_id}/ready", payload)["data"]
        return result

    def make_errored(
        self, asset_id: str, *, error_type: str = "invalid_input", messages: list[str] | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"type": error_type}
        if messages is not None:
            payload["messages"] = messages
        result: dict[str, Any] = self.control("POST", f"assets/{asset_id}/errored", payload)["data"]
        return result

    def set_ready_delay(self, seconds: float) -> None:
        self.control("POST", "config", {"ready_delay": seconds})

    # --- API fault injection ----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        count: int = 1,
        *,
        retry_after: int | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """The next `count` matching Mux API calls answer `status` (e.g. 429, 500) with Mux's envelope."""
        self.control(
            "POST",
            "faults",
            {
                "status": status,
                "count": count,
                "retry_after": retry_after,
                "method": method,
                "path_prefix": path_prefix,
            },
        )

    def slow_next(
        self, delay: float, count: int = 1, *, method: str | None = None, path_prefix: str | None = None
    ) -> None:
        """The next `count` matching API calls answer normally, but only after `delay` seconds."""
        self.control(
            "POST", "faults", {"delay": delay, "count": count, "method": method, "path_prefix": path_prefix}
        )

    def pending_faults(self) -> list[dict[str, Any]]:
        """The injected faults no call has consumed yet (a delayed call consumes its rule on arrival)."""
        return list(self.control("GET", "faults")["faults"])

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def requests(self) -> list[dict[str, Any]]:
        """Every Mux API call the emulator received: `{method, path, status, at}`."""
        return list(self.control("GET", "requests")["requests"])

    # --- webhooks ---------------------------------------------------------------------------------------

    def set_webhook_url(self, url: str | None) -> None:
        """Deliver events to `url` from now on (None: capture only)."""
        self.control("POST", "config", {"webhook_url": url})

    def set_webhook_secrets(self, secrets: list[str]) -> None:
        """Sign with these secrets (one `v1=` per secret, in order)."""
        self.control("POST", "config", {"webhook_secrets": secrets})

    def webhook_faults(
        self, *, duplicate: int = 0, stale: int = 0, wrong_secret: int = 0, stale_seconds: int | None = None
    ) -> None:
        """Apply to the next N emitted events: deliver twice / sign with an old `t` / sign wrongly."""
        payload: dict[str, Any] = {"duplicate": duplicate, "stale": stale, "wrong_secret": wrong_secret}
        if stale_seconds is not None:
            payload["stale_seconds"] = stale_seconds
        self.control("POST", "webhooks/faults", payload)

    def hold_webhooks(self) -> None:
        self.control("POST", "webhooks/hold", {})

    def release_webhooks(self, *, order: str = "original") -> int:
        """Deliver held events, in `original` or `reversed` order; returns how many were released."""
        return int(self.control("POST", "webhooks/release", {"order": order})["released"])

    def flush_webhooks(self, timeout: float = 15.0) -> None:
        """Block until no delivery is queued, running or scheduled for retry."""
        result = self.control("POST", "webhooks/flush", {"timeout": timeout})
        assert result["drained"], f"webhook deliveries still pending after {timeout}s: {result}"

    def flush(self, timeout: float = 15.0) -> None:
        """Block until background work (URL downloads, text tracks) and then webhook deliveries are done."""
        result = self.control("POST", "flush", {"timeout": timeout})
        assert result["drained"], f"emulator work still pending after {timeout}s: {result}"

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery attempt: `{event_id, type, attempt, status, error, fault, duplicate, ...}`."""
        return list(self.control("GET", "webhooks/deliveries")["deliveries"])

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Emitted events, oldest first: `{id, type, created_at, payload, body}` (`body` = exact JSON)."""
        events = self.control("GET", "webhooks/events")["events"]
        return [e for e in events if event_type is None or e["type"] == event_type]

    def emit_event(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        object_type: str = "asset",
        object_id: str | None = None,
    ) -> dict[str, Any]:
        """Emit an arbitrary (e.g. unknown-type) event through the normal signing/delivery path."""
        result: dict[str, Any] = self.control(
            "POST",
            "webhooks/events",
            {"type": event_type, "data": data, "object": {"type": object_type, "id": object_id}},
        )
        return result

    def redeliver(self, event_id: str) -> None:
        self.control("POST", f"webhooks/events/{event_id}/redeliver", {})

    def signature(
        self, body: bytes, *, timestamp: int | None = None, secrets: list[str] | None = None
    ) -> str:
        """A `Mux-Signature` header value for `body` (now, with the configured secret by default)."""
        return signature_header(
            body,
            secrets=secrets if secrets is not None else [self.webhook_secret],
            timestamp=int(time.time()) if timestamp is None else timestamp,
        )

    def post_event(
        self,
        client: Any,
        event: dict[str, Any],
        *,
        path: str = "/webhooks/mux",
        timestamp: int | None = None,
        secrets: list[str] | None = None,
    ) -> Any:
        """POST a captured event's exact body to the app with a fresh signature via a Django test client."""
        body = event["body"].encode()
        return client.generic(
            "POST",
            path,
            body,
            content_type="application/json",
            HTTP_MUX_SIGNATURE=self.signature(body, timestamp=timestamp, secrets=secrets),
        )


@pytest.fixture
def mux_emulator(settings: Any) -> Iterator[MuxEmulatorHandle]:
    """A fresh Mux emulator for one test, with the app's MUX_* settings pointing at it."""
    from streaming import mux

    config = EmulatorConfig(
        token_id=TEST_TOKEN_ID,
        token_secret=TEST_TOKEN_SECRET,
        webhook_url=None,
        webhook_secrets=[TEST_WEBHOOK_SECRET],
        ready_delay=0,
        webhook_max_attempts=3,
        webhook_retry_base_seconds=0.05,
        reuse_keys=True,
    )
    server = MuxEmulator(config).start()
    try:
        settings.MUX_API_BASE_URL = server.url
        settings.MUX_STREAM_BASE_URL = f"{server.url}/stream"
        settings.MUX_IMAGE_BASE_URL = f"{server.url}/image"
        settings.MUX_TOKEN_ID = TEST_TOKEN_ID
        settings.MUX_TOKEN_SECRET = TEST_TOKEN_SECRET
        settings.MUX_WEBHOOK_SECRETS = [TEST_WEBHOOK_SECRET]
        key = mux.create_signing_key()
        settings.MUX_SIGNING_KEY_ID = key.id
        settings.MUX_SIGNING_PRIVATE_KEY = key.private_key_b64
        handle = MuxEmulatorHandle(
            server=server,
            url=server.url,
            token_id=TEST_TOKEN_ID,
            token_secret=TEST_TOKEN_SECRET,
            webhook_secret=TEST_WEBHOOK_SECRET,
            signing_key_id=key.id,
            signing_private_key=key.private_key_b64,
        )
        handle.control("DELETE", "requests")  # tests count their own API calls only
        yield handle
    finally:
        server.stop()

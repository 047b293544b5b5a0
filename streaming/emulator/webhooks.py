"""Signed webhook events and their delivery.

Every event gets a unique `id`, an ISO `created_at` that strictly increases, and the §2.3 envelope. The
body bytes are fixed when the event is emitted; every attempt re-signs them with the current time:
`Mux-Signature: t=<unix>,v1=<hex hmac_sha256(secret, f"{t}." + body)>` (one `v1` per configured secret).

Delivery is at-least-once, one request at a time, in enqueue order, from a background thread. A non-2xx
answer or a connection error is retried with exponential backoff up to `max_attempts` (Mux retries for
24 h; we bound it so tests and dev stay finite). Test faults, each applying to the next N events:
duplicate (same id and body delivered twice), stale timestamp, wrong secret; plus hold/release to
deliver a batch in reversed order. Deliberately broken attempts (stale, wrong secret) are not retried:
a retry would be a correct delivery and hide what the test wants to observe.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from streaming.emulator.scheduler import Scheduler

logger = logging.getLogger(__name__)

ATTEMPT_TIMEOUT_SECONDS = 5.0  # Mux: "a single request attempt will timeout after 5 seconds"
WRONG_SECRET = "not-the-configured-secret"  # noqa: S105 - deliberately wrong, for forgery tests
ENVIRONMENT = {"id": "emulator", "name": "Mux emulator"}


def sign(body: bytes, *, secret: str, timestamp: int) -> str:
    """The v1 signature of Mux's documented format (lowercase hex HMAC-SHA256 over `f"{t}." + body`)."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, *, secrets: list[str], timestamp: int) -> str:
    parts = [f"t={timestamp}"] + [f"v1={sign(body, secret=s, timestamp=timestamp)}" for s in secrets]
    return ",".join(parts)


@dataclass
class Event:
    id: str
    type: str
    created_at: str
    body: bytes

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "created_at": self.created_at,
            "payload": json.loads(self.body),
        }


@dataclass
class _Delivery:
    event: Event
    attempt: int = 1
    fault: str | None = None  # "stale" | "wrong_secret"
    duplicate: bool = False


@dataclass
class WebhookConfig:
    url: str | None = None
    secrets: list[str] = field(default_factory=list)
    max_attempts: int = 8
    retry_base_seconds: float = 1.0
    stale_seconds: int = 600


class WebhookDispatcher:
    def __init__(self, config: WebhookConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._scheduler = Scheduler("mux-emulator-webhooks")
        self._events: list[Event] = []
        self._deliveries: list[dict[str, Any]] = []
        self._held: list[_Delivery] = []
        self._holding = False
        self._faults: dict[str, int] = {"duplicate": 0, "stale": 0, "wrong_secret": 0}
        self._last_created = 0.0

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        self._scheduler.stop()

    # --- emitting ---------------------------------------------------------------------------------------

    def emit(self, event_type: str, *, object_type: str, object_id: str, data: dict[str, Any]) -> Event:
        with self._lock:
            now = max(self._clock(), self._last_created + 1e-6)  # strictly increasing, for ordering tests
            self._last_created = now
            created_at = datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            event_id = str(uuid.uuid4())
            envelope: dict[str, Any] = {
                "type": event_type,
                "id": event_id,
                "created_at": created_at,
                "object": {"type": object_type, "id": object_id},
                "environment": ENVIRONMENT,
                "data": data,
                "attempts": [],
                "accessor": None,
                "accessor_source": None,
                "request_id": None,
            }
            event = Event(
                id=event_id, type=event_type, created_at=created_at, body=json.dumps(envelope).encode()
            )
            self._events.append(event)
            deliveries = [_Delivery(event, fault=self._take_fault())]
            if self._faults["duplicate"] > 0:
                self._faults["duplicate"] -= 1
                deliveries.append(_Delivery(event, duplicate=True))
            if self.config.url is None:
                return event  # capture mode: recorded, never sent
            if self._holding:
                self._held.extend(deliveries)
                return event
        for delivery in deliveries:
            self._enqueue(delivery)
        return event

    def _enqueue(self, delivery: _Delivery, delay: float = 0.0) -> None:
        self._scheduler.call_later(delay, lambda: self._attempt(delivery))

    def redeliver(self, event_id: str) -> bool:
        event = self.event(event_id)
        if event is None:
            return False
        self._enqueue(_Delivery(event, duplicate=True))
        return True

    def _take_fault(self) -> str | None:
        for name in ("stale", "wrong_secret"):
            if self._faults[name] > 0:
                self._faults[name] -= 1
                return name
        return None

    # --- faults and control ---------------------------------------------------------------------------

    def add_faults(self, *, duplicate: int = 0, stale: int = 0, wrong_secret: int = 0) -> dict[str, int]:
        with self._lock:
            self._faults["duplicate"] += max(duplicate, 0)
            self._faults["stale"] += max(stale, 0)
            self._faults["wrong_secret"] += max(wrong_secret, 0)
            return dict(self._faults)

    def hold(self) -> None:
        with self._lock:
            self._holding = True

    def release(self, *, reverse: bool) -> int:
        with self._lock:
            held, self._held, self._holding = self._held, [], False
        if reverse:
            held.reverse()
        for delivery in held:
            self._enqueue(delivery)
        return len(held)

    def flush(self, timeout: float) -> bool:
        return self._scheduler.wait_idle(timeout)

    def reset(self) -> None:
        self._scheduler.clear()
        with self._lock:
            self._events.clear()
            self._deliveries.clear()
            self._held.clear()
            self._holding = False
            self._faults = {"duplicate": 0, "stale": 0, "wrong_secret": 0}

    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def event(self, event_id: str) -> Event | None:
        with self._lock:
            return next((e for e in self._events if e.id == event_id), None)

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d) for d in self._deliveries]

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "holding": self._holding,
                "held": len(self._held),
                "pending": self._scheduler.pending(),
                "faults": dict(self._faults),
            }

    # --- delivering -------------------------------------------------------------------------------------

    def _attempt(self, delivery: _Delivery) -> None:
        url = self.config.url
        if url is None:
            return
        timestamp = int(self._clock())
        secrets = list(self.config.secrets)
        if delivery.fault == "stale":
            timestamp -= self.config.stale_seconds
        elif delivery.fault == "wrong_secret":
            secrets = [WRONG_SECRET]
        header = signature_header(delivery.event.body, secrets=secrets, timestamp=timestamp)
        status: int | None = None
        error: str | None = None
        response_body = ""
        try:
            status, response_body = _post(url, delivery.event.body, header)
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        retry_in: float | None = None
        if not ok and delivery.fault is None and delivery.attempt < self.config.max_attempts:
            retry_in = self.config.retry_base_seconds * 2 ** (delivery.attempt - 1)
        with self._lock:
            self._deliveries.append(
                {
                    "event_id": delivery.event.id,
                    "type": delivery.event.type,
                    "attempt": delivery.attempt,
                    "url": url,
                    "status": status,
                    "error": error,
                    "response_body": response_body,
                    "signature": header,
                    "timestamp": timestamp,
                    "fault": delivery.fault,
                    "duplicate": delivery.duplicate,
                    "retry_in": retry_in,
                    "delivered_at": time.time(),
                }
            )
        if not ok:
            logger.info(
                "webhook %s %s attempt %d -> %s", delivery.event.type, delivery.event.id, delivery.attempt,
                status or error,
            )  # fmt: skip
        if retry_in is not None:
            delivery.attempt += 1
            self._enqueue(delivery, retry_in)


def _post(url: str, body: bytes, signature: str) -> tuple[int, str]:
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    host = parts.hostname or "127.0.0.1"
    connection = connection_class(host, parts.port, timeout=ATTEMPT_TIMEOUT_SECONDS)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "Mux-Signature": signature,
                "User-Agent": "Mux Webhooks (emulator)",
            },
        )
        response = connection.getresponse()
        return response.status, response.read(2000).decode("utf-8", "replace")
    finally:
        connection.close()

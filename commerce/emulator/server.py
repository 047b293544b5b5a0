"""The emulator's HTTP face: Stripe's REST API under `/v1/`, the hosted checkout page under `/c/pay/`,
signed webhook deliveries, and `/_control/` for tests and demos. stdlib only, loopback only.
See docs/commerce.md for every endpoint."""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import queue
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from commerce.emulator.signing import signature_header
from commerce.emulator.state import Event, StripeError, StripeState, missing

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
DELIVERY_TIMEOUT_SECONDS = 10
STRIPE_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[order_id]=1&line_items[0][quantity]=1`) → nested dicts/lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        if not parts:
            continue
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise StripeError(400, f"Invalid parameter {key!r}.", param=key)
        node[parts[-1]] = value
    return _listify(root)


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


@dataclass
class Fault:
    """The next `count` API calls under `path_prefix` wait `delay` seconds, then fail with `status`."""

    count: int
    status: int | None = None
    delay: float = 0.0
    path_prefix: str = "/v1/"


@dataclass
class Idempotent:
    fingerprint: str
    status: int
    body: Any


@dataclass
class StripeEmulator:
    """`StripeEmulator(api_key=..., webhook_secrets=[...]).start()`; `stop()` ends it."""

    api_key: str
    webhook_secrets: list[str]
    webhook_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    webhook_max_attempts: int = 5
    webhook_retry_seconds: float = 0.5
    state: StripeState = field(default_factory=StripeState)
    faults: list[Fault] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    idempotent: dict[str, Idempotent] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    outbox: queue.Queue[tuple[Event, int]] = field(default_factory=queue.Queue)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if not is_loopback(self.host):
            raise ValueError(f"the Stripe emulator only listens on loopback, not {self.host!r}")
        self._server: ThreadingHTTPServer | None = None
        self.state.on_event = self._queue_delivery

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> StripeEmulator:
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        self.state.public_url = self.url
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        threading.Thread(target=self._deliver_loop, daemon=True).start()
        logger.info("Stripe emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- faults and idempotency ---------------------------------------------------------------------
    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    # --- webhooks ------------------------------------------------------------------------------------
    def _queue_delivery(self, event: Event) -> None:
        if self.webhook_url:
            self.outbox.put((event, 1))

    def _deliver_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                event, attempt = self.outbox.get(timeout=0.2)
            except queue.Empty:
                continue
            ok = self.deliver(event, attempt=attempt)
            if not ok and attempt < self.webhook_max_attempts:
                delay = self.webhook_retry_seconds * 2 ** (attempt - 1)
                timer = threading.Timer(delay, self.outbox.put, args=((event, attempt + 1),))
                timer.daemon = True
                timer.start()

    def deliver(self, event: Event, *, attempt: int = 1) -> bool:
        """POST one event to the endpoint, signed now (as Stripe signs each attempt afresh)."""
        url = self.webhook_url
        if not url:
            return False
        request = urllib.request.Request(url, data=event.payload.encode(), method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("User-Agent", STRIPE_USER_AGENT)
        request.add_header(
            "Stripe-Signature", signature_header(secrets=self.webhook_secrets, payload=event.payload)
        )
        status = 0
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310 - configured endpoint
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError as exc:
            logger.info("webhook %s to %s failed: %s", event.id, url, exc)
        with self.lock:
            self.deliveries.append(
                {"event_id": event.id, "type": event.type, "attempt": attempt, "status": status}
            )
        return 200 <= status < 300


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2).encode()


_ID = r"([A-Za-z0-9_]+)"
API_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/v1/checkout/sessions"), "session_create"),
    ("GET", re.compile(rf"/v1/checkout/sessions/{_ID}"), "session_get"),
    ("POST", re.compile(rf"/v1/checkout/sessions/{_ID}/expire"), "session_expire"),
    ("GET", re.compile(rf"/v1/payment_intents/{_ID}"), "intent_get"),
    ("POST", re.compile(r"/v1/refunds"), "refund_create"),
]
CONTROL_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"/_control/state"), "c_state"),
    ("POST", re.compile(r"/_control/reset"), "c_reset"),
    ("POST", re.compile(rf"/_control/checkout/sessions/{_ID}/pay"), "c_pay"),
    ("POST", re.compile(rf"/_control/checkout/sessions/{_ID}/expire"), "c_expire"),
    ("POST", re.compile(r"/_control/disputes"), "c_dispute"),
    ("GET", re.compile(r"/_control/events"), "c_events"),
    ("POST", re.compile(rf"/_control/events/{_ID}/redeliver"), "c_redeliver"),
    ("POST", re.compile(r"/_control/webhook"), "c_webhook"),
    ("GET", re.compile(r"/_control/deliveries"), "c_deliveries"),
    ("POST", re.compile(r"/_control/faults"), "c_fault"),
    ("DELETE", re.compile(r"/_control/faults"), "c_faults_clear"),
    ("GET", re.compile(r"/_control/requests"), "c_requests"),
]
PAGE_RE = re.compile(rf"/c/pay/{_ID}")


def _route(
    routes: list[tuple[str, re.Pattern[str], str]], method: str, path: str
) -> tuple[str, tuple[str, ...]]:
    for route_method, pattern, name in routes:
        found = pattern.fullmatch(path)
        if found and route_method == method:
            return name, found.groups()
    raise missing("route", "")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StripeEmulator/1"
    timeout = 30

    @property
    def emu(self) -> StripeEmulator:
        return self.server.emulator  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._send(
            status,
            _json(value),
            "application/json",
            {"Request-Id": f"req_{time.time_ns()}", **(headers or {})},
        )

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise StripeError(413, "Request body too large.")
        return self.rfile.read(length).decode("utf-8", "replace") if length > 0 else ""

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path.startswith("/v1/"):
                self._api(method, path)
            elif path.startswith("/_control/"):
                self._control(method, path)
            elif PAGE_RE.fullmatch(path) and method in ("GET", "POST"):
                self._page(method, PAGE_RE.fullmatch(path).group(1))  # type: ignore[union-attr]
            else:
                self._send_json(404, missing("route", "").body)
        except StripeError as exc:
            self._send_json(exc.status, exc.body)
        except (ValueError, TypeError) as exc:
            self._send_json(400, StripeError(400, f"Invalid request: {exc}").body)

    # --- /v1/ ----------------------------------------------------------------------------------------
    def _api(self, method: str, path: str) -> None:
        body = self._body()
        fault = self.emu.take_fault(path)
        if fault is not None:
            time.sleep(fault.delay)
            if fault.status is not None:
                self._log(method, path, fault.status)
                self._send_json(
                    fault.status, StripeError(fault.status, "Injected fault.", type_="api_error").body
                )
                return
        auth = self.headers.get("Authorization", "")
        if auth != f"Bearer {self.emu.api_key}":
            self._log(method, path, 401)
            self._send_json(401, StripeError(401, "Invalid API Key provided.").body)
            return
        name, args = _route(API_ROUTES, method, path)
        params = decode_form(body) if method == "POST" else {}
        key = self.headers.get("Idempotency-Key") if method == "POST" else None
        fingerprint = f"{method} {path} {body}"
        if key:
            with self.emu.lock:
                seen = self.emu.idempotent.get(key)
            if seen is not None:
                if seen.fingerprint != fingerprint:
                    raise StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        "first used with.",
                        type_="idempotency_error",
                    )
                self._log(method, path, seen.status)
                self._send_json(seen.status, seen.body, {"Idempotent-Replayed": "true"})
                return
        state = self.emu.state
        try:
            result = {
                "session_create": lambda: state.session_create(params),
                "session_get": lambda: state.session_get(args[0]),
                "session_expire": lambda: state.session_expire(args[0]),
                "intent_get": lambda: state.intent_get(args[0]),
                "refund_create": lambda: state.refund_create(params),
            }[name]()
            status, answer = 200, result
        except StripeError as exc:
            status, answer = exc.status, exc.body
        if key and status < 500:
            with self.emu.lock:
                self.emu.idempotent.setdefault(key, Idempotent(fingerprint, status, answer))
        self._log(method, path, status)
        self._send_json(status, answer)

    def _log(self, method: str, path: str, status: int) -> None:
        with self.emu.lock:
            self.emu.requests.append({"method": method, "path": path, "status": status})

    # --- /_control/ ----------------------------------------------------------------------------------
    def _control(self, method: str, path: str) -> None:
        name, args = _route(CONTROL_ROUTES, method, path)
        raw = self._body()
        payload = json.loads(raw) if raw.strip() else {}
        if not isinstance(payload, dict):
            raise StripeError(400, "Control bodies are JSON objects.")
        emu, state = self.emu, self.emu.state
        result: Any
        if name == "c_state":
            result = state.snapshot()
        elif name == "c_reset":
            state.reset()
            with emu.lock:
                emu.faults.clear()
                emu.deliveries.clear()
                emu.requests.clear()
                emu.idempotent.clear()
            result = {}
        elif name == "c_pay":
            result = state.session_pay(
                args[0], amount=payload.get("amount"), currency=payload.get("currency")
            )
        elif name == "c_expire":
            result = state.session_expire(args[0])
        elif name == "c_dispute":
            result = state.dispute_create(payload)
        elif name == "c_events":
            # Each with a signature made now, so a test can post it as Stripe would.
            with state.lock:
                events = list(state.events)
            result = [
                {
                    "id": e.id,
                    "type": e.type,
                    "payload": e.payload,
                    "signature": signature_header(secrets=emu.webhook_secrets, payload=e.payload),
                }
                for e in events
            ]
        elif name == "c_redeliver":
            result = {"delivered": emu.deliver(state.event(args[0]))}
        elif name == "c_webhook":
            emu.webhook_url = payload.get("url") or None
            if payload.get("secrets"):
                emu.webhook_secrets = [str(s) for s in payload["secrets"]]
            result = {"url": emu.webhook_url}
        elif name == "c_deliveries":
            with emu.lock:
                result = list(emu.deliveries)
        elif name == "c_fault":
            fault = Fault(
                count=int(payload.get("count", 1)),
                status=payload.get("status"),
                delay=float(payload.get("delay", 0.0)),
                path_prefix=str(payload.get("path_prefix", "/v1/")),
            )
            with emu.lock:
                emu.faults.append(fault)
            result = fault.__dict__
        elif name == "c_faults_clear":
            with emu.lock:
                emu.faults.clear()
            result = {}
        else:  # c_requests
            with emu.lock:
                result = list(emu.requests)
        self._send_json(200, result)

    # --- the hosted checkout page ----------------------------------------------------------------------
    def _page(self, method: str, session_id: str) -> None:
        state = self.emu.state
        if method == "POST":
            self._body()
            try:
                state.session_pay(session_id)
            except StripeError as exc:
                if exc.status == 404:
                    raise
            self._send(
                303, b"", "text/plain", {"Location": state.session_redirect(session_id, cancelled=False)}
            )
            return
        session = state.session_get(session_id)
        amount = f"{session['amount_total'] / 100:.2f} {str(session['currency']).upper()}"
        cancel = html.escape(state.session_redirect(session_id, cancelled=True))
        if session["status"] == "open":
            action = (
                f'<form method="post"><button id="pay" type="submit">Pay {html.escape(amount)}</button>'
                "</form>"
                f'<p><a id="cancel" href="{cancel}">Cancel and return</a></p>'
            )
        else:
            action = f'<p id="status">This checkout is {html.escape(session["status"])}.</p>'
        page = (
            '<!doctype html><html><head><meta charset="utf-8">'
            "<title>Stripe Checkout (emulator)</title></head>"
            f'<body><h1>Checkout</h1><p id="amount">{html.escape(amount)}</p>'
            f"<p>Test mode: no card needed.</p>{action}</body></html>"
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

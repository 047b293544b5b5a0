"""A small, bounded load generator: N client threads, one phase at a time, a hard deadline, loopback only.

Each request opens its own connection (gunicorn's sync workers close it anyway), so no client-side
connection reuse flatters one endpoint over another. Latencies are wall-clock per request.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOOPBACK = "127.0.0.1"


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    ok: tuple[int, ...] = (200,)


@dataclass
class PhaseResult:
    name: str
    seconds: float
    latencies: list[float]
    errors: int
    error_samples: list[str]

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0

    def row(self) -> dict[str, Any]:
        return {
            "endpoint": self.name,
            "requests": self.count,
            "req_s": round(self.rate, 1),
            "p50_ms": round(self.pct(50), 1),
            "p95_ms": round(self.pct(95), 1),
            "p99_ms": round(self.pct(99), 1),
            "errors": self.errors,
            "error_rate": round(self.error_rate, 4),
        }


def send(port: int, request: Request, timeout: float = 30.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        headers = {"Accept": "application/json", **request.headers}
        conn.request(request.method, request.path, body=request.body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def json_request(
    method: str, path: str, body: Any = None, token: str | None = None, ok: tuple[int, ...] = (200,)
) -> Request:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    raw = json.dumps(body).encode() if body is not None else None
    return Request(method, path, raw, headers, ok)


def run_phase(
    name: str,
    port: int,
    make: Callable[[int], Request | None],
    *,
    seconds: float,
    threads: int,
    before: Callable[[], None] | None = None,
) -> PhaseResult:
    """Call `make(i)` for i = 0, 1, 2, ... on `threads` threads until `seconds` pass or it returns None."""
    counter = iter(range(10**9))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    deadline = time.monotonic() + seconds
    done = threading.Event()

    def worker() -> None:
        nonlocal errors
        while time.monotonic() < deadline and not done.is_set():
            with lock:
                i = next(counter)
            request = make(i)
            if request is None:
                done.set()
                return
            if before is not None:
                before()
            started = time.perf_counter()
            try:
                status, body = send(port, request)
            except OSError as exc:
                status, body = 0, repr(exc).encode()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if status not in request.ok:
                    errors += 1
                    if len(samples) < 5:
                        samples.append(f"{request.method} {request.path} -> {status} {body[:160]!r}")

    started = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 60)
    return PhaseResult(name, time.monotonic() - started, latencies, errors, samples)


def run_callable_phase(
    name: str, call: Callable[[int], None], *, seconds: float, threads: int
) -> PhaseResult:
    """The same loop for a store operation instead of an HTTP request (the store ceiling)."""
    counter = iter(range(10**9))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    deadline = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            with lock:
                i = next(counter)
            started = time.perf_counter()
            try:
                call(i)
                failed = None
            except Exception as exc:  # a store error is an error of this phase, counted, not fatal
                failed = repr(exc)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if failed:
                    errors += 1
                    if len(samples) < 5:
                        samples.append(failed[:200])

    started = time.monotonic()
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 60)
    return PhaseResult(name, time.monotonic() - started, latencies, errors, samples)

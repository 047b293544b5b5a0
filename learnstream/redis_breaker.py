"""A circuit breaker in front of every Redis connection (caches and rate-limit counters).

A dead Redis process refuses connections in milliseconds, but a hung one (stopped process, dead host,
partition) costs the 0.5 s socket timeout on every call, and a request makes several calls. After
`threshold` consecutive timeouts the breaker opens: for `cooldown` seconds every call fails at
once with `BreakerOpen` (a redis `ConnectionError`, so the callers' existing outage handling applies:
the cache ignores it, the rate limiter falls back to per-process counters). After the cooldown one
call is let through as a probe; success closes the breaker, failure re-opens it.

Per process and per Redis address; wired in through django-redis's `CONNECTION_POOL_KWARGS`
(`connection_class`), so it covers every command and pipeline without touching call sites.
"""

import logging
import threading
import time
from typing import Any

import redis.connection
import redis.exceptions

logger = logging.getLogger(__name__)

# Only slow failures count: a refused connection (Redis process dead on a live host) costs
# milliseconds, and skipping Redis after it comes back would only delay recovery. Timeouts (hung
# process, dead host, partition) cost the full socket timeout on every call: those open the breaker.
_SLOW_FAILURES = (redis.exceptions.TimeoutError, TimeoutError)


class BreakerOpen(redis.exceptions.ConnectionError):
    """Redis is skipped for a while after repeated failures (no network call was made)."""


class CircuitBreaker:
    def __init__(self, *, name: str, threshold: int, cooldown: float) -> None:
        self.name = name
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until = 0.0
        self._probe: tuple[int, float] | None = None  # (thread id, started) of the half-open probe

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._failures >= self.threshold and time.monotonic() < self._open_until

    def before_call(self) -> None:
        """Raise BreakerOpen while open; after the cooldown let exactly one probe through."""
        if self._failures < self.threshold:  # the closed breaker, every call: no lock (a racy read
            return  # can let one extra call through while it opens, which is harmless)
        with self._lock:
            if self._failures < self.threshold:
                return
            now, me = time.monotonic(), threading.get_ident()
            # Half-open: one thread probes (all its calls go through), the others keep failing fast.
            # A probe that never reported back is replaced after another cooldown.
            probe_free = self._probe is None or self._probe[0] == me or now - self._probe[1] > self.cooldown
            if now >= self._open_until and probe_free:
                self._probe = (me, now)
                return
            raise BreakerOpen(f"Redis at {self.name} is skipped after repeated failures")

    def record_success(self) -> None:
        if self._failures == 0 and self._probe is None:  # nothing to reset: the usual case, no lock
            return
        with self._lock:
            was_open = self._failures >= self.threshold
            self._failures = 0
            self._probe = None
        if was_open:
            logger.warning("redis circuit closed", extra={"redis": self.name})

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._probe = None
            opened = self._failures >= self.threshold
            if opened:
                self._open_until = time.monotonic() + self.cooldown
        if opened:
            logger.warning(
                "redis circuit open", extra={"redis": self.name, "cooldown_seconds": self.cooldown}
            )

    def reset(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = 0.0
            self._probe = None


_registry: dict[str, CircuitBreaker] = {}
_registry_lock = threading.Lock()
# Overridden from settings by `configure` (settings.REDIS_BREAKER_*); module defaults for scripts.
_config = {"threshold": 2, "cooldown": 1.0}


def configure(*, threshold: int, cooldown: float) -> None:
    _config.update(threshold=threshold, cooldown=cooldown)
    with _registry_lock:
        for breaker in _registry.values():
            breaker.threshold, breaker.cooldown = max(1, threshold), cooldown


def breaker_for(name: str) -> CircuitBreaker:
    with _registry_lock:
        breaker = _registry.get(name)
        if breaker is None:
            breaker = CircuitBreaker(
                name=name, threshold=int(_config["threshold"]), cooldown=float(_config["cooldown"])
            )
            _registry[name] = breaker
        return breaker


def reset_all() -> None:
    """Close every breaker (tests, and after an operator fixed Redis and does not want to wait)."""
    with _registry_lock:
        breakers = list(_registry.values())
    for breaker in breakers:
        breaker.reset()


class _BreakerMixin:
    host: str
    port: int

    _breaker: CircuitBreaker | None = None

    @property
    def breaker(self) -> CircuitBreaker:
        # Looked up once per connection (the registry lock is not taken on every command).
        if self._breaker is None:
            self._breaker = breaker_for(f"{self.host}:{self.port}")
        return self._breaker

    def _guarded(self, call: Any, *args: Any, success: bool = False, **kwargs: Any) -> Any:
        breaker = self.breaker
        breaker.before_call()
        try:
            result = call(*args, **kwargs)
        except _SLOW_FAILURES:
            breaker.record_failure()
            raise
        if success:
            breaker.record_success()
        return result

    # Only an answer proves Redis healthy: `connect()` is a no-op on a pooled socket and a send only
    # fills a buffer, so neither may reset the failure count.
    def connect(self) -> None:
        self._guarded(super().connect)  # type: ignore[misc]

    def send_packed_command(self, *args: Any, **kwargs: Any) -> None:
        self._guarded(super().send_packed_command, *args, **kwargs)  # type: ignore[misc]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        return self._guarded(super().read_response, *args, success=True, **kwargs)  # type: ignore[misc]


class BreakerConnection(_BreakerMixin, redis.connection.Connection):
    pass


class BreakerSSLConnection(_BreakerMixin, redis.connection.SSLConnection):
    pass


def connection_class_for(url: str) -> type[redis.connection.AbstractConnection] | None:
    """The breaker-guarded connection class for a Redis URL (None: leave redis-py's choice)."""
    if url.startswith("rediss://"):
        return BreakerSSLConnection
    if url.startswith("redis://"):
        return BreakerConnection
    return None

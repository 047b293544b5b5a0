"""Rate limits on the auth surfaces: `auth/token`, `auth/register`, `auth/token/refresh`,
`auth/me/password` and the two session logins (`/admin/login/`, `/api-auth/login/`).

One implementation, fixed windows counted in the "ratelimit" Redis cache:
- per client network (`learnstream.net.client_network`: the IPv4 address or the IPv6 /64);
- per account *and* client network: a victim's own login from their usual network is never blocked by
  guesses made elsewhere;
- per account, a higher global ceiling for networks that have not logged in to the account
  successfully lately (`LOGIN_KNOWN_NETWORK_DAYS`): it bounds guessing spread over many networks, and
  the account's owner, coming from a known network, is not subject to it.

When Redis cannot count (down, hung, or skipped by the circuit breaker in `learnstream.redis_breaker`)
the counters degrade to per-process memory: the limits still hold per worker process (so, with N
workers, a client gets at most N times the limit) instead of refusing every login, which would turn a
Redis outage into a denial of service for everyone once access tokens expire.
"""

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest

from accounts.models import normalize_email
from learnstream.counters import fixed_window_incr
from learnstream.errors import RateLimited
from learnstream.logging import security_event
from learnstream.net import client_network

_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DEGRADED_LOG_INTERVAL = 60.0


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int  # seconds

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """`"5/m"`, `"100/h"`, `"10/30s"` (limit per [n]unit)."""
        count, _, period = text.partition("/")
        multiple = int(period[:-1] or 1)
        return cls(limit=int(count), window=multiple * _PERIODS[period[-1]])


class _LocalStore:
    """Per-process counters and flags with expiry: the fallback while Redis cannot answer."""

    MAX_KEYS = 50_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, float]] = {}

    def _prune(self, now: float) -> None:
        if len(self._values) < self.MAX_KEYS:
            return
        self._values = {k: v for k, v in self._values.items() if v[1] > now}
        if len(self._values) >= self.MAX_KEYS:  # still full of live keys: forget the oldest half
            keep = sorted(self._values.items(), key=lambda item: item[1][1])[self.MAX_KEYS // 2 :]
            self._values = dict(keep)

    def incr(self, key: str, ttl: int) -> int:
        now = time.monotonic()
        with self._lock:
            count, expires = self._values.get(key, (0, 0.0))
            if expires <= now:
                self._prune(now)
                count, expires = 0, now + ttl
            self._values[key] = (count + 1, expires)
            return count + 1

    def get(self, key: str) -> int | None:
        with self._lock:
            value = self._values.get(key)
        return value[0] if value is not None and value[1] > time.monotonic() else None

    def set(self, key: str, value: int, ttl: int) -> None:
        with self._lock:
            self._prune(time.monotonic())
            self._values[key] = (value, time.monotonic() + ttl)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_local = _LocalStore()
_last_degraded_log = [0.0]


def _cache() -> BaseCache:
    return caches["ratelimit"]


def _degraded(exc: BaseException) -> None:
    now = time.monotonic()
    if now - _last_degraded_log[0] >= _DEGRADED_LOG_INTERVAL:
        _last_degraded_log[0] = now
        security_event("rate_limit_degraded", level=logging.WARNING, error=type(exc).__name__)


def _digest(value: str) -> str:
    # Keys never hold emails or addresses in clear, and have a bounded length.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _incr(key: str, ttl: int) -> int:
    """Count one hit in Redis; while Redis cannot count, in this process (degraded, not refused)."""
    try:
        return fixed_window_incr(_cache(), key, ttl)
    except _REDIS_DOWN as exc:
        _degraded(exc)
        return _local.incr(key, ttl)


@dataclass(frozen=True)
class _Counter:
    group: str
    rate: Rate
    key: str
    window_end: float

    @classmethod
    def of(cls, *, group: str, value: str, now: float) -> "_Counter":
        rate = Rate.parse(settings.AUTH_RATE_LIMITS[group])
        window_start = int(now // rate.window) * rate.window
        key = f"auth:{group}:{_digest(value)}:{window_start}"
        return cls(group=group, rate=rate, key=key, window_end=window_start + rate.window)

    @property
    def ttl(self) -> int:
        return self.rate.window + 1

    def refuse(self, *, now: float) -> RateLimited:
        return RateLimited(retry_after=max(1, int(self.window_end - now) + 1))


def rate_limit_hit(*, group: str, value: str) -> None:
    """Count one request for `value` in `group`; raise RateLimited (429) past the configured rate."""
    if not settings.RATELIMIT_ENABLE:
        return
    now = time.time()
    counter = _Counter.of(group=group, value=value, now=now)
    if _incr(counter.key, counter.ttl) > counter.rate.limit:
        raise counter.refuse(now=now)


def rate_limit_ip(*, request: HttpRequest, group: str) -> None:
    """Per client network (IPv4 address or IPv6 /64)."""
    rate_limit_hit(group=group, value=client_network(request))


def _known_key(account: str, network: str) -> str:
    return f"auth:known:{_digest(account)}:{_digest(network)}"


def _is_known_network(account: str, network: str) -> bool:
    key = _known_key(account, network)
    try:
        return bool(_cache().get(key))
    except _REDIS_DOWN as exc:
        _degraded(exc)
        return bool(_local.get(key))


# One round trip for every limit of a password attempt (the login's Redis budget, tests/budgets.py):
# per network; then per account and network; then, unless the network is known, per account. A later
# counter is only touched when the earlier ones passed, so refused attempts cannot burn the ceiling.
_LOGIN_SCRIPT = """
local function hit(key, ttl)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ttl) end
  return n
end
if hit(KEYS[1], ARGV[2]) > tonumber(ARGV[1]) then return 1 end
if hit(KEYS[2], ARGV[4]) > tonumber(ARGV[3]) then return 2 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if hit(KEYS[4], ARGV[6]) > tonumber(ARGV[5]) then return 3 end
return 0
"""


def _login_refused_by_redis(counters: list[_Counter], known_key: str) -> int | None:
    """Run the login script on Redis; None when the "ratelimit" cache is not django-redis (dev)."""
    cache: Any = _cache()
    client_of = getattr(getattr(cache, "client", None), "get_client", None)
    if client_of is None:
        return None
    ip, net, account = counters
    keys = [
        cache.make_key(ip.key),
        cache.make_key(net.key),
        cache.make_key(known_key),
        cache.make_key(account.key),
    ]
    limits = [str(v) for c in counters for v in (c.rate.limit, c.ttl)]
    return int(client_of(write=True).eval(_LOGIN_SCRIPT, len(keys), *keys, *limits))


def _login_refused_in_python(counters: list[_Counter], account: str, network: str) -> int:
    """The same decision with the cache API, or per-process counters while Redis is down."""
    ip, net, per_account = counters
    if _incr(ip.key, ip.ttl) > ip.rate.limit:
        return 1
    if _incr(net.key, net.ttl) > net.rate.limit:
        return 2
    if _is_known_network(account, network):
        return 0
    return 3 if _incr(per_account.key, per_account.ttl) > per_account.rate.limit else 0


def login_attempt_check(*, request: HttpRequest, email: str) -> None:
    """Every limit of one password attempt, for `auth/token` and the HTML session logins alike.

    Raises RateLimited. Counted before the password is hashed, so refused guesses cost no Argon2 work.
    """
    if not settings.RATELIMIT_ENABLE:
        return
    account, network = normalize_email(email)[:254], client_network(request)
    now = time.time()
    counters = [
        _Counter.of(group="login_ip", value=network, now=now),
        _Counter.of(group="login_account_net", value=f"{account}\n{network}", now=now),
        _Counter.of(group="login_account", value=account, now=now),
    ]
    try:
        refused = _login_refused_by_redis(counters, _known_key(account, network))
    except _REDIS_DOWN as exc:
        _degraded(exc)
        refused = None
    if refused is None:
        refused = _login_refused_in_python(counters, account, network)
    if refused:
        raise counters[refused - 1].refuse(now=now)


def login_succeeded(*, request: HttpRequest, email: str) -> None:
    """Remember the client network as one the account's owner logs in from (exempt from the global
    per-account ceiling)."""
    key = _known_key(normalize_email(email)[:254], client_network(request))
    ttl = int(settings.LOGIN_KNOWN_NETWORK_DAYS) * 86400
    _local.set(key, 1, ttl)  # also in memory: survives a Redis outage within this process
    try:
        _cache().set(key, 1, ttl)
    except _REDIS_DOWN as exc:
        _degraded(exc)


def reset_local_counters() -> None:
    """Forget the per-process fallback counters (tests)."""
    _local.clear()

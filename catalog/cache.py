"""Redis caching for the published catalog and for hot lookups (enrollment, lesson access info).

Catalog pages (public course list, published course detail, published lesson lists):
- Every entry records the catalog *generation* it was computed under; every catalog write bumps the
  generation (`catalog_invalidate`), and an entry only counts while its generation is the current one,
  so no reader can be served a page computed before a write. Readers read the generation *before*
  querying MongoDB, so a page computed concurrently with a write carries the old generation and is never
  served. The generation and the entry are read together (one MGET): a hit is one Redis round trip, and
  a write is seen by every process at once (no per-process copy of the generation that could lag).
- An entry is fresh for `CATALOG_CACHE_TTL_SECONDS` after it was stored (default 60 s: the backstop for
  an invalidation lost while Redis was unreachable) and lives in Redis for
  `CATALOG_CACHE_STALE_SECONDS` (default 15 min). A stale entry is only used when MongoDB is down.
- The "default" cache ignores Redis errors (settings: IGNORE_EXCEPTIONS), so Redis down = cache miss.
"""

import hashlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from learnstream.errors import STORE_OUTAGES

T = TypeVar("T")

GENERATION_KEY = "catalog:gen"


def fresh_seconds() -> int:
    return int(getattr(settings, "CATALOG_CACHE_TTL_SECONDS", 60))


def stale_seconds() -> int:
    return int(getattr(settings, "CATALOG_CACHE_STALE_SECONDS", 15 * 60))


def enrollment_seconds() -> int:
    return int(getattr(settings, "ENROLLMENT_CACHE_SECONDS", 5 * 60))


def analytics_seconds() -> int:
    return int(getattr(settings, "CATALOG_ANALYTICS_CACHE_SECONDS", 60))


def _start_generation() -> Any:
    # A fresh Redis (or an evicted key): start from a time-based value so entries computed under an
    # earlier generation that happened to equal 1, 2, ... can never be resurrected.
    cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
    return cache.get(GENERATION_KEY)


def catalog_invalidate() -> None:
    """Make every cached catalog page unreachable (called after each write that changes the catalog)."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # key missing: any new value invalidates the old keys
        cache.set(GENERATION_KEY, time.time_ns(), timeout=None)


def catalog_key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"catalog:{kind}:{digest}"


class CachedRead:
    """Result of `cached_read`: the value and whether it came from a stale copy (MongoDB down)."""

    __slots__ = ("stale", "value")

    def __init__(self, value: Any, *, stale: bool) -> None:
        self.value = value
        self.stale = stale


def cached_read(key: str, compute: Callable[[], tuple[T, bool]]) -> CachedRead:
    """Serve `key` from the cache when fresh; otherwise `compute()` → (value, cacheable).

    When `compute` fails because a store is down and a (stale) copy of the current generation exists,
    that copy is served. A hit costs one Redis round trip (generation and entry in one MGET).
    """
    found = cache.get_many([GENERATION_KEY, key])
    generation = found.get(GENERATION_KEY)
    entry = found.get(key)
    if generation is None:
        generation, entry = _start_generation(), None
    if entry is not None and entry.get("generation") != generation:
        entry = None  # computed before a later write: unusable, even as a stale copy
    if entry is not None and entry["stored_at"] + fresh_seconds() > time.time():
        return CachedRead(entry["value"], stale=False)
    try:
        value, cacheable = compute()
    except STORE_OUTAGES:
        if entry is not None:
            return CachedRead(entry["value"], stale=True)
        raise
    if cacheable and generation is not None:  # None: Redis unreachable, nothing to store into
        cache.set(
            key,
            {"value": value, "stored_at": time.time(), "generation": generation},
            timeout=stale_seconds(),
        )
    return CachedRead(value, stale=False)


# --- hot lookups -----------------------------------------------------------------------------------
def enrollment_key(user_id: int, course_id: str) -> str:
    return f"catalog:enr:{user_id}:{course_id}"


def lesson_access_key(lesson_id: str) -> str:
    return f"catalog:lesson-access:{lesson_id}"


def analytics_key(course_id: str) -> str:
    return f"catalog:analytics:{course_id}"

"""Fixed-window counters in a Django cache (rate limits, quotas): one shape, used by every app."""

from django.core.cache.backends.base import BaseCache


def fixed_window_incr(cache: BaseCache, key: str, ttl: int) -> int:
    """Count one hit in the window `key` (created with `ttl`) and return the count. The first hit of a
    window is one round trip (`add`); a window that expired between `add` and `incr` starts again.
    Store errors propagate: each caller decides what an uncountable hit means."""
    if cache.add(key, 1, ttl):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, ttl)
        return 1

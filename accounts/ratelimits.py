"""Rate limits on the auth endpoints (django-ratelimit counters in the "ratelimit" Redis cache).

Fixed windows keyed by client IP (`learnstream.net.client_ip`: X-Forwarded-For only behind a configured
number of trusted proxies) or by the normalised login email. The counters fail closed: when Redis cannot
count, the request is refused with 503 rather than let through uncounted.
"""

import logging

import redis.exceptions
from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from learnstream.errors import RateLimited, ServiceUnavailable
from learnstream.logging import security_event
from learnstream.net import client_ip

_REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


def rate_limit_hit(*, request: HttpRequest, group: str, value: str) -> None:
    """Count one request for `value` in `group`; raise RateLimited (429) past the configured rate."""
    rate: str = settings.AUTH_RATE_LIMITS[group]
    try:
        usage = get_usage(request, group=f"auth.{group}", key=lambda _g, _r: value, rate=rate, increment=True)
    except _REDIS_DOWN as exc:
        security_event("rate_limit_unavailable", level=logging.WARNING, group=group)
        raise ServiceUnavailable("Sign-in is temporarily unavailable. Try again shortly.") from exc
    if usage is None or not usage["should_limit"]:
        return  # rate limiting disabled (RATELIMIT_ENABLE=False), or under the limit
    if usage["time_left"] < 0:
        # django-ratelimit's fail-closed answer when the cache returned nothing (RATELIMIT_FAIL_OPEN=False).
        security_event("rate_limit_unavailable", level=logging.WARNING, group=group)
        raise ServiceUnavailable("Sign-in is temporarily unavailable. Try again shortly.")
    raise RateLimited(retry_after=max(1, int(usage["time_left"])))


def rate_limit_ip(*, request: HttpRequest, group: str) -> None:
    rate_limit_hit(request=request, group=group, value=client_ip(request))

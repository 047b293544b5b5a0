"""Immediate revocation of access tokens with no PostgreSQL query on the hot path.

Three facts decide whether a signed, unexpired access token is still good:
- the user's auth epoch: the token's `auth_epoch` claim must equal it. Logout-all, password change, role
  change and deactivation bump it; deactivated or deleted users are cached as `revoked`.
- the jti denylist: `logout` denylists the session's current access token until it expires.
- the login family: when a family is revoked (logout, refresh-token reuse) every access token minted
  from it is refused too; a family is live while one of its refresh tokens is neither blacklisted nor
  expired.

PostgreSQL holds the truth (`User.auth_epoch`; the family's refresh tokens; denylisted jtis as blacklisted
OutstandingToken rows, so `flushexpiredtokens` bounds them). Redis (the "default" cache) holds a copy,
read with one round trip.
When the cached epoch is missing — evicted, or Redis is down (the cache ignores errors and answers
"miss") — we read PostgreSQL: correctness over speed. Epochs only grow, so a token newer than the cache
means the cache is stale and is repaired from PostgreSQL.
"""

from datetime import datetime, timedelta

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.models import User

# Bounds how long a value written around a Redis outage can be wrong; an access token lives no longer.
EPOCH_CACHE_TTL_SECONDS = 300
REVOKED = "revoked"


def _cache() -> BaseCache:
    return caches["default"]


def _epoch_key(user_id: int) -> str:
    return f"auth:epoch:{user_id}"


def _deny_key(jti: str) -> str:
    return f"auth:deny:{jti}"


def _family_key(family: str) -> str:
    return f"auth:family-revoked:{family}"


def _access_ttl_seconds() -> int:
    """Long enough to outlive any access token minted before now."""
    lifetime: timedelta = api_settings.ACCESS_TOKEN_LIFETIME
    return int(lifetime.total_seconds()) + _leeway_seconds() + 1


def _leeway_seconds() -> int:
    leeway = api_settings.LEEWAY
    return int(leeway.total_seconds() if isinstance(leeway, timedelta) else leeway or 0)


def auth_state_warm(*, user_id: int, epoch: int) -> None:
    """Cache the epoch only if nothing is cached: a concurrent bump must never be overwritten."""
    _cache().add(_epoch_key(user_id), epoch, EPOCH_CACHE_TTL_SECONDS)


def auth_state_publish(*, user_id: int, epoch: int, is_active: bool) -> None:
    """Publish a new auth state. Called inside the writing transaction, before commit, on purpose: a
    bump is visible at once, and if the transaction rolls back the cache is merely ahead of PostgreSQL
    (old tokens refused a little early), which fails closed. Concurrent cache fills use `add`, so they
    cannot overwrite this value with the pre-commit one."""
    _cache().set(_epoch_key(user_id), epoch if is_active else REVOKED, EPOCH_CACHE_TTL_SECONDS)


def auth_state_revoke(*, user_id: int) -> None:
    """The user is gone: every token of theirs is refused without asking PostgreSQL."""
    _cache().set(_epoch_key(user_id), REVOKED, EPOCH_CACHE_TTL_SECONDS)


def access_denylist_publish(*, jti: str, expires_at: datetime) -> None:
    ttl = max(1, int((expires_at - aware_utcnow()).total_seconds()) + _leeway_seconds() + 1)
    _cache().set(_deny_key(jti), 1, ttl)


def family_revocation_publish(*, family: str) -> None:
    _cache().set(_family_key(family), 1, _access_ttl_seconds())


def access_token_is_revoked(*, user_id: int, epoch: int, jti: str, family: str) -> bool:
    epoch_key, deny_key, family_key = _epoch_key(user_id), _deny_key(jti), _family_key(family)
    cached = _cache().get_many([epoch_key, deny_key, family_key])  # one round trip
    cached_epoch = cached.get(epoch_key)
    if deny_key in cached or family_key in cached or cached_epoch == REVOKED:
        return True
    if isinstance(cached_epoch, int):
        if epoch < cached_epoch:
            return True
        if epoch == cached_epoch:
            return False
        # The token is newer than the cache: the cache missed a bump (e.g. Redis was down); re-read.
    return _revoked_per_database(
        user_id=user_id, epoch=epoch, jti=jti, family=family, cache_was_empty=cached_epoch is None
    )


def _revoked_per_database(*, user_id: int, epoch: int, jti: str, family: str, cache_was_empty: bool) -> bool:
    row = User.objects.filter(pk=user_id).values_list("auth_epoch", "is_active").first()
    value: int | str = REVOKED if row is None or not row[1] else row[0]
    if cache_was_empty:
        _cache().add(_epoch_key(user_id), value, EPOCH_CACHE_TTL_SECONDS)
    else:
        _cache().set(_epoch_key(user_id), value, EPOCH_CACHE_TTL_SECONDS)
    if value != epoch:
        return True
    if BlacklistedToken.objects.filter(token__jti=jti).exists():
        _cache().set(_deny_key(jti), 1, _access_ttl_seconds())
        return True
    family_live = OutstandingToken.objects.filter(
        lineage__family=family, blacklistedtoken__isnull=True, expires_at__gt=aware_utcnow()
    ).exists()
    if not family_live:
        family_revocation_publish(family=family)
        return True
    return False

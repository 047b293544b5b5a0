"""JWT minting and decoding (simplejwt token classes plus our claims).

Claims on both tokens: `user_id`, `jti`, `iat`, `exp`, `token_type`, `aud`, `iss`, `family` (one id per
login, carried through rotations) and `auth_time` (the original login, for the absolute session cap).
Access tokens also carry `role` and `auth_epoch`: verifying one compares the epoch with the user's
current epoch (Redis), so bumping it revokes every access token at once. Refresh tokens carry no
authority of their own: rotation re-reads role and epoch from PostgreSQL under a row lock.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token
from rest_framework_simplejwt.utils import aware_utcnow, datetime_from_epoch, datetime_to_epoch

from accounts.models import TokenLineage, User
from accounts.revocation import auth_state_warm

CLAIM_ROLE = "role"
CLAIM_EPOCH = "auth_epoch"
CLAIM_FAMILY = "family"
CLAIM_AUTH_TIME = "auth_time"


class SessionRefreshToken(RefreshToken):
    """A refresh token whose blacklist state is decided by the rotation service, under a row lock.

    simplejwt's own `check_blacklist()` is a bare `.exists()` during decoding; skipping it here lets
    rotation tell a reused (already rotated) token from a merely revoked one.
    """

    def verify(self, *args: Any, **kwargs: Any) -> None:
        Token.verify(self)


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    family: uuid.UUID


def session_cap(auth_time: datetime) -> datetime:
    return auth_time + settings.JWT_ABSOLUTE_SESSION_LIFETIME


def _cap_exp(token: Token, cap: datetime) -> None:
    """A token never outlives the login it descends from (ASVS 7.3.2)."""
    token["exp"] = min(token["exp"], datetime_to_epoch(cap))


def mint_access_token(*, user: User, family: uuid.UUID, auth_time: datetime) -> AccessToken:
    access = AccessToken()
    access[api_settings.USER_ID_CLAIM] = user.pk
    access[CLAIM_ROLE] = user.role
    access[CLAIM_EPOCH] = user.auth_epoch
    access[CLAIM_FAMILY] = family.hex
    access[CLAIM_AUTH_TIME] = datetime_to_epoch(auth_time)
    _cap_exp(access, session_cap(auth_time))
    return access


def mint_refresh_token(
    *, user: User, family: uuid.UUID, auth_time: datetime, parent: OutstandingToken | None
) -> tuple[str, OutstandingToken]:
    """Sign a refresh token and record it as outstanding, with its place in the family."""
    refresh = SessionRefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = user.pk
    refresh[CLAIM_FAMILY] = family.hex
    refresh[CLAIM_AUTH_TIME] = datetime_to_epoch(auth_time)
    _cap_exp(refresh, session_cap(auth_time))
    raw = str(refresh)
    outstanding = OutstandingToken.objects.create(
        user=user,
        jti=refresh[api_settings.JTI_CLAIM],
        token=raw,
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    TokenLineage.objects.create(token=outstanding, family=family, parent=parent, auth_time=auth_time)
    return raw, outstanding


def session_start(*, user: User) -> TokenPair:
    """Mint the first token pair of a new login family. Never for inactive users (CVE-2024-22513)."""
    # Claims must reflect the stored state, not a possibly stale instance (epoch bumped meanwhile).
    user.refresh_from_db(fields=["auth_epoch", "role", "is_active"])
    if not user.is_active:
        raise ValueError("refusing to mint tokens for an inactive user")
    family = uuid.uuid4()
    # JWT times are whole seconds; truncating keeps `auth_time` identical in claims and in the DB.
    auth_time = datetime_from_epoch(datetime_to_epoch(aware_utcnow()))
    access = mint_access_token(user=user, family=family, auth_time=auth_time)
    raw_refresh, _outstanding = mint_refresh_token(user=user, family=family, auth_time=auth_time, parent=None)
    # Warm the epoch cache so the new session's first requests need no PostgreSQL query.
    auth_state_warm(user_id=user.pk, epoch=user.auth_epoch)
    return TokenPair(access=str(access), refresh=raw_refresh, family=family)


def issue_token_pair(user: User) -> tuple[str, str]:
    """(access, refresh) exactly as login mints them; used by tests' `client_for` and the seed."""
    pair = session_start(user=user)
    return pair.access, pair.refresh

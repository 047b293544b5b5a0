"""JWT minting and decoding (simplejwt token classes plus our claims).

Claims on both tokens: `user_id`, `jti`, `iat`, `exp`, `token_type`, `aud`, `iss`, `family` (one id per
login, carried through rotations) and `auth_time` (the original login, for the absolute session cap).
Access tokens also carry `role` and `auth_epoch`: verifying one compares the epoch with the user's
current epoch (Redis), so bumping it revokes every access token at once. Refresh tokens carry no
authority of their own: rotation re-reads role and epoch from PostgreSQL under a row lock.

Refresh tokens are stored only as a SHA-256 digest (`OutstandingToken.token` = `sha256$<hex>`): a read
of the table yields no usable session. Everything after issuance works from the `jti` and the lineage;
the one place that must hand a token out again (a duplicate refresh inside the grace window gets the
*same* child) re-signs it from the stored claims, which is byte-identical because HS256 is
deterministic and the claims are laid out in one fixed order (`_sign_refresh`).
"""

import hashlib
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


TOKEN_DIGEST_PREFIX = "sha256$"  # noqa: S105 - a format marker, not a secret


def token_digest(raw: str) -> str:
    """What `OutstandingToken.token` stores for a refresh token (never the token itself)."""
    return TOKEN_DIGEST_PREFIX + hashlib.sha256(raw.encode()).hexdigest()


def _sign_refresh(*, user_id: int, jti: str, iat: int, exp: int, family: uuid.UUID, auth_time: int) -> str:
    """Sign a refresh token from its claims, always in the same order (simplejwt's own order, so
    tokens minted before this function existed re-sign identically too)."""
    token = SessionRefreshToken()
    token.payload = {
        api_settings.TOKEN_TYPE_CLAIM: SessionRefreshToken.token_type,
        "exp": exp,
        "iat": iat,
        api_settings.JTI_CLAIM: jti,
        api_settings.USER_ID_CLAIM: user_id,
        CLAIM_FAMILY: family.hex,
        CLAIM_AUTH_TIME: auth_time,
    }
    return str(token)


def mint_refresh_token(
    *, user: User, family: uuid.UUID, auth_time: datetime, parent: OutstandingToken | None
) -> tuple[str, OutstandingToken]:
    """Sign a refresh token and record it (as a digest) as outstanding, with its place in the family."""
    current = aware_utcnow()
    now = datetime_to_epoch(current)
    exp = min(
        datetime_to_epoch(current + api_settings.REFRESH_TOKEN_LIFETIME),
        datetime_to_epoch(session_cap(auth_time)),  # never outlives its login (ASVS 7.3.2)
    )
    jti = uuid.uuid4().hex
    raw = _sign_refresh(
        user_id=user.pk, jti=jti, iat=now, exp=exp, family=family, auth_time=datetime_to_epoch(auth_time)
    )
    outstanding = OutstandingToken.objects.create(
        user=user,
        jti=jti,
        token=token_digest(raw),
        created_at=datetime_from_epoch(now),
        expires_at=datetime_from_epoch(exp),
    )
    TokenLineage.objects.create(token=outstanding, family=family, parent=parent, auth_time=auth_time)
    return raw, outstanding


def refresh_token_resign(*, lineage: TokenLineage) -> str | None:
    """The raw refresh token of `lineage`, re-signed from its stored claims; None when the result does
    not match the stored digest (signing key rotated since, or a row not minted by us)."""
    outstanding = lineage.token
    if outstanding.user_id is None or outstanding.created_at is None:
        return None
    raw = _sign_refresh(
        user_id=outstanding.user_id,
        jti=outstanding.jti,
        iat=datetime_to_epoch(outstanding.created_at),
        exp=datetime_to_epoch(outstanding.expires_at),
        family=lineage.family,
        auth_time=datetime_to_epoch(lineage.auth_time),
    )
    return raw if token_digest(raw) == outstanding.token else None


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

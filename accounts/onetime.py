"""One-time tokens sent by mail (password reset, email verification, email change).

The rules, in one place:
- a token is 32 random bytes (URL-safe text); only its SHA-256 digest is stored (`token_new`,
  `token_digest`: reused by anything else that mails a secret link, e.g. course invitations). A
  high-entropy secret needs no slow hash; the database lookup by digest also means no timing oracle
  on the raw value;
- it expires (`expires_at`), it is single-use (using it deletes the row), and issuing a newer token of
  the same purpose for the same user deletes the older ones (superseded);
- it is bound to the account's password and email at issue time (`state`): a password change (any
  path: API, reset, admin, `changepassword`) or an email change invalidates it;
- `one_time_token_use` runs the caller's action and spends the token in one transaction, so an action
  that refuses (e.g. a rejected new password) leaves the token usable.
"""

import hashlib
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import OneTimeToken, User
from learnstream.errors import ApplicationError

T = TypeVar("T")

TOKEN_BYTES = 32
# Long enough for any token_urlsafe(TOKEN_BYTES) (43 chars) with room; longer input is refused unread.
TOKEN_MAX_CHARS = 128
_STATE_SALT = "accounts.onetime.state.v1"


class InvalidToken(ApplicationError):
    status_code = 400
    code = "invalid_token"
    # One answer for unknown, used, expired, superseded and invalidated tokens: none is worth telling apart.
    default_message = "This link is invalid or has expired. Ask for a new one."


def token_digest(raw: str) -> str:
    """The stored form of a token: SHA-256, hex."""
    return hashlib.sha256(raw.encode()).hexdigest()


def token_new() -> tuple[str, str]:
    """A fresh token and its digest: the raw value goes into the link, the digest into the database."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    return raw, token_digest(raw)


def _state(user: User) -> str:
    # The password hash changes with every password change (new salt), the email with an email change.
    return salted_hmac(_STATE_SALT, f"{user.password}\x00{user.email}", algorithm="sha256").hexdigest()


def one_time_token_issue(
    *, user: User, purpose: str, lifetime: timedelta, data: Mapping[str, Any] | None = None
) -> str:
    """Issue a token for `user` and `purpose`, superseding earlier ones; returns the raw token (mail it,
    never store it)."""
    raw, digest = token_new()
    now = timezone.now()
    with transaction.atomic():
        # Superseded ones of this user, and anyone's expired ones (keeps the table bounded).
        OneTimeToken.objects.filter(Q(user=user, purpose=purpose) | Q(expires_at__lte=now)).delete()
        OneTimeToken.objects.create(
            user=user,
            purpose=purpose,
            digest=digest,
            state=_state(user),
            data=dict(data or {}),
            created_at=now,
            expires_at=now + lifetime,
        )
    return raw


def one_time_token_use(*, purpose: str, raw: str, action: Callable[[User, dict[str, Any]], T]) -> T:
    """Check the token, run `action(user, data)` and spend the token, all in one transaction.

    The token row and the user row are locked, so two uses of one token cannot both succeed. If `action`
    raises, nothing is written and the token stays usable. Raises InvalidToken otherwise.
    """
    if not raw or len(raw) > TOKEN_MAX_CHARS:
        raise InvalidToken()
    with transaction.atomic():
        token = (
            OneTimeToken.objects.select_for_update().filter(digest=token_digest(raw), purpose=purpose).first()
        )
        if token is None or token.expires_at <= timezone.now():
            raise InvalidToken()
        user = User.objects.select_for_update().filter(pk=token.user_id, is_active=True).first()
        if user is None or not constant_time_compare(token.state, _state(user)):
            raise InvalidToken()
        result = action(user, dict(token.data))
        token.delete()
    return result

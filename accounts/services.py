"""Accounts and sessions: every write lives here (views only parse input and call one function).

Cache publication (epoch, denylist, revoked family) happens inside the writing transaction, before
commit: see `accounts.revocation.auth_state_publish` for why that is safe.

Concurrency rule: every change to a user's token state (rotation, logout, logout-all, password change,
role change, deactivation) runs in a transaction holding that user's row lock (`select_for_update`), so
rotation, reuse detection and revocation are serialised per user and can never interleave.

Self-service by email (password reset, email verification, email change) mails one-time links
(`accounts.onetime`) through the outbox (`learnstream.mail`): the mail is queued in the writing
transaction and delivered by a task after the commit.
"""

import enum
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django_tasks import task
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.models import OneTimeTokenPurpose, Role, TokenLineage, User, normalize_email
from accounts.onetime import one_time_token_issue, one_time_token_use
from accounts.revocation import (
    access_denylist_publish,
    auth_state_publish,
    auth_state_revoke,
    auth_state_warm,
    family_revocation_publish,
)
from accounts.signals import user_registered
from accounts.tokens import (
    CLAIM_FAMILY,
    SessionRefreshToken,
    TokenPair,
    mint_access_token,
    mint_refresh_token,
    refresh_token_resign,
    session_cap,
    session_start,
)
from learnstream.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from learnstream.logging import security_event
from learnstream.mail import frontend_url, send_templated_mail


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    # The same sentence for an unknown email, a wrong password and an inactive account (no enumeration).
    default_message = "No active account found with the given credentials."


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = "An account with this email already exists."


class LastActiveAdmin(Conflict):
    code = "last_active_admin"
    default_message = "This change would leave no active administrator."


class InvalidPassword(ValidationFailed):
    code = "invalid_password"
    default_message = "The current password is incorrect."


class InvalidRefreshToken(NotAuthenticated):
    code = "token_not_valid"
    default_message = "Token is invalid or expired."


# --- registration and profile ------------------------------------------------------------------------


def _password_errors(password: str, user: User) -> list[str]:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        return list(exc.messages)
    return []


def user_register(*, email: str, password: str, name: str) -> User:
    """Create a student account. Role is never taken from the client."""
    email = normalize_email(email)
    errors = _password_errors(password, User(email=email, name=name))
    if errors:
        raise ValidationFailed(details={"password": errors})
    if User.objects.filter(email=email).exists():
        raise EmailTaken()
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, name=name, role=Role.STUDENT)
            email_verification_send(user=user)  # queued with the account: both or neither
    except IntegrityError as exc:
        raise EmailTaken() from exc  # lost a race with a concurrent registration of the same email
    except DjangoValidationError as exc:
        if User.objects.filter(email=email).exists():
            raise EmailTaken() from exc  # the same race, caught by full_clean's unique check
        raise ValidationFailed(details=exc.message_dict) from exc
    security_event("user_registered", user_id=user.pk)
    user_registered.send(sender=User, user=user)
    return user


def user_profile_update(*, user_id: int, name: str | None = None) -> User:
    user = _active_user(user_id)
    if name is not None:
        user.name = name
        user.save(update_fields=["name"])
    return user


def _active_user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise NotAuthenticated()  # the token outlived its user by a race; never a 500
    return user


# --- login and token rotation ------------------------------------------------------------------------


def session_login(*, request: HttpRequest, email: str, password: str) -> TokenPair:
    """Check credentials and start a new login family.

    `authenticate` runs the password hasher for unknown emails too (Django ticket #20760), so response
    time does not reveal whether an account exists; inactive accounts get the same answer. A legacy
    (e.g. PBKDF2) hash is upgraded to Argon2id by `check_password` on success.
    """
    user = authenticate(request, email=normalize_email(email), password=password)
    if not isinstance(user, User):
        security_event("login_failed", level=logging.WARNING, email=normalize_email(email)[:254])
        raise InvalidCredentials()
    pair = session_start(user=user)
    security_event("login_succeeded", user_id=user.pk, family=pair.family.hex)
    return pair


class _Refused(enum.Enum):
    UNKNOWN = "unknown"  # not a token we minted, or already flushed
    INACTIVE = "inactive"  # user deactivated or deleted
    REVOKED = "revoked"  # blacklisted by logout / logout-all / password change / admin
    REUSED = "reused"  # already rotated: the whole family is now revoked
    EXPIRED = "expired"  # past the absolute session cap


def session_refresh(*, raw_refresh: str) -> TokenPair:
    """Rotate a refresh token: the presented token dies, a child in the same family is minted.

    Presenting a token that was already rotated is treated as theft (Auth0/Okta "reuse detection"):
    every refresh token of the family is blacklisted and its access tokens stop working. Within
    `JWT_REFRESH_GRACE_SECONDS` (default 15, 0 = off) of a rotation, the immediate parent may be replayed
    (lost response, two tabs) and gets the *same* child back, so the family never forks.
    """
    try:
        token = SessionRefreshToken(raw_refresh)  # type: ignore[arg-type]
        user_id = int(token[api_settings.USER_ID_CLAIM])
        family = uuid.UUID(str(token[CLAIM_FAMILY]))
        jti = str(token[api_settings.JTI_CLAIM])
    except (TokenError, KeyError, TypeError, ValueError) as exc:
        raise InvalidRefreshToken() from exc
    try:
        with transaction.atomic():
            result = _rotate_locked(user_id=user_id, family=family, jti=jti)
    except IntegrityError as exc:
        # Only reachable where row locks are no-ops (SQLite): the unique blacklist insert lost the race.
        raise InvalidRefreshToken() from exc
    if isinstance(result, TokenPair):
        return result
    if result is _Refused.REUSED:
        family_revocation_publish(family=family.hex)
        security_event("refresh_reuse_detected", level=logging.WARNING, user_id=user_id, family=family.hex)
    else:
        security_event("refresh_refused", level=logging.INFO, user_id=user_id, reason=result.value)
    raise InvalidRefreshToken()


def _rotate_locked(*, user_id: int, family: uuid.UUID, jti: str) -> TokenPair | _Refused:
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None or not user.is_active:
        return _Refused.INACTIVE
    lineage = (
        TokenLineage.objects.select_related("token")
        .filter(token__jti=jti, token__user_id=user.pk, family=family)
        .first()
    )
    if lineage is None:
        return _Refused.UNKNOWN
    outstanding = lineage.token
    blacklisted = BlacklistedToken.objects.filter(token=outstanding).first()
    if blacklisted is not None:
        return _replay(user=user, lineage=lineage, blacklisted_at=blacklisted.blacklisted_at)
    BlacklistedToken.objects.create(token=outstanding)
    if aware_utcnow() >= session_cap(lineage.auth_time):
        return _Refused.EXPIRED
    raw, _child = mint_refresh_token(
        user=user, family=family, auth_time=lineage.auth_time, parent=outstanding
    )
    access = mint_access_token(user=user, family=family, auth_time=lineage.auth_time)
    auth_state_warm(user_id=user.pk, epoch=user.auth_epoch)
    return TokenPair(access=str(access), refresh=raw, family=family)


def _replay(*, user: User, lineage: TokenLineage, blacklisted_at: datetime) -> TokenPair | _Refused:
    """A blacklisted token came back: a revoked session, a grace-window retry, or reuse."""
    child = TokenLineage.objects.select_related("token").filter(parent=lineage.token).first()
    if child is None:
        return _Refused.REVOKED  # never rotated, so it was revoked (logout etc.), not replayed
    grace = timedelta(seconds=settings.JWT_REFRESH_GRACE_SECONDS)
    child_live = not BlacklistedToken.objects.filter(token=child.token).exists()
    if grace and child_live and aware_utcnow() - blacklisted_at <= grace:
        raw_child = refresh_token_resign(lineage=child)
        if raw_child is None:
            return _Refused.REVOKED  # cannot hand out the same child (key rotated): no fork, no alarm
        access = mint_access_token(user=user, family=lineage.family, auth_time=lineage.auth_time)
        return TokenPair(access=str(access), refresh=raw_child, family=lineage.family)
    _blacklist_outstanding(Q(lineage__family=lineage.family))
    # Reuse means a copied credential: the user's browser sessions end too (session_epoch is part of the
    # session hash). Other JWT login families are left alone: they are other devices.
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    return _Refused.REUSED


def _blacklist_outstanding(condition: Q) -> int:
    """Blacklist every not-yet-blacklisted outstanding token matching `condition` (idempotent)."""
    ids = list(
        OutstandingToken.objects.filter(condition, blacklistedtoken__isnull=True).values_list("id", flat=True)
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=token_id) for token_id in ids], ignore_conflicts=True
    )
    return len(ids)


# --- logout and revocation ---------------------------------------------------------------------------


def session_logout(
    *, user_id: int, raw_refresh: str, access_jti: str | None, access_expires_at: datetime | None
) -> None:
    """End one session: its refresh family is revoked and the caller's access token is denylisted."""
    try:
        token = SessionRefreshToken(raw_refresh)  # type: ignore[arg-type]
        owner = int(token[api_settings.USER_ID_CLAIM])
        family = uuid.UUID(str(token[CLAIM_FAMILY]))
    except (TokenError, KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed(details={"refresh": ["Token is invalid or expired."]}) from exc
    if owner != user_id:
        raise ValidationFailed(details={"refresh": ["Token is invalid or expired."]})
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user_id).first()
        _blacklist_outstanding(Q(lineage__family=family, user_id=user_id))
        if access_jti and access_expires_at:
            _denylist_access(user_id=user_id, jti=access_jti, expires_at=access_expires_at)
    family_revocation_publish(family=family.hex)
    security_event("logout", user_id=user_id, family=family.hex)


def _denylist_access(*, user_id: int, jti: str, expires_at: datetime) -> None:
    """Durable (PostgreSQL) first, then Redis; `flushexpiredtokens` removes the row after expiry."""
    outstanding, _created = OutstandingToken.objects.get_or_create(
        jti=jti,
        defaults={"user_id": user_id, "token": "", "created_at": aware_utcnow(), "expires_at": expires_at},
    )
    BlacklistedToken.objects.get_or_create(token=outstanding)
    access_denylist_publish(jti=jti, expires_at=expires_at)


def _bump_epoch(user: User) -> None:
    """Refuse every access token issued so far (call inside the transaction holding the row lock)."""
    User.objects.filter(pk=user.pk).update(auth_epoch=F("auth_epoch") + 1)
    user.refresh_from_db(fields=["auth_epoch"])
    auth_state_publish(user_id=user.pk, epoch=user.auth_epoch, is_active=user.is_active)


def sessions_revoke(*, token_ids: list[int], reason: str = "admin_revoke") -> int:
    """End the sessions (refresh-token families) the given outstanding tokens belong to.

    Used by the admin's per-session revoke: the whole family is blacklisted and its access tokens
    are refused at once, exactly as when the user logs that session out. Returns tokens revoked.
    """
    lineages = list(
        TokenLineage.objects.filter(token_id__in=token_ids).values_list("family", "token__user_id").distinct()
    )
    revoked = 0
    with transaction.atomic():
        for family, user_id in lineages:
            revoked += _blacklist_outstanding(Q(lineage__family=family, user_id=user_id))
        # Tokens without a lineage (denylisted access tokens, legacy rows) are simply blacklisted.
        revoked += _blacklist_outstanding(Q(id__in=token_ids, lineage__isnull=True))
    for family, user_id in lineages:
        family_revocation_publish(family=family.hex)
        security_event("session_revoked", user_id=user_id, family=family.hex, reason=reason)
    return revoked


def sessions_revoke_all(*, user_id: int, reason: str = "logout_all") -> int:
    """Log a user out everywhere: every refresh token blacklisted, every access token refused.

    Returns the number of refresh tokens revoked.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise NotFound()
        _bump_epoch(user)
        revoked = _blacklist_outstanding(Q(user_id=user_id))
    security_event("sessions_revoked", user_id=user_id, reason=reason, tokens=revoked)
    return revoked


def user_password_change(*, user_id: int, current_password: str, new_password: str) -> None:
    """Change the password (current one required) and end every session, this one included."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
        if user is None:
            raise NotAuthenticated()
        if not user.check_password(current_password):
            security_event("password_change_failed", level=logging.WARNING, user_id=user_id)
            raise ValidationFailed(details={"current_password": ["The current password is incorrect."]})
        errors = _password_errors(new_password, user)
        if errors:
            raise ValidationFailed(details={"new_password": errors})
        user.set_password(new_password)
        user.save(update_fields=["password"])
        _bump_epoch(user)
        _blacklist_outstanding(Q(user_id=user_id))
    security_event("password_changed", user_id=user_id)


def user_set_password(*, user: User, password: str | None) -> None:
    """Admin-initiated password reset (validators already applied by the admin form); None disables
    password login. Either way every session of the user ends."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(password)
        locked.save(update_fields=["password"])
        _bump_epoch(locked)
        _blacklist_outstanding(Q(user_id=user.pk))
    security_event("password_reset_by_admin", user_id=user.pk)


# --- administration ----------------------------------------------------------------------------------


def user_update(
    *, user_id: int, role: str | None = None, is_active: bool | None = None, name: str | None = None
) -> User:
    """Admin change of role / active flag / name.

    There must always be one active admin left (409 otherwise). Role change and deactivation take effect
    at once (epoch bump); deactivation also revokes every refresh token.
    """
    with transaction.atomic():
        # Lock the target and every active admin in one ordered statement: two admins demoting each
        # other concurrently serialise here instead of both succeeding (or deadlocking).
        locked = list(
            User.objects.select_for_update()
            .filter(Q(pk=user_id) | Q(role=Role.ADMIN, is_active=True))
            .order_by("pk")
        )
        user = next((candidate for candidate in locked if candidate.pk == user_id), None)
        if user is None:
            raise NotFound()
        new_role = user.role if role is None else role
        new_active = user.is_active if is_active is None else is_active
        was_admin = user.role == Role.ADMIN and user.is_active
        stays_admin = new_role == Role.ADMIN and new_active
        if was_admin and not stays_admin and not any(u.pk != user_id for u in locked if u.is_admin):
            raise LastActiveAdmin()
        changes: dict[str, Any] = {}
        if new_role != user.role:
            changes["role"] = (user.role, new_role)
        if new_active != user.is_active:
            changes["is_active"] = (user.is_active, new_active)
        user.role, user.is_active = new_role, new_active
        if name is not None:
            user.name = name
        user.save(update_fields=["role", "is_active", "name"])
        if changes:
            _bump_epoch(user)
        if "is_active" in changes and not new_active:
            _blacklist_outstanding(Q(user_id=user_id))
    for field, (old, new) in changes.items():
        security_event("user_changed", user_id=user_id, field=field, old=old, new=new)
    return user


def user_deleted(*, user_id: int) -> None:
    """Called after a user row is deleted (any path): refuse their tokens without a DB query."""
    auth_state_revoke(user_id=user_id)


# --- self-service by email -----------------------------------------------------------------------------

PASSWORD_RESET_LIFETIME = timedelta(hours=1)
EMAIL_VERIFY_LIFETIME = timedelta(hours=24)
EMAIL_CHANGE_LIFETIME = timedelta(hours=24)


def _greeting_name(user: User) -> str:
    return user.name or user.email


def password_reset_request(*, email: str) -> None:
    """All a reset request does inside the request: queue the task, after the commit.

    The same work whatever the address (known, unknown, inactive), so neither the answer nor its timing
    tells whether an account exists; the lookup and the mail happen in `password_reset_send`.
    """
    normalized = normalize_email(email)
    transaction.on_commit(lambda: password_reset_send.enqueue(email=normalized), robust=True)


@task()
def password_reset_send(email: str) -> bool:
    """The background half of a reset request: mail a link if an active account with a usable password
    has this address. Returns whether a mail was queued."""
    return password_reset_mail(email=email)


def password_reset_mail(*, email: str) -> bool:
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    # An unusable password was disabled by an administrator on purpose: a reset must not re-enable it.
    if user is None or not user.has_usable_password():
        security_event("password_reset_not_sent", level=logging.INFO)
        return False
    with transaction.atomic():
        raw = one_time_token_issue(
            user=user, purpose=OneTimeTokenPurpose.PASSWORD_RESET, lifetime=PASSWORD_RESET_LIFETIME
        )
        send_templated_mail(
            to=user.email,
            template="password_reset",
            context={
                "name": _greeting_name(user),
                "email": user.email,
                "link": frontend_url("/reset-password", token=raw),
                "valid_minutes": int(PASSWORD_RESET_LIFETIME.total_seconds() // 60),
            },
        )
    security_event("password_reset_requested", user_id=user.pk)
    return True


def password_reset_confirm(*, token: str, new_password: str) -> None:
    """Set a new password from a reset link and end every session (JWT families, browser sessions).

    A rejected password raises inside the token's transaction, so the token stays usable. Following a
    link mailed to the address also proves the address, so it counts as verified.
    """

    def reset(user: User, _data: dict[str, Any]) -> tuple[int, int]:
        errors = _password_errors(new_password, user)
        if errors:
            raise ValidationFailed(details={"new_password": errors})
        user.set_password(new_password)
        user.email_verified = True
        user.save(update_fields=["password", "email_verified"])
        _bump_epoch(user)  # access tokens and browser sessions (the session hash covers the epoch)
        return user.pk, _blacklist_outstanding(Q(user_id=user.pk))  # refresh-token families

    user_id, revoked = one_time_token_use(purpose=OneTimeTokenPurpose.PASSWORD_RESET, raw=token, action=reset)
    security_event("password_reset_completed", user_id=user_id, tokens=revoked)


def email_verification_send(*, user: User) -> bool:
    """Queue a verification link for the user's address (superseding any earlier one) unless it is
    already verified. Call inside the caller's transaction."""
    if user.email_verified:
        return False
    raw = one_time_token_issue(
        user=user, purpose=OneTimeTokenPurpose.EMAIL_VERIFY, lifetime=EMAIL_VERIFY_LIFETIME
    )
    send_templated_mail(
        to=user.email,
        template="verify_email",
        context={
            "name": _greeting_name(user),
            "email": user.email,
            "link": frontend_url("/verify-email", token=raw),
            "valid_hours": int(EMAIL_VERIFY_LIFETIME.total_seconds() // 3600),
        },
    )
    return True


def email_verification_resend(*, user_id: int) -> bool:
    with transaction.atomic():
        return email_verification_send(user=_active_user(user_id))


def email_verify(*, token: str) -> None:
    def verify(user: User, _data: dict[str, Any]) -> int:
        User.objects.filter(pk=user.pk).update(email_verified=True)
        return user.pk

    user_id = one_time_token_use(purpose=OneTimeTokenPurpose.EMAIL_VERIFY, raw=token, action=verify)
    security_event("email_verified", user_id=user_id)


def email_change_request(*, user_id: int, new_email: str, current_password: str) -> None:
    """Mail a confirmation link to the new address and a notice to the current one; nothing changes
    until the link is followed."""
    user = _active_user(user_id)
    if not user.check_password(current_password):
        security_event("email_change_failed", level=logging.WARNING, user_id=user_id)
        raise InvalidPassword()
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise ValidationFailed(details={"new_email": ["This is already your email address."]})
    if User.objects.filter(email=new_email).exists():
        raise EmailTaken()
    context = {"name": _greeting_name(user), "old_email": user.email, "new_email": new_email}
    with transaction.atomic():
        raw = one_time_token_issue(
            user=user,
            purpose=OneTimeTokenPurpose.EMAIL_CHANGE,
            lifetime=EMAIL_CHANGE_LIFETIME,
            data={"new_email": new_email},
        )
        send_templated_mail(
            to=new_email,
            template="email_change_confirm",
            context={
                **context,
                "link": frontend_url("/confirm-email", token=raw),
                "valid_hours": int(EMAIL_CHANGE_LIFETIME.total_seconds() // 3600),
            },
        )
        send_templated_mail(to=user.email, template="email_change_notice", context=context)
    security_event("email_change_requested", user_id=user_id)


def email_change_confirm(*, token: str) -> None:
    """Switch to the confirmed address (which is thereby verified). The address may have been taken
    since the request: 409, and the token stays (nothing is written)."""

    def change(user: User, data: dict[str, Any]) -> int:
        new_email = str(data["new_email"])
        if User.objects.filter(email=new_email).exclude(pk=user.pk).exists():
            raise EmailTaken()
        user.email, user.email_verified = new_email, True
        try:
            with transaction.atomic():
                user.save(update_fields=["email", "email_verified"])
        except IntegrityError as exc:
            raise EmailTaken() from exc  # lost a race with a registration of the same address
        return user.pk

    user_id = one_time_token_use(purpose=OneTimeTokenPurpose.EMAIL_CHANGE, raw=token, action=change)
    security_event("email_changed", user_id=user_id)

"""JWT authentication that honours revocation (auth epoch + jti denylist) without a PostgreSQL query."""

import uuid
from typing import Any

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token

from accounts.models import RoleFlags
from accounts.revocation import access_token_is_revoked
from accounts.tokens import CLAIM_EPOCH, CLAIM_FAMILY, CLAIM_ROLE


class AuthenticatedUser(RoleFlags):
    """The caller of a JWT request, built from verified claims (no database row is loaded).

    Exposes only what authorization needs: `id`/`pk`, `role` and the role predicates. Load the full
    `User` through `accounts.selectors.user_get` when a view needs more (e.g. the name or email).
    """

    is_authenticated = True
    is_anonymous = False
    # Deactivation bumps the epoch, so a token that passed the epoch check belongs to an active user.
    is_active = True

    def __init__(self, *, user_id: int, role: str, family: str) -> None:
        self.id = user_id
        self.pk = user_id
        self.role = role
        self.family = family

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False  # Django object permissions are for the admin site, which uses sessions

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AuthenticatedUser) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __str__(self) -> str:
        return f"user {self.id}"


class RevocableJWTAuthentication(JWTAuthentication):
    """Bearer access tokens only (never from the query string): signature, `exp`, `aud`, `iss` and type
    are checked by simplejwt; then the epoch and the denylist (Redis, PostgreSQL if Redis is down)."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            return AccessToken(raw_token)  # type: ignore[arg-type]
        except TokenError as exc:
            # One generic message: which check failed is of no use to a client and some use to an attacker.
            raise AuthenticationFailed("Token is invalid or expired.", code="token_not_valid") from exc

    def get_user(self, validated_token: Token) -> Any:
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
            epoch = int(validated_token[CLAIM_EPOCH])
            role = str(validated_token[CLAIM_ROLE])
            jti = str(validated_token[api_settings.JTI_CLAIM])
            family = uuid.UUID(str(validated_token[CLAIM_FAMILY])).hex
        except (KeyError, TypeError, ValueError) as exc:
            # Not minted by us (e.g. a stock simplejwt token without our claims).
            raise AuthenticationFailed("Token is invalid or expired.", code="token_not_valid") from exc
        if access_token_is_revoked(user_id=user_id, epoch=epoch, jti=jti, family=family):
            raise AuthenticationFailed("Token has been revoked.", code="token_revoked")
        return AuthenticatedUser(user_id=user_id, role=role, family=family)

import unicodedata
from collections.abc import Iterator
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


class Role(models.TextChoices):
    STUDENT = "student", "Student"
    INSTRUCTOR = "instructor", "Instructor"
    ADMIN = "admin", "Admin"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        if not email:
            raise ValueError("email is required")
        fields.pop("is_staff", None)  # derived from role
        fields.pop("is_superuser", None)
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields["role"] = Role.ADMIN
        fields.setdefault("name", normalize_email(email).split("@")[0])
        # Whoever runs createsuperuser owns the address they type: nothing to confirm.
        fields.setdefault("email_verified", True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email=normalize_email(username or ""))


SESSION_HASH_SALT = "accounts.User.session_auth_hash.v2"


def normalize_email(email: str) -> str:
    """Emails are case-insensitive logins: stored and compared NFKC-normalised (as Django's login form
    cleans a username), stripped and lower-cased, so every spelling of one address is one account, also
    for the rate limits keyed by it."""
    return unicodedata.normalize("NFKC", email).strip().lower()


class RoleFlags:
    """Role predicates shared by the `User` row and the token-built `AuthenticatedUser`.

    The admin site is for the admin role only (staff = superuser = admin); there are no per-object
    Django permissions.
    """

    role: str

    @property
    def is_staff(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_superuser(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_instructor(self) -> bool:
        return self.role == Role.INSTRUCTOR


class User(RoleFlags, AbstractBaseUser):
    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=150, blank=True, default="")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT, db_index=True)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Set when the owner followed a verification (or email-change) link. Accounts that existed before
    # verification was introduced count as verified (migration 0004); new registrations start False.
    email_verified = models.BooleanField(default=False)
    # Bumped by logout-all, password change, role change and deactivation: tokens carrying an older
    # epoch are refused at once (cached in Redis so verifying a token needs no PostgreSQL query).
    auth_epoch = models.PositiveIntegerField(default=0)
    # Bumped when browser sessions must end while the user's other JWT login families may live on
    # (refresh-token reuse): part of the session hash, never of a token.
    session_epoch = models.PositiveIntegerField(default=0)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    # Empty so `createsuperuser --noinput` works with DJANGO_SUPERUSER_EMAIL/PASSWORD alone;
    # create_superuser derives a name from the email.
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    # Browser sessions are bound to the auth epoch: Django compares the hash stored at login with this
    # one on every session request, using the user row it loads anyway (no extra query). Django's own
    # hash covers only the password; adding the epoch ends sessions on logout-all, the admin's "log out
    # everywhere", role change and deactivation (auth_epoch) and on refresh-token reuse (session_epoch).
    def _session_hash(self, *, secret: str | bytes | None) -> str:
        value = f"{self.password}\x00epoch:{self.auth_epoch}:{self.session_epoch}"
        return salted_hmac(SESSION_HASH_SALT, value, secret=secret, algorithm="sha256").hexdigest()

    def get_session_auth_hash(self) -> str:
        return self._session_hash(secret=None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_active and self.is_admin

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        return self.is_active and self.is_admin

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_active and self.is_admin


class TokenLineage(models.Model):
    """Where a refresh token sits in its login's family (simplejwt has no families).

    One row per refresh token we mint, keyed on simplejwt's OutstandingToken so `flushexpiredtokens`
    deletes lineage together with the expired tokens. `family` is shared by every token descended from
    one login; `parent` is the token this one was rotated from (None for the login token).
    """

    token = models.OneToOneField(
        OutstandingToken, on_delete=models.CASCADE, primary_key=True, related_name="lineage"
    )
    family = models.UUIDField(db_index=True)
    parent = models.ForeignKey(
        OutstandingToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )
    # The original login time, carried through rotations: the absolute session cap counts from it.
    auth_time = models.DateTimeField()

    class Meta:
        verbose_name = "token lineage"
        verbose_name_plural = "token lineage"

    def __str__(self) -> str:
        return f"family {self.family} / token {self.token_id}"


class OneTimeTokenPurpose(models.TextChoices):
    PASSWORD_RESET = "password_reset", "Password reset"
    EMAIL_VERIFY = "email_verify", "Email verification"
    EMAIL_CHANGE = "email_change", "Email change"


class OneTimeToken(models.Model):
    """A single-use token mailed to a user (accounts/onetime.py has the rules).

    Only the SHA-256 digest of the token is stored. `state` binds the token to the account's password
    and email at issue time, so changing either invalidates it; issuing a newer token of the same
    purpose deletes the older ones, and using a token deletes it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=32, choices=OneTimeTokenPurpose.choices)
    digest = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)  # e.g. the new address of an email change
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose"], name="onetime_user_purpose_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} for user {self.user_id}"

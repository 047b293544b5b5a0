"""POST /auth/token: credentials, hashing, no enumeration, fresh token pairs."""

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import TokenLineage, User
from accounts.tests.conftest import TOKEN, assert_error, claims
from accounts.tests.hashers import CountingArgon2PasswordHasher

pytestmark = pytest.mark.django_db


def post_login(api_client, email, password):
    return api_client.post(TOKEN, {"email": email, "password": password}, format="json")


def test_login_returns_a_token_pair_with_our_claims(api_client, instructor):
    response = post_login(api_client, instructor.email.upper(), instructor.raw_password)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    access, refresh = claims(body["access"]), claims(body["refresh"])
    assert access["user_id"] == instructor.pk
    assert access["role"] == "instructor"
    assert access["auth_epoch"] == 0
    assert access["token_type"] == "access"
    assert access["exp"] - access["iat"] == 300  # ≤ 5 minutes
    assert refresh["token_type"] == "refresh"
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600
    assert access["family"] == refresh["family"]
    assert access["auth_time"] == refresh["auth_time"] == refresh["iat"]
    assert access["aud"] == refresh["aud"] == "learnstream-api"
    assert access["iss"] == "learnstream"
    assert "role" not in refresh  # authority is re-read from the database at every rotation
    assert "no-store" in response["Cache-Control"]


def test_each_login_is_a_fresh_family(api_client, student):
    """two logins → distinct jtis, two outstanding refresh tokens, two families."""
    first = post_login(api_client, student.email, student.raw_password).json()
    second = post_login(api_client, student.email, student.raw_password).json()

    assert claims(first["refresh"])["jti"] != claims(second["refresh"])["jti"]
    assert claims(first["access"])["jti"] != claims(second["access"])["jti"]
    assert OutstandingToken.objects.filter(user=student).count() == 2
    assert TokenLineage.objects.values("family").distinct().count() == 2
    assert set(TokenLineage.objects.values_list("parent", flat=True)) == {None}


@pytest.mark.parametrize("case", ["unknown_email", "wrong_password", "inactive", "malformed_email"])
def test_bad_credentials_share_one_answer(api_client, make_user, case):
    user = make_user(email="known@example.com", is_active=case != "inactive")
    email = {"unknown_email": "nobody@example.com", "malformed_email": "not an email"}.get(case, user.email)
    password = "wrong-password-123" if case == "wrong_password" else user.raw_password

    response = post_login(api_client, email, password)

    error = assert_error(response, 401, "invalid_credentials")
    assert error["message"] == "No active account found with the given credentials."
    assert error["details"] == {}
    assert not OutstandingToken.objects.exists()


def test_unknown_email_still_runs_the_password_hasher(api_client, make_user, settings):
    """Timing-safe: the unknown-email path hashes once, like the wrong-password path verifies once."""
    user = make_user()
    settings.PASSWORD_HASHERS = ["accounts.tests.hashers.CountingArgon2PasswordHasher"]
    user.password = make_password(user.raw_password)
    user.save(update_fields=["password"])
    CountingArgon2PasswordHasher.calls.clear()

    post_login(api_client, "nobody@example.com", "some-password-1")
    unknown_calls = list(CountingArgon2PasswordHasher.calls)
    CountingArgon2PasswordHasher.calls.clear()
    post_login(api_client, user.email, "wrong-password-1")

    assert unknown_calls == ["encode"]
    assert CountingArgon2PasswordHasher.calls == ["verify"]


def test_password_hash_is_argon2id(api_client, make_user):
    """Argon2 first; a legacy PBKDF2 hash is upgraded on the next successful login."""
    assert settings.PASSWORD_HASHERS[-2:] == [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = make_user()
    assert user.password.startswith("argon2$argon2id$")
    legacy = make_user()
    # A real PBKDF2 hash (few iterations to keep the test fast; the upgrade path is the same).
    legacy_hash = PBKDF2PasswordHasher().encode(legacy.raw_password, "legacysalt", iterations=1000)
    User.objects.filter(pk=legacy.pk).update(password=legacy_hash)

    assert post_login(api_client, legacy.email, legacy.raw_password).status_code == 200

    legacy.refresh_from_db()
    assert legacy.password.startswith("argon2$argon2id$")
    assert legacy.check_password(legacy.raw_password)


def test_production_hasher_order_puts_argon2_first():
    """The test profile prepends a cheap Argon2 (same argon2id format); production starts with Argon2."""
    from learnstream.hashers import FastArgon2PasswordHasher

    assert settings.PASSWORD_HASHERS[0] == "learnstream.hashers.FastArgon2PasswordHasher"
    assert FastArgon2PasswordHasher.algorithm == "argon2"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "a@example.com"},
        {"password": "x" * 12},
        {"email": "a@example.com", "password": "x" * 1025},
    ],
)
def test_login_body_validation(api_client, body):
    response = api_client.post(TOKEN, body, format="json")

    assert_error(response, 400, "validation_error")
    assert not OutstandingToken.objects.exists()

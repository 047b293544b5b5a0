"""POST /auth/register and the password policy."""

import pytest

from accounts.models import User
from accounts.tests.conftest import REGISTER, TOKEN, assert_error

pytestmark = pytest.mark.django_db

STRONG = "glacier-violin-pumpkin-42"


def register(api_client, *, email="new@example.com", password=STRONG, name="New Person", **extra):
    return api_client.post(
        REGISTER, {"email": email, "password": password, "name": name, **extra}, format="json"
    )


def test_register_creates_a_student(api_client):
    response = register(api_client, email="  New.Person@Example.COM ")

    assert response.status_code == 201
    user = User.objects.get()
    assert response.json() == {
        "id": user.pk,
        "email": "new.person@example.com",
        "name": "New Person",
        "role": "student",
    }
    assert user.check_password(STRONG)
    assert response["Cache-Control"].count("no-store") == 1


def test_register_ignores_role_and_staff_flags(api_client):
    response = register(api_client, role="admin", is_staff=True, is_superuser=True, auth_epoch=99)

    assert response.status_code == 201
    assert response.json()["role"] == "student"
    user = User.objects.get()
    assert (user.role, user.is_staff, user.auth_epoch) == ("student", False, 0)


def test_register_taken_email_is_409_case_insensitively(api_client, make_user):
    make_user(email="taken@example.com")

    response = register(api_client, email="TAKEN@example.com")

    assert_error(response, 409, "email_taken")
    assert User.objects.count() == 1


def test_register_validates_shape(api_client):
    response = api_client.post(REGISTER, {"email": "not-an-email", "password": STRONG}, format="json")

    error = assert_error(response, 400, "validation_error")
    assert set(error["details"]) == {"email", "name"}
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("length", "status"),
    [(7, 400), (9, 400), (10, 201), (12, 201), (64, 201), (1000, 201), (1024, 201), (1025, 400)],
)
def test_password_length_bounds(api_client, length, status):
    """min 10 (validator), ≥ 64 accepted (ASVS 6.2.9), max 1024 (bounded hashing cost)."""
    password = ("kq7x-Vmz3!" * 103)[:length]

    response = register(api_client, password=password)

    assert response.status_code == status, response.content
    assert User.objects.exists() == (status == 201)
    if length < 10:
        assert response.json()["error"]["details"]["password"] == [
            "This password is too short. It must contain at least 10 characters."
        ]


def test_password_is_verified_exactly_as_received(api_client):
    """leading/trailing spaces are part of the password (ASVS 6.2.8)."""
    password = "  spaced out passphrase  "
    assert register(api_client, password=password).status_code == 201

    exact = api_client.post(TOKEN, {"email": "new@example.com", "password": password}, format="json")
    trimmed = api_client.post(
        TOKEN, {"email": "new@example.com", "password": password.strip()}, format="json"
    )

    assert exact.status_code == 200
    assert_error(trimmed, 401, "invalid_credentials")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password123", "This password is too common."),
        ("iloveyou12", "This password is too common."),
        ("1234567890123", "This password is entirely numeric."),
        ("new.person@example.com", "The password is too similar to the email."),
    ],
)
def test_weak_password_names_the_validator(api_client, password, message):
    """Django's validators (common list, numeric, similarity); 400 and no user row."""
    response = register(api_client, email="new.person@example.com", password=password)

    error = assert_error(response, 400, "validation_error")
    assert message in error["details"]["password"]
    assert not User.objects.exists()


def test_no_composition_rules(api_client):
    """lowercase words with spaces are fine."""
    assert register(api_client, password="correct horse battery staple").status_code == 201


def test_register_requires_no_authentication_and_ignores_a_bad_bearer(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert register(api_client).status_code == 201

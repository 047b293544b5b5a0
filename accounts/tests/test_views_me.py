"""GET/PATCH /auth/me and POST /auth/me/password."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from accounts.tests.conftest import ME, PASSWORD, TOKEN, assert_error, bearer
from accounts.tokens import issue_token_pair

pytestmark = pytest.mark.django_db


def test_me_returns_the_profile(student, client_for):
    response = client_for(student).get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": student.pk,
        "email": student.email,
        "name": "Stu Dent",
        "role": "student",
        "date_joined": student.date_joined.isoformat().replace("+00:00", "Z"),
        "email_verified": False,
    }
    assert "no-store" in response["Cache-Control"]


def test_me_requires_authentication(api_client):
    assert_error(api_client.get(ME), 401, "not_authenticated")


def test_patch_me_changes_the_name_only(student, client_for):
    """role/is_staff/is_superuser/email/is_active in the body are ignored."""
    response = client_for(student).patch(
        ME,
        {
            "name": "Renamed",
            "role": "admin",
            "is_staff": True,
            "is_superuser": True,
            "email": "hijack@example.com",
            "is_active": False,
            "auth_epoch": 42,
        },
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    assert response.json()["role"] == "student"
    stored = User.objects.get(pk=student.pk)
    assert (stored.name, stored.role, stored.email, stored.is_active, stored.auth_epoch) == (
        "Renamed",
        "student",
        student.email,
        True,
        0,
    )


def test_patch_me_validates_the_name(student, client_for):
    response = client_for(student).patch(ME, {"name": "x" * 151}, format="json")

    assert_error(response, 400, "validation_error")
    assert User.objects.get(pk=student.pk).name == "Stu Dent"


def test_put_and_delete_on_me_are_405(student, client_for):
    client = client_for(student)

    assert_error(client.put(ME, {"name": "x"}, format="json"), 405, "method_not_allowed")
    assert_error(client.delete(ME), 405, "method_not_allowed")


def test_password_change_requires_current_and_revokes_sessions(student, api_client, refresh):
    """missing / wrong current password → 400 and nothing changes; the right one → 204 and the
    refresh tokens of 3 earlier logins (and this session) are dead."""
    earlier = [issue_token_pair(student) for _ in range(3)]
    access, _rt = issue_token_pair(student)
    client = bearer(access)
    new = "a-brand-new-passphrase-7"

    missing = client.post(PASSWORD, {"new_password": new}, format="json")
    wrong = client.post(
        PASSWORD, {"current_password": "not-my-password-1", "new_password": new}, format="json"
    )

    assert set(assert_error(missing, 400, "validation_error")["details"]) == {"current_password"}
    assert assert_error(wrong, 400, "validation_error")["details"] == {
        "current_password": ["The current password is incorrect."]
    }
    assert User.objects.get(pk=student.pk).check_password(student.raw_password)
    assert OutstandingToken.objects.filter(user=student, blacklistedtoken__isnull=True).count() == 4

    ok = client.post(PASSWORD, {"current_password": student.raw_password, "new_password": new}, format="json")

    assert ok.status_code == 204
    for _access, rt in earlier:
        assert_error(refresh(rt), 401, "token_not_valid")
    assert_error(client.get(ME), 401, "token_revoked")
    assert api_client.post(TOKEN, {"email": student.email, "password": new}, format="json").status_code == 200
    login_old = api_client.post(
        TOKEN, {"email": student.email, "password": student.raw_password}, format="json"
    )
    assert_error(login_old, 401, "invalid_credentials")


def test_password_change_applies_the_validators(student, client_for):
    response = client_for(student).post(
        PASSWORD, {"current_password": student.raw_password, "new_password": "password123"}, format="json"
    )

    error = assert_error(response, 400, "validation_error")
    assert error["details"] == {"new_password": ["This password is too common."]}
    assert User.objects.get(pk=student.pk).check_password(student.raw_password)


def test_password_guessing_is_rate_limited(student, client_for):
    client = client_for(student)
    body = {"current_password": "guess-number-000", "new_password": "another-long-passphrase"}

    statuses = [client.post(PASSWORD, body, format="json").status_code for _ in range(6)]

    assert statuses == [400] * 5 + [429]

"""Logout (one session), logout-all, and immediate revocation via the auth epoch."""

import pytest
from django.core.cache import caches
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.tests.conftest import LOGOUT, LOGOUT_ALL, ME, assert_error, bearer, claims
from accounts.tokens import issue_token_pair

pytestmark = pytest.mark.django_db


def test_logout_blacklists_refresh_and_kills_access(student, refresh):
    """refresh → 401 and the access token is refused at once (not merely at exp)."""
    access, rt = issue_token_pair(student)
    other_access, other_rt = issue_token_pair(student)  # a second device stays logged in

    response = bearer(access).post(LOGOUT, {"refresh": rt}, format="json")

    assert response.status_code == 204
    assert_error(refresh(rt), 401, "token_not_valid")
    assert_error(bearer(access).get(ME), 401, "token_revoked")
    assert bearer(other_access).get(ME).status_code == 200
    assert refresh(other_rt).status_code == 200
    denied = OutstandingToken.objects.get(jti=claims(access)["jti"])
    assert denied.token == ""  # the access token itself is never stored
    assert BlacklistedToken.objects.filter(token=denied).exists()
    assert denied.expires_at.timestamp() == claims(access)["exp"]


def test_logout_denylist_holds_when_redis_forgets(student):
    """The denylist is durable: with the cache emptied (Redis restarted), PostgreSQL still says no."""
    access, rt = issue_token_pair(student)
    assert bearer(access).post(LOGOUT, {"refresh": rt}, format="json").status_code == 204
    caches["default"].clear()

    assert_error(bearer(access).get(ME), 401, "token_revoked")


def test_logout_with_someone_elses_refresh_token_changes_nothing(student, other_student):
    access, _rt = issue_token_pair(student)
    _other_access, other_rt = issue_token_pair(other_student)
    before = BlacklistedToken.objects.count()

    response = bearer(access).post(LOGOUT, {"refresh": other_rt}, format="json")

    assert_error(response, 400, "validation_error")
    assert BlacklistedToken.objects.count() == before
    assert bearer(access).get(ME).status_code == 200


@pytest.mark.parametrize("body", [{}, {"refresh": "garbage"}])
def test_logout_validation(student, body):
    access, _rt = issue_token_pair(student)

    assert_error(bearer(access).post(LOGOUT, body, format="json"), 400, "validation_error")
    assert not BlacklistedToken.objects.exists()


def test_logout_requires_authentication(api_client, student):
    _access, rt = issue_token_pair(student)

    assert_error(api_client.post(LOGOUT, {"refresh": rt}, format="json"), 401, "not_authenticated")
    assert not BlacklistedToken.objects.exists()


def test_logout_twice_is_harmless(student):
    access, rt = issue_token_pair(student)
    second_access, _ = issue_token_pair(student)
    assert bearer(access).post(LOGOUT, {"refresh": rt}, format="json").status_code == 204

    assert bearer(second_access).post(LOGOUT, {"refresh": rt}, format="json").status_code == 204


def test_logout_all_devices(student, refresh):
    """three sessions, each rotated twice; logout-all → every refresh and access token dead."""
    sessions = []
    for _ in range(3):
        _access, rt = issue_token_pair(student)
        for _ in range(2):
            pair = refresh(rt).json()
            rt = pair["refresh"]
        sessions.append(pair)
    epoch_before = User.objects.get(pk=student.pk).auth_epoch

    response = bearer(sessions[0]["access"]).post(LOGOUT_ALL)

    assert response.status_code == 204
    for pair in sessions:
        assert_error(bearer(pair["access"]).get(ME), 401, "token_revoked")
        assert_error(refresh(pair["refresh"]), 401, "token_not_valid")
    assert not OutstandingToken.objects.filter(user=student, blacklistedtoken__isnull=True).exists()
    assert User.objects.get(pk=student.pk).auth_epoch == epoch_before + 1


def test_logout_all_bump_is_enforced_when_redis_is_down(student, settings):
    """Redis down → the epoch comes from PostgreSQL: revocation still holds (correctness over speed)."""
    old_access, _ = issue_token_pair(student)
    assert bearer(old_access).post(LOGOUT_ALL).status_code == 204
    new_access, _ = issue_token_pair(student)
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }

    assert_error(bearer(old_access).get(ME), 401, "token_revoked")
    assert bearer(new_access).get(ME).status_code == 200


def test_stale_cached_epoch_is_repaired_from_postgresql(student):
    """If a bump never reached Redis, a token newer than the cache triggers a PostgreSQL re-read."""
    from accounts.revocation import auth_state_publish

    old_access, _ = issue_token_pair(student)
    assert bearer(old_access).post(LOGOUT_ALL).status_code == 204
    auth_state_publish(user_id=student.pk, epoch=0, is_active=True)  # simulate the lost write
    new_access, _ = issue_token_pair(student)

    assert bearer(new_access).get(ME).status_code == 200
    assert_error(bearer(old_access).get(ME), 401, "token_revoked")


def test_role_change_takes_effect_immediately(instructor, admin_user, client_for, refresh):
    """a demoted instructor's still-valid access token is refused; a refresh yields the new role."""
    access, rt = issue_token_pair(instructor)
    assert bearer(access).get(ME).json()["role"] == "instructor"

    response = client_for(admin_user).patch(
        f"/api/v1/users/{instructor.pk}", {"role": "student"}, format="json"
    )
    assert response.status_code == 200

    assert_error(bearer(access).get(ME), 401, "token_revoked")
    rotated = refresh(rt)
    assert rotated.status_code == 200
    assert claims(rotated.json()["access"])["role"] == "student"
    assert bearer(rotated.json()["access"]).get(ME).json()["role"] == "student"

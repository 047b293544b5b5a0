"""POST /auth/token/refresh: rotation, reuse detection, grace window, absolute cap, dead users."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import TokenLineage
from accounts.tests.conftest import ME, assert_error, bearer, claims
from accounts.tokens import issue_token_pair

pytestmark = pytest.mark.django_db


def live_refresh_jtis(user):
    return set(
        OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).values_list(
            "jti", flat=True
        )
    )


def test_rotation_kills_the_old_token_and_keeps_the_family(student, refresh):
    _access, rt1 = issue_token_pair(student)

    response = refresh(rt1)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    rt2 = body["refresh"]
    assert claims(rt2)["family"] == claims(rt1)["family"] == claims(body["access"])["family"]
    assert claims(rt2)["auth_time"] == claims(rt1)["auth_time"]
    assert claims(rt2)["jti"] != claims(rt1)["jti"]
    assert claims(body["access"])["role"] == "student"
    assert live_refresh_jtis(student) == {claims(rt2)["jti"]}
    lineage = TokenLineage.objects.get(token__jti=claims(rt2)["jti"])
    assert lineage.parent.jti == claims(rt1)["jti"]
    assert bearer(body["access"]).get(ME).status_code == 200


def test_refresh_reuse_revokes_family(student, refresh, caplog):
    """RT1→RT2→RT3, replaying RT1 → 401, RT3 dies too, the family's access tokens die, and the
    event is logged with user and family ids."""
    _access, rt1 = issue_token_pair(student)
    rt2 = refresh(rt1).json()["refresh"]
    pair3 = refresh(rt2).json()
    other_access, other_refresh = issue_token_pair(student)  # another login (family) is unaffected

    with caplog.at_level(logging.INFO, logger="learnstream.security"):
        assert_error(refresh(rt1), 401, "token_not_valid")

    assert_error(refresh(pair3["refresh"]), 401, "token_not_valid")
    assert_error(bearer(pair3["access"]).get(ME), 401, "token_revoked")
    assert live_refresh_jtis(student) == {claims(other_refresh)["jti"]}
    assert bearer(other_access).get(ME).status_code == 200
    [event] = [r for r in caplog.records if getattr(r, "event", "") == "refresh_reuse_detected"]
    assert event.user_id == student.pk
    assert event.family == claims(rt1)["family"]
    assert event.levelname == "WARNING"


def test_family_revocation_survives_redis_loss(student, refresh, settings):
    """The family check falls back to PostgreSQL when the cached marker is gone."""
    from django.core.cache import caches

    settings.JWT_REFRESH_GRACE_SECONDS = 0  # immediate reuse detection, not the default grace window

    _access, rt1 = issue_token_pair(student)
    pair2 = refresh(rt1).json()
    assert_error(refresh(rt1), 401, "token_not_valid")
    caches["default"].clear()

    assert_error(bearer(pair2["access"]).get(ME), 401, "token_revoked")


def test_revoked_token_is_refused_without_a_reuse_alarm(student, refresh, caplog):
    """A logged-out (never rotated) token is 'revoked', not 'reused': nothing else is touched."""
    access, rt1 = issue_token_pair(student)
    assert bearer(access).post("/api/v1/auth/logout", {"refresh": rt1}, format="json").status_code == 204

    with caplog.at_level(logging.INFO, logger="learnstream.security"):
        assert_error(refresh(rt1), 401, "token_not_valid")

    events = [getattr(r, "event", "") for r in caplog.records]
    assert "refresh_reuse_detected" not in events
    assert "refresh_refused" in events


def test_grace_window_only_for_immediate_parent(student, refresh, settings):
    """with a grace window, the immediate parent replayed in time gets the *same* child back;
    the grandparent (or the parent after the window) triggers reuse detection."""
    settings.JWT_REFRESH_GRACE_SECONDS = 10
    with freeze_time() as frozen:
        _access, rt1 = issue_token_pair(student)
        rt2 = refresh(rt1).json()["refresh"]
        frozen.tick(timedelta(seconds=30))
        rt3 = refresh(rt2).json()["refresh"]
        frozen.tick(timedelta(seconds=5))

        retry = refresh(rt2)
        assert retry.status_code == 200
        assert retry.json()["refresh"] == rt3  # same family member, no fork
        assert bearer(retry.json()["access"]).get(ME).status_code == 200
        assert OutstandingToken.objects.filter(user=student).count() == 3

        assert_error(refresh(rt1), 401, "token_not_valid")  # second-to-last: breach
        assert_error(refresh(rt3), 401, "token_not_valid")
        assert live_refresh_jtis(student) == set()


def test_grace_window_expires(student, refresh, settings):
    settings.JWT_REFRESH_GRACE_SECONDS = 10
    with freeze_time() as frozen:
        _access, rt1 = issue_token_pair(student)
        rt2 = refresh(rt1).json()["refresh"]
        frozen.tick(timedelta(seconds=11))

        assert_error(refresh(rt1), 401, "token_not_valid")
        assert_error(refresh(rt2), 401, "token_not_valid")


def test_refresh_absolute_lifetime(student, refresh):
    """rotating daily keeps a session alive for 30 days from the original login, never longer."""
    start = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    cap = int((start + timedelta(days=30)).timestamp())
    with freeze_time(start) as frozen:
        _access, token = issue_token_pair(student)
        for day in range(1, 30):
            frozen.move_to(start + timedelta(days=day, hours=1))
            response = refresh(token)
            assert response.status_code == 200, (day, response.content)
            token = response.json()["refresh"]
            assert claims(token)["exp"] <= cap
            assert claims(response.json()["access"])["exp"] <= cap
        assert claims(token)["exp"] == cap  # minted on day 29: capped, not day 36

        frozen.move_to(start + timedelta(days=30, hours=1))
        assert_error(refresh(token), 401, "token_not_valid")
        frozen.move_to(start + timedelta(days=31))
        assert_error(refresh(token), 401, "token_not_valid")


def test_disabled_or_deleted_user_tokens_dead(make_user, refresh, admin_user, client_for):
    """deactivated, then deleted: every old token → 401, never 500."""
    user = make_user()
    access, rt = issue_token_pair(user)
    admin = client_for(admin_user)

    assert admin.patch(f"/api/v1/users/{user.pk}", {"is_active": False}, format="json").status_code == 200
    assert_error(bearer(access).get(ME), 401, "token_revoked")
    assert_error(refresh(rt), 401, "token_not_valid")

    access2, _rt2 = issue_token_pair(make_user())  # unrelated user, for contrast
    user.delete()
    assert_error(bearer(access).get(ME), 401, "token_revoked")
    assert_error(refresh(rt), 401, "token_not_valid")
    assert bearer(access2).get(ME).status_code == 200


def test_deleted_user_with_live_tokens_gets_401(make_user, refresh):
    """simplejwt #812: deletion without prior revocation (e.g. from the shell) is still 401."""
    user = make_user()
    access, rt = issue_token_pair(user)
    user.delete()

    assert_error(bearer(access).get(ME), 401, "token_revoked")
    assert_error(refresh(rt), 401, "token_not_valid")


def test_unknown_refresh_token_is_refused(student, refresh):
    """A correctly signed refresh token we never recorded (or already flushed) is not honoured."""
    _access, rt = issue_token_pair(student)
    OutstandingToken.objects.filter(jti=claims(rt)["jti"]).delete()

    assert_error(refresh(rt), 401, "token_not_valid")
    assert not BlacklistedToken.objects.exists()


@pytest.mark.parametrize("body", [{}, {"refresh": ""}, {"refresh": "x" * 5000}])
def test_refresh_body_validation(api_client, body):
    assert_error(api_client.post("/api/v1/auth/token/refresh", body, format="json"), 400, "validation_error")


def test_garbage_refresh_token_is_401(refresh):
    assert_error(refresh("not.a.jwt"), 401, "token_not_valid")

"""Browser sessions (admin site, browsable API) end with the JWTs: they are bound to the user's auth
epoch (and session epoch), checked on every request from the user row Django loads anyway."""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.tests.conftest import LOGOUT_ALL, ME, PASSWORD, REFRESH, bearer
from accounts.tokens import issue_token_pair

pytestmark = pytest.mark.django_db


def session_for(user: Any, path: str = "/api-auth/login/") -> Client:
    client = Client()
    response = client.post(path, {"username": user.email, "password": user.raw_password, "next": "/"})
    assert response.status_code == 302, response.content[:300]
    assert client.get(ME).status_code == 200
    return client


def _logout_all(user: Any, admin: Any) -> None:
    access, _refresh = issue_token_pair(user)
    assert bearer(access).post(LOGOUT_ALL).status_code == 204


def _admin_log_out_everywhere(user: Any, admin: Any) -> None:
    admin_session = session_for(admin, "/admin/login/")
    response = admin_session.post(
        "/admin/accounts/user/",
        {"action": "log_out_everywhere", "_selected_action": [str(user.pk)], "index": "0"},
    )
    assert response.status_code == 302, response.content[:300]


def _deactivate(user: Any, admin: Any) -> None:
    access, _refresh = issue_token_pair(admin)
    assert (
        bearer(access).patch(f"/api/v1/users/{user.pk}/", {"is_active": False}, format="json").status_code
        == 200
    )


def _role_change(user: Any, admin: Any) -> None:
    access, _refresh = issue_token_pair(admin)
    reply = bearer(access).patch(f"/api/v1/users/{user.pk}/", {"role": "instructor"}, format="json")
    assert reply.status_code == 200


def _password_change(user: Any, admin: Any) -> None:
    access, _refresh = issue_token_pair(user)
    body = {"current_password": user.raw_password, "new_password": "another-Long-passphrase-77"}
    assert bearer(access).post(PASSWORD, body, format="json").status_code == 204


def _refresh_reuse(user: Any, admin: Any) -> None:
    # The test sets JWT_REFRESH_GRACE_SECONDS = 0: a reuse at once, not a duplicate within the window.
    _access, rt1 = issue_token_pair(user)
    client = bearer("unused")
    client.credentials()
    assert client.post(REFRESH, {"refresh": rt1}, format="json").status_code == 200
    assert client.post(REFRESH, {"refresh": rt1}, format="json").status_code == 401  # reuse


TRIGGERS: dict[str, Callable[[Any, Any], None]] = {
    "logout_all": _logout_all,
    "admin_log_out_everywhere": _admin_log_out_everywhere,
    "deactivation": _deactivate,
    "role_change": _role_change,
    "password_change": _password_change,
    "refresh_reuse": _refresh_reuse,
}


@pytest.mark.parametrize("trigger", TRIGGERS.values(), ids=TRIGGERS.keys())
def test_revocation_ends_browser_sessions(trigger, student, admin_user, settings):
    settings.JWT_REFRESH_GRACE_SECONDS = 0
    session = session_for(student)
    bystander = session_for(admin_user, "/admin/login/")

    trigger(student, admin_user)

    assert session.get(ME).status_code == 401
    assert session.get("/api/v1/courses/").wsgi_request.user.is_anonymous
    assert bystander.get("/admin/").status_code == 200  # other users' sessions are untouched


def test_admin_session_ends_on_logout_all(admin_user, make_user):
    make_user("admin")  # not the last admin
    session = session_for(admin_user, "/admin/login/")
    assert session.get("/admin/").status_code == 200

    services.sessions_revoke_all(user_id=admin_user.pk, reason="test")

    response = session.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_refresh_reuse_spares_the_users_other_jwt_families(student, settings):
    settings.JWT_REFRESH_GRACE_SECONDS = 0
    other_access, _other_refresh = issue_token_pair(student)
    _refresh_reuse(student, None)

    assert bearer(other_access).get(ME).status_code == 200


def test_session_check_costs_no_extra_query(student):
    """The epoch check uses the user row Django loads for every session request: a session request
    to `me` makes exactly the session read, the user read and `me`'s own profile read."""
    session = session_for(student)

    with CaptureQueriesContext(connection) as queries:
        assert session.get(ME).status_code == 200

    tables = [q["sql"].split(" FROM ")[1].split()[0].strip('"') for q in queries.captured_queries]
    assert tables == ["django_session", "accounts_user", "accounts_user"]


def test_session_lifetime_is_a_working_day(student):
    client = Client()
    client.post("/api-auth/login/", {"username": student.email, "password": student.raw_password})

    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 8 * 3600

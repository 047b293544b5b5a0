"""Django admin for users and tokens, and `createsuperuser`."""

import re

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.tests.conftest import ME, assert_error, bearer, claims
from accounts.tokens import issue_token_pair

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture
def admin_site(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def change_form(user, **overrides):
    data = {"email": user.email, "name": user.name, "role": user.role, "is_active": "on", "_save": "Save"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_changelist_filters_and_searches(admin_site, make_user):
    alice = make_user("instructor", email="alice@example.com", name="Alice")
    bob = make_user("student", email="bob@example.com", name="Bob", is_active=False)

    by_role = admin_site.get(CHANGELIST, {"role__exact": "instructor"}).content.decode()
    inactive = admin_site.get(CHANGELIST, {"is_active__exact": "0"}).content.decode()
    search = admin_site.get(CHANGELIST, {"q": "alice"}).content.decode()

    assert alice.email in by_role
    assert bob.email not in by_role
    assert bob.email in inactive
    assert alice.email not in inactive
    assert alice.email in search
    assert bob.email not in search


def test_non_admins_cannot_use_the_admin(make_user):
    client = Client()
    client.force_login(make_user("instructor"))

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_login_uses_email_and_password(admin_user):
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/accounts/user/",
        {"username": admin_user.email, "password": admin_user.raw_password},
    )
    assert response.status_code == 302
    assert client.get(CHANGELIST).status_code == 200


def test_role_change_in_admin_revokes_access_tokens(admin_site, instructor):
    access, _rt = issue_token_pair(instructor)

    response = admin_site.post(
        f"{CHANGELIST}{instructor.pk}/change/", change_form(instructor, role="student")
    )

    assert response.status_code == 302
    stored = User.objects.get(pk=instructor.pk)
    assert (stored.role, stored.auth_epoch) == ("student", 1)
    assert_error(bearer(access).get(ME), 401, "token_revoked")


def test_last_admin_cannot_be_demoted_or_deactivated_in_admin(admin_site, admin_user):
    demote = admin_site.post(f"{CHANGELIST}{admin_user.pk}/change/", change_form(admin_user, role="student"))
    deactivate = admin_site.post(
        f"{CHANGELIST}{admin_user.pk}/change/", change_form(admin_user, is_active=None)
    )

    for response in (demote, deactivate):
        assert response.status_code == 200
        assert "This change would leave no active administrator." in response.content.decode()
    stored = User.objects.get(pk=admin_user.pk)
    assert (stored.role, stored.is_active, stored.auth_epoch) == ("admin", True, 0)


def test_deactivate_action(admin_site, admin_user, student, refresh):
    access, rt = issue_token_pair(student)

    response = admin_site.post(
        CHANGELIST,
        {"action": "deactivate_users", "_selected_action": [student.pk, admin_user.pk]},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "This change would leave no active administrator." in page
    assert "Deactivated 1 user(s)." in page
    assert User.objects.get(pk=student.pk).is_active is False
    assert User.objects.get(pk=admin_user.pk).is_active is True
    assert_error(bearer(access).get(ME), 401, "token_revoked")
    assert_error(refresh(rt), 401, "token_not_valid")


def test_log_out_everywhere_action(admin_site, student, refresh):
    sessions = [issue_token_pair(student) for _ in range(2)]

    response = admin_site.post(CHANGELIST, {"action": "log_out_everywhere", "_selected_action": [student.pk]})

    assert response.status_code == 302
    for access, rt in sessions:
        assert_error(bearer(access).get(ME), 401, "token_revoked")
        assert_error(refresh(rt), 401, "token_not_valid")
    assert User.objects.get(pk=student.pk).is_active is True  # logged out, not locked out


def test_add_user_in_admin_validates_and_hashes(admin_site):
    weak = admin_site.post(
        f"{CHANGELIST}add/",
        {
            "email": "new@example.com",
            "name": "New",
            "role": "instructor",
            "password1": "password1",
            "password2": "password1",
        },
    )
    assert weak.status_code == 200
    assert not User.objects.filter(email="new@example.com").exists()

    response = admin_site.post(
        f"{CHANGELIST}add/",
        {
            "email": "New@Example.com",
            "name": "New",
            "role": "instructor",
            "password1": "orchard-lantern-1987",
            "password2": "orchard-lantern-1987",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.role == "instructor"
    assert user.password.startswith("argon2$argon2id$")


def test_password_reset_in_admin_ends_sessions(admin_site, student, refresh):
    access, rt = issue_token_pair(student)

    response = admin_site.post(
        f"{CHANGELIST}{student.pk}/password/",
        {
            "password1": "fresh-orchard-lantern-5",
            "password2": "fresh-orchard-lantern-5",
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    assert User.objects.get(pk=student.pk).check_password("fresh-orchard-lantern-5")
    assert_error(bearer(access).get(ME), 401, "token_revoked")
    assert_error(refresh(rt), 401, "token_not_valid")


def test_the_last_admin_cannot_be_deleted(admin_site, admin_user):
    response = admin_site.post(f"{CHANGELIST}{admin_user.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_token_admin_never_shows_raw_tokens(admin_site, student, refresh):
    _access, rt = issue_token_pair(student)
    rotated = refresh(rt).json()["refresh"]
    outstanding = OutstandingToken.objects.get(jti=claims(rt)["jti"])
    blacklisted = BlacklistedToken.objects.get(token=outstanding)

    pages = [
        admin_site.get("/admin/token_blacklist/outstandingtoken/"),
        admin_site.get(f"/admin/token_blacklist/outstandingtoken/{outstanding.pk}/change/"),
        admin_site.get("/admin/token_blacklist/blacklistedtoken/"),
        admin_site.get(f"/admin/token_blacklist/blacklistedtoken/{blacklisted.pk}/change/"),
    ]

    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert rt not in html
        assert rotated not in html
        assert not re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+", html)
    assert claims(rt)["jti"] in pages[0].content.decode()
    assert claims(rt)["family"] in pages[0].content.decode()


def test_blacklist_rows_cannot_be_deleted_from_the_admin(admin_site, student, refresh):
    _access, rt = issue_token_pair(student)
    refresh(rt)
    blacklisted = BlacklistedToken.objects.get()

    response = admin_site.post(
        f"/admin/token_blacklist/blacklistedtoken/{blacklisted.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 403
    assert BlacklistedToken.objects.filter(pk=blacklisted.pk).exists()


def test_createsuperuser_noinput_from_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "root-orchard-lantern-77")

    call_command("createsuperuser", interactive=False, verbosity=0)

    user = User.objects.get()
    assert (user.email, user.name, user.role, user.is_active) == ("root@example.com", "root", "admin", True)
    assert user.is_staff
    assert user.is_superuser
    assert user.check_password("root-orchard-lantern-77")
    assert user.password.startswith("argon2$argon2id$")


def test_createsuperuser_with_options(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "root-orchard-lantern-77")

    call_command("createsuperuser", "--email", "ops@example.com", "--noinput", verbosity=0)

    assert User.objects.get().role == "admin"


def test_revoke_session_action_ends_that_session_only(admin_site, student, refresh):
    kept_access, kept_refresh = issue_token_pair(student)
    revoked_access, revoked_refresh = issue_token_pair(student)
    revoked_jti = claims(revoked_refresh)["jti"]
    token_id = OutstandingToken.objects.get(jti=revoked_jti).pk

    response = admin_site.post(
        "/admin/token_blacklist/outstandingtoken/",
        {"action": "revoke_sessions", "_selected_action": [token_id]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 1 token(s)." in response.content.decode()
    assert BlacklistedToken.objects.filter(token__jti=revoked_jti).exists()
    assert_error(bearer(revoked_access).get(ME), 401, "token_revoked")
    assert_error(refresh(revoked_refresh), 401, "token_not_valid")
    assert bearer(kept_access).get(ME).status_code == 200
    assert refresh(kept_refresh).status_code == 200


def test_the_user_admin_shows_and_filters_email_verification(admin_site, make_user):
    verified = make_user(email="verified@example.com")
    User.objects.filter(pk=verified.pk).update(email_verified=True)
    pending = make_user(email="pending@example.com")

    unverified = admin_site.get(CHANGELIST, {"email_verified__exact": "0"}).content.decode()
    page = admin_site.get(f"{CHANGELIST}{pending.pk}/change/").content.decode()
    saved = admin_site.post(f"{CHANGELIST}{pending.pk}/change/", change_form(pending, email_verified="on"))

    assert pending.email in unverified
    assert verified.email not in unverified
    assert "Email verified" in page
    assert saved.status_code == 302
    assert User.objects.get(pk=pending.pk).email_verified is False  # read-only: a posted value is ignored

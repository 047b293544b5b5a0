"""The HTML session logins share auth/token's rate limits (one implementation, accounts/ratelimits.py)
and answer a refused attempt with a 429 lockout page before any password is hashed."""

import pytest
from django.test import Client

from accounts.tests.conftest import TOKEN

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_window")]

ADMIN_LOGIN = "/admin/login/"
API_LOGIN = "/api-auth/login/"
SESSION_KEY = "_auth_user_id"


def post_login(client, path, email, password, **extra):
    return client.post(path, {"username": email, "password": password, "next": "/admin/"}, **extra)


def assert_lockout(response):
    assert response.status_code == 429, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert b"Too many sign-in attempts" in response.content
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("path", [ADMIN_LOGIN, API_LOGIN])
def test_session_login_guesses_are_limited_per_account(path, admin_user):
    client = Client()
    guesses = [post_login(client, path, admin_user.email, f"wrong-guess-{i:04}") for i in range(5)]

    blocked = post_login(client, path, admin_user.email, admin_user.raw_password)

    assert [r.status_code for r in guesses] == [200] * 5  # the form again, with its error
    assert_lockout(blocked)
    assert SESSION_KEY not in client.session  # the right password inside the block logs nobody in


@pytest.mark.parametrize("path", [ADMIN_LOGIN, API_LOGIN])
def test_session_login_is_limited_per_network(path):
    client = Client()
    guesses = [
        post_login(client, path, f"user{i}@example.com", "wrong-guess-0000", REMOTE_ADDR="10.11.0.1")
        for i in range(20)
    ]

    assert [r.status_code for r in guesses] == [200] * 20
    assert_lockout(post_login(client, path, "other@example.com", "x" * 12, REMOTE_ADDR="10.11.0.1"))
    ipv6_block = [
        post_login(
            client, path, f"v6-{i}@example.com", "wrong-guess-0000", REMOTE_ADDR=f"2001:db8:9::{i + 1:x}"
        )
        for i in range(20)
    ]
    assert [r.status_code for r in ipv6_block] == [200] * 20
    assert_lockout(post_login(client, path, "v6@example.com", "x" * 12, REMOTE_ADDR="2001:db8:9::ffff"))


def test_all_login_surfaces_share_one_counter(admin_user, api_client):
    """3 guesses at auth/token + 2 at the admin login exhaust the 5/min per account and network: the
    browsable API's login is refused too."""
    for i in range(3):
        body = {"email": admin_user.email, "password": f"wrong-guess-{i:04}"}
        assert api_client.post(TOKEN, body, format="json").status_code == 401
    client = Client()
    for i in range(2):
        assert post_login(client, ADMIN_LOGIN, admin_user.email, f"wrong-admin-{i:04}").status_code == 200

    assert_lockout(post_login(client, API_LOGIN, admin_user.email, admin_user.raw_password))
    assert (
        api_client.post(
            TOKEN, {"email": admin_user.email, "password": admin_user.raw_password}, format="json"
        ).status_code
        == 429
    )


def test_successful_session_login_still_works(admin_user):
    client = Client()

    response = post_login(client, ADMIN_LOGIN, admin_user.email, admin_user.raw_password)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session[SESSION_KEY] == str(admin_user.pk)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("path", [ADMIN_LOGIN, API_LOGIN])
def test_other_spellings_of_the_email_count_against_the_same_account(path, admin_user):
    """The login form NFKC-normalises and strips the username before looking the user up, so the
    limit must key the same account for every spelling it accepts (fullwidth letters, padding)."""
    client = Client()
    local, domain = admin_user.email.split("@")
    spellings = [
        "\uff41" + admin_user.email[1:] if local[0] == "a" else local.upper() + "@" + domain,
        " " * 300 + admin_user.email,
        admin_user.email.upper() + "   ",
        "".join(chr(ord(c) + 0xFEE0) if c.isalpha() and c.isascii() else c for c in local) + "@" + domain,
        admin_user.email,
    ]
    guesses = [post_login(client, path, email, f"wrong-guess-{i:04}") for i, email in enumerate(spellings)]

    blocked = post_login(client, path, admin_user.email, admin_user.raw_password)

    assert [r.status_code for r in guesses] == [200] * 5
    assert_lockout(blocked)
    assert SESSION_KEY not in client.session

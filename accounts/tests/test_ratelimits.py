"""Rate limits on real Redis: login per email and per IP, register, refresh; fail closed."""

import logging
import uuid

import pytest

from accounts.models import User
from accounts.tests.conftest import REFRESH, REGISTER, TOKEN, assert_error

pytestmark = pytest.mark.django_db


def login(api_client, email, password, **extra):
    return api_client.post(TOKEN, {"email": email, "password": password}, format="json", **extra)


def assert_429(response, window=60):
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= window


def test_login_bruteforce_limited_per_email(api_client, student):
    """5/min per email; the right password inside the block is still 429; never 500."""
    statuses = [login(api_client, student.email, f"wrong-guess-{i:04}").status_code for i in range(20)]

    assert statuses == [401] * 5 + [429] * 15
    assert_429(login(api_client, student.email, student.raw_password))
    # The email key is normalised: case and spaces do not open a new bucket.
    assert_429(login(api_client, f"  {student.email.upper()} ", student.raw_password))
    # Other accounts are unaffected from another address.
    other = login(api_client, "someone@example.com", "x" * 12, REMOTE_ADDR="10.9.9.9")
    assert_error(other, 401, "invalid_credentials")


def test_login_bruteforce_limited_per_ip(api_client, student):
    """20/min per IP across many usernames."""
    statuses = [
        login(api_client, f"user{i}@example.com", "wrong-guess-0000", REMOTE_ADDR="10.1.1.1").status_code
        for i in range(20)
    ]

    assert statuses == [401] * 20
    assert_429(login(api_client, student.email, student.raw_password, REMOTE_ADDR="10.1.1.1"))
    assert login(api_client, student.email, student.raw_password, REMOTE_ADDR="10.1.1.2").status_code == 200


def test_forwarded_headers_not_trusted(api_client, caplog):
    """spoofed X-Forwarded-For / X-Real-IP / X-User-ID neither change the bucket nor the logged IP."""
    with caplog.at_level(logging.INFO, logger="learnstream.security"):
        statuses = [
            login(
                api_client,
                f"user{i}@example.com",
                "wrong-guess-0000",
                REMOTE_ADDR="10.2.2.2",
                HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
                HTTP_X_REAL_IP=f"198.51.100.{i}",
                HTTP_X_USER_ID=str(uuid.uuid4()),
            ).status_code
            for i in range(21)
        ]

    assert statuses == [401] * 20 + [429]
    failures = [r for r in caplog.records if getattr(r, "event", "") == "login_failed"]
    assert len(failures) == 20
    assert {r.ip for r in failures} == {"10.2.2.2"}


def test_forwarded_for_is_used_behind_a_configured_proxy(api_client, settings):
    """With TRUSTED_PROXY_COUNT=1 the proxy-appended (last) X-Forwarded-For entry is the client."""
    settings.TRUSTED_PROXY_COUNT = 1
    for i in range(20):
        response = login(
            api_client,
            f"u{i}@example.com",
            "wrong-guess-0000",
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="1.1.1.1",
        )
        assert response.status_code == 401
    assert_429(
        login(api_client, "u@example.com", "x" * 12, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1")
    )
    # A client-chosen first entry does not escape: the proxy's entry (last) is the key.
    spoofed = login(
        api_client, "u@example.com", "x" * 12, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="9.9.9.9, 1.1.1.1"
    )
    assert_429(spoofed)
    fresh = login(
        api_client, "u@example.com", "x" * 12, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="2.2.2.2"
    )
    assert_error(fresh, 401, "invalid_credentials")


def test_register_is_limited_per_ip(api_client):
    def register(i):
        body = {"email": f"new{i}@example.com", "password": "glacier-violin-pumpkin-42", "name": "N"}
        return api_client.post(REGISTER, body, format="json", REMOTE_ADDR="10.3.3.3")

    statuses = [register(i).status_code for i in range(10)]
    blocked = register(10)

    assert statuses == [201] * 10
    assert_429(blocked, window=3600)
    assert User.objects.count() == 10


def test_refresh_is_limited_per_ip(api_client):
    statuses = [
        api_client.post(
            REFRESH, {"refresh": "not.a.token"}, format="json", REMOTE_ADDR="10.4.4.4"
        ).status_code
        for i in range(31)
    ]

    assert statuses == [401] * 30 + [429]


@pytest.fixture
def ratelimit_redis_down(settings):
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {**settings.CACHES["ratelimit"], "LOCATION": "redis://127.0.0.1:1/0"},
    }


def test_login_fails_closed_when_redis_is_down(api_client, student, ratelimit_redis_down, caplog):
    """No counter, no login: 503 envelope with Retry-After, never 200 and never 500."""
    with caplog.at_level(logging.WARNING, logger="learnstream.security"):
        response = login(api_client, student.email, student.raw_password)

    assert_error(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5"
    assert any(getattr(r, "event", "") == "rate_limit_unavailable" for r in caplog.records)


@pytest.mark.parametrize("path", [REGISTER, REFRESH])
def test_other_limited_endpoints_fail_closed_too(api_client, ratelimit_redis_down, path):
    body = {
        "email": "a@example.com",
        "password": "glacier-violin-pumpkin-42",
        "name": "A",
        "refresh": "x.y.z",
    }

    assert_error(api_client.post(path, body, format="json"), 503, "service_unavailable")
    assert not User.objects.exists()


def test_disabled_rate_limiting_lets_everything_through(api_client, student, settings):
    settings.RATELIMIT_ENABLE = False

    statuses = {login(api_client, student.email, "wrong-guess-0000").status_code for _ in range(8)}

    assert statuses == {401}

"""Rate limits on real Redis: login per network, per account and network, and per account;
register, refresh; IPv6 /64 keys; per-process counters while Redis is down."""

import logging
import uuid

import pytest

from accounts.models import User
from accounts.tests.conftest import REFRESH, REGISTER, TOKEN, assert_error

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_window")]


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


def test_login_degrades_to_process_counters_when_redis_is_down(
    api_client, student, ratelimit_redis_down, caplog
):
    """A Redis outage must not log everyone out: login still works and is still limited, by
    per-process counters (the contract used to be 503 for every login while Redis was down)."""
    with caplog.at_level(logging.WARNING, logger="learnstream.security"):
        ok = login(api_client, student.email, student.raw_password)
        statuses = [login(api_client, student.email, f"wrong-guess-{i:04}").status_code for i in range(5)]

    assert ok.status_code == 200, ok.content
    assert set(ok.json()) == {"access", "refresh"}
    assert statuses == [401] * 4 + [429]
    assert_429(login(api_client, student.email, student.raw_password))
    assert any(getattr(r, "event", "") == "rate_limit_degraded" for r in caplog.records)


def test_register_and_refresh_degrade_too(api_client, student, ratelimit_redis_down):
    body = {"email": "new@example.com", "password": "glacier-violin-pumpkin-42", "name": "A"}
    registered = api_client.post(REGISTER, body, format="json")
    refreshes = [
        api_client.post(REFRESH, {"refresh": "x.y.z"}, format="json", REMOTE_ADDR="10.4.4.5").status_code
        for _ in range(31)
    ]

    assert registered.status_code == 201, registered.content
    assert User.objects.filter(email="new@example.com").count() == 1
    assert refreshes == [401] * 30 + [429]


def test_ipv6_clients_are_keyed_by_their_64(api_client):
    """Rotating addresses inside one /64 does not open new buckets; the next /64 is a new client."""
    statuses = [
        login(api_client, f"v6-{i}@example.com", "wrong-guess-0000", REMOTE_ADDR=f"2001:db8:1:2::{i + 1:x}")
        for i in range(20)
    ]
    same_64 = login(api_client, "v6@example.com", "wrong-guess-0000", REMOTE_ADDR="2001:db8:1:2:ffff:1:2:3")
    next_64 = login(api_client, "v6@example.com", "wrong-guess-0000", REMOTE_ADDR="2001:db8:1:3::1")

    assert [r.status_code for r in statuses] == [401] * 20
    assert_429(same_64)
    assert_error(next_64, 401, "invalid_credentials")


def test_victim_logs_in_while_an_attacker_guesses_elsewhere(api_client, student):
    """The per-account limit is per account *and* client network: guesses from one network cannot
    lock the owner out of their own."""
    attack = [login(api_client, student.email, f"guess-{i:04}x", REMOTE_ADDR="10.6.6.6") for i in range(20)]

    victim = login(api_client, student.email, student.raw_password, REMOTE_ADDR="10.7.7.7")

    assert [r.status_code for r in attack] == [401] * 5 + [429] * 15
    assert victim.status_code == 200, victim.content


def test_global_per_account_ceiling_spares_known_networks(api_client, student, settings):
    """Guessing spread over many networks hits the per-account ceiling; a network the owner logged in
    from before is exempt from it (and only subject to its own per-network limit)."""
    settings.AUTH_RATE_LIMITS = {**settings.AUTH_RATE_LIMITS, "login_account": "10/h"}
    # The first login from 10.8.0.1 counts (the network was not known yet): 1 + 9 guesses = the ceiling.
    assert login(api_client, student.email, student.raw_password, REMOTE_ADDR="10.8.0.1").status_code == 200
    spread = [
        login(api_client, student.email, "guess-00000x", REMOTE_ADDR=f"10.9.{i}.1").status_code
        for i in range(9)
    ]

    fresh_network = login(api_client, student.email, student.raw_password, REMOTE_ADDR="10.9.200.1")
    known_network = login(api_client, student.email, student.raw_password, REMOTE_ADDR="10.8.0.1")

    assert spread == [401] * 9
    assert_429(fresh_network, window=3600)
    assert known_network.status_code == 200, known_network.content


def test_disabled_rate_limiting_lets_everything_through(api_client, student, settings):
    settings.RATELIMIT_ENABLE = False

    statuses = {login(api_client, student.email, "wrong-guess-0000").status_code for _ in range(8)}

    assert statuses == {401}

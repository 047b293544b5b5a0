"""20 real threads refresh the same token at once against PostgreSQL (committed transactions,
one connection per thread). Exactly one rotation wins; nobody gets a 5xx."""

import threading
from collections import Counter

import pytest
from django.db import connection
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import TokenLineage, User
from accounts.tests.conftest import REFRESH, claims
from accounts.tokens import issue_token_pair

THREADS = 20


def _race(raw_refresh: str) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(REFRESH, {"refresh": raw_refresh}, content_type="application/json")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == THREADS
    return results


@pytest.fixture
def racer(transactional_db):
    assert connection.vendor == "postgresql"
    user = User.objects.create_user(email="racer@example.com", password="racing-passphrase-1", name="Racer")
    _access, rt = issue_token_pair(user)
    return user, rt


def test_concurrent_refresh_single_winner(racer, settings):
    """No grace window: one 200, nineteen 401; the losers are replays, so the family is revoked too."""
    settings.JWT_REFRESH_GRACE_SECONDS = 0  # immediate reuse detection, not the default grace window
    user, rt = racer

    results = _race(rt)

    statuses = Counter(status for status, _body in results)
    assert statuses == {200: 1, 401: THREADS - 1}
    [winner] = [body for status, body in results if status == 200]
    assert {body["error"]["code"] for status, body in results if status == 401} == {"token_not_valid"}
    children = TokenLineage.objects.filter(parent__jti=claims(rt)["jti"])
    assert [child.token.jti for child in children] == [claims(winner["refresh"])["jti"]]
    assert OutstandingToken.objects.filter(user=user).count() == 2
    assert BlacklistedToken.objects.filter(token__user=user).count() == 2  # parent + revoked child


def test_concurrent_refresh_with_grace_window_never_forks(racer, settings):
    """With a grace window every racer gets the one child: all 200, the same refresh token, one child."""
    settings.JWT_REFRESH_GRACE_SECONDS = 30
    user, rt = racer

    results = _race(rt)

    assert Counter(status for status, _body in results) == {200: THREADS}
    assert len({body["refresh"] for _status, body in results}) == 1
    assert TokenLineage.objects.filter(parent__jti=claims(rt)["jti"]).count() == 1
    assert OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count() == 1

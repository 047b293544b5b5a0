"""Refresh tokens are stored only as digests (`sha256$…`), and the 15 s default grace window hands a
duplicate refresh the same child, re-signed from the stored claims."""

import hashlib
import importlib
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection
from django.test import Client
from freezegun import freeze_time
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.models import TokenLineage, User
from accounts.tests.conftest import LOGOUT, REFRESH, assert_error, bearer, claims
from accounts.tokens import issue_token_pair, token_digest

migration = importlib.import_module("accounts.migrations.0003_hash_refresh_tokens_session_epoch")


def _digest(raw: str) -> str:
    return "sha256$" + hashlib.sha256(raw.encode()).hexdigest()


@pytest.mark.django_db
def test_no_raw_refresh_token_is_stored(student, refresh):
    access, rt1 = issue_token_pair(student)
    rt2 = refresh(rt1).json()["refresh"]
    assert bearer(access).post(LOGOUT, {"refresh": rt2}, format="json").status_code == 204

    stored = dict(OutstandingToken.objects.values_list("jti", "token"))

    assert stored[claims(rt1)["jti"]] == _digest(rt1) == token_digest(rt1)
    assert stored[claims(rt2)["jti"]] == _digest(rt2)
    assert stored[claims(access)["jti"]] == ""  # the denylisted access jti
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM token_blacklist_outstandingtoken")
        dumped = " ".join(row[0] for row in cursor.fetchall())
    assert rt1 not in dumped
    assert rt2 not in dumped
    assert rt1.split(".")[2] not in dumped  # not even the signature


@pytest.mark.django_db
def test_migration_hashes_legacy_rows_and_they_keep_working(student, refresh, settings):
    """Rows written by the old code hold the raw JWT: the data migration digests them (idempotently),
    and the token still rotates, reuse detection and the grace window included."""
    settings.JWT_REFRESH_GRACE_SECONDS = 15
    _access, rt1 = issue_token_pair(student)
    OutstandingToken.objects.filter(jti=claims(rt1)["jti"]).update(token=rt1)  # as stored before
    denylisted = OutstandingToken.objects.create(
        jti="a" * 32, token="", user=student, created_at=aware_utcnow(), expires_at=aware_utcnow()
    )

    migration.hash_stored_tokens(django_apps, None)
    migration.hash_stored_tokens(django_apps, None)  # a second run changes nothing

    assert OutstandingToken.objects.get(jti=claims(rt1)["jti"]).token == _digest(rt1)
    assert OutstandingToken.objects.get(pk=denylisted.pk).token == ""
    first = refresh(rt1)
    duplicate = refresh(rt1)
    assert first.status_code == duplicate.status_code == 200
    assert first.json()["refresh"] == duplicate.json()["refresh"]


@pytest.mark.django_db
def test_default_grace_window_is_15_seconds(student, refresh):
    """A duplicate within 15 s gets the same child; at 16 s the replay is reuse and the family dies."""
    assert settings.JWT_REFRESH_GRACE_SECONDS == 15
    _access, rt1 = issue_token_pair(student)
    start = aware_utcnow()
    with freeze_time(start) as clock:
        first = refresh(rt1).json()
        clock.tick(timedelta(seconds=14))
        again = refresh(rt1).json()
        clock.tick(timedelta(seconds=2))
        late = refresh(rt1)

    assert again["refresh"] == first["refresh"]
    assert claims(again["access"])["family"] == claims(first["access"])["family"]
    assert_error(late, 401, "token_not_valid")
    assert_error(refresh(first["refresh"]), 401, "token_not_valid")  # the whole family is revoked
    assert TokenLineage.objects.filter(parent__jti=claims(rt1)["jti"]).count() == 1


def test_two_concurrent_refreshes_get_the_same_pair_by_default(transactional_db):
    """Two tabs refresh the same token at the same moment (default settings): both succeed, one child."""
    assert connection.vendor == "postgresql"
    user = User.objects.create_user(email="tabs@example.com", password="two-tabs-passphrase-1", name="T")
    _access, rt = issue_token_pair(user)
    barrier = threading.Barrier(2)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def tab() -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(REFRESH, {"refresh": rt}, content_type="application/json")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert Counter(status for status, _body in results) == {200: 2}
    assert len({body["refresh"] for _status, body in results}) == 1
    assert TokenLineage.objects.filter(parent__jti=claims(rt)["jti"]).count() == 1
    assert OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count() == 1
    child = results[0][1]["refresh"]
    rotated = Client().post(REFRESH, {"refresh": child}, content_type="application/json")
    assert rotated.status_code == 200  # the shared child is an ordinary live token

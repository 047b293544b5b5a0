"""`flushexpiredtokens` bounds the token tables and keeps what reuse detection needs."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.models import TokenLineage
from accounts.tests.conftest import LOGOUT, assert_error, bearer, claims
from accounts.tokens import issue_token_pair

pytestmark = pytest.mark.django_db


def test_flushexpiredtokens_bounds_table(student, refresh, settings):
    settings.JWT_REFRESH_GRACE_SECONDS = 0  # immediate reuse detection, not the default grace window
    now = aware_utcnow()
    expired = OutstandingToken.objects.bulk_create(
        [
            OutstandingToken(
                user=student,
                jti=f"expired-{i}",
                token="",
                created_at=now - timedelta(days=8),
                expires_at=now - timedelta(days=1),
            )
            for i in range(1000)
        ]
    )
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in expired[::3]])
    TokenLineage.objects.bulk_create(
        [TokenLineage(token=t, family="0" * 32, auth_time=now - timedelta(days=8)) for t in expired[1::3]]
    )
    # 10 live tokens: 5 logins, each rotated once (so 5 blacklisted parents + 5 live children),
    # plus a logged-out session whose access-token denylist entry must survive too.
    sessions = []
    for _ in range(5):
        _access, rt = issue_token_pair(student)
        sessions.append((rt, refresh(rt).json()["refresh"]))
    access, logged_out = issue_token_pair(student)
    assert bearer(access).post(LOGOUT, {"refresh": logged_out}, format="json").status_code == 204
    live_before = set(
        OutstandingToken.objects.filter(expires_at__gt=now).values_list("jti", "blacklistedtoken")
    )

    call_command("flushexpiredtokens")

    assert not OutstandingToken.objects.filter(expires_at__lte=aware_utcnow()).exists()
    assert (
        OutstandingToken.objects.count() == 12
    )  # 10 rotation tokens + logged-out refresh + denylisted access
    assert set(OutstandingToken.objects.values_list("jti", "blacklistedtoken")) == live_before
    assert BlacklistedToken.objects.count() == 7  # 5 rotated parents, the logged-out refresh, the access
    assert TokenLineage.objects.count() == 11
    # Reuse detection still works inside the refresh lifetime.
    parent, child = sessions[0]
    assert_error(refresh(parent), 401, "token_not_valid")
    assert_error(refresh(child), 401, "token_not_valid")
    assert refresh(sessions[1][1]).status_code == 200
    assert claims(access)["jti"] in set(OutstandingToken.objects.values_list("jti", flat=True))

"""Access-token verification: tampering, keys, expiry, type, audience, transport, and the
no-PostgreSQL hot path."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.test import RequestFactory
from freezegun import freeze_time
from rest_framework.request import Request
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import AuthenticatedUser, RevocableJWTAuthentication
from accounts.tests.conftest import ME, REFRESH, assert_error, bearer, claims
from accounts.tokens import issue_token_pair

pytestmark = pytest.mark.django_db


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forge(payload: dict, key: str | None = None, headers: dict | None = None) -> str:
    # The real key of this checkout (generated under var/ outside production, never a constant).
    return jwt.encode(payload, key or settings.JWT_SIGNING_KEY, algorithm="HS256", headers=headers)


def _table_counts():
    return OutstandingToken.objects.count(), BlacklistedToken.objects.count()


def test_valid_access_token_authenticates(student):
    access, _refresh = issue_token_pair(student)

    response = bearer(access).get(ME)

    assert response.status_code == 200
    assert response.json()["id"] == student.pk


@pytest.mark.parametrize("attack", ["alg_none", "wrong_key", "edited_payload", "truncated_signature"])
def test_jwt_tampering_rejected(student, attack):
    """every forgery → 401 token_not_valid, nothing written."""
    access, _refresh = issue_token_pair(student)
    header, payload, signature = access.split(".")
    body = claims(access) | {"role": "admin", "user_id": student.pk}
    forged = {
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(body)}.",
        "wrong_key": _forge(body, key="attacker-key-attacker-key-attacker-key"),
        "edited_payload": f"{header}.{_b64(body)}.{signature}",
        "truncated_signature": f"{header}.{payload}.{signature[:-4]}",
    }[attack]
    before = _table_counts()

    response = bearer(forged).get(ME)

    assert_error(response, 401, "token_not_valid")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert _table_counts() == before
    student.refresh_from_db()
    assert student.role == "student"


@pytest.mark.parametrize(
    "header",
    [{"jku": "https://evil.example/jwks"}, {"jwk": {"kty": "oct", "k": "a2V5"}}, {"kid": "../../evil"}],
)
def test_jwt_header_keys_ignored(student, header):
    """jku/jwk/kid cannot point verification at an attacker's key."""
    access, _refresh = issue_token_pair(student)
    forged = _forge(claims(access), key="attacker-key-attacker-key-attacker-key", headers=header)

    assert_error(bearer(forged).get(ME), 401, "token_not_valid")
    # The header alone changes nothing for a token signed with the real key.
    assert bearer(_forge(claims(access), headers=header)).get(ME).status_code == 200


def test_expired_tokens_rejected(student, refresh):
    """past exp + LEEWAY (5 s) both tokens are dead."""
    with freeze_time() as frozen:
        access, refresh_token = issue_token_pair(student)
        frozen.tick(timedelta(minutes=5, seconds=4))
        assert bearer(access).get(ME).status_code == 200  # inside the leeway
        frozen.tick(timedelta(seconds=2))
        assert_error(bearer(access).get(ME), 401, "token_not_valid")
        frozen.tick(timedelta(days=7) - timedelta(minutes=5))
        assert_error(refresh(refresh_token), 401, "token_not_valid")


def test_token_type_confusion(student, api_client):
    """a refresh token is not a Bearer credential; an access token cannot be rotated."""
    access, refresh_token = issue_token_pair(student)

    assert_error(bearer(refresh_token).get(ME), 401, "token_not_valid")
    response = api_client.post(REFRESH, {"refresh": access}, format="json")
    assert_error(response, 401, "token_not_valid")


@pytest.mark.parametrize(
    "change",
    [{"aud": "another-api"}, {"iss": "someone-else"}, {"aud": None}, {"iss": None}],
)
def test_audience_and_issuer_enforced(student, change):
    """same key, other audience/issuer (or none) → 401."""
    access, _refresh = issue_token_pair(student)
    body = claims(access)
    for key, value in change.items():
        if value is None:
            del body[key]
        else:
            body[key] = value

    assert_error(bearer(_forge(body)).get(ME), 401, "token_not_valid")


def test_stock_simplejwt_tokens_without_our_claims_are_refused(student):
    """A token minted by plain simplejwt (no epoch/family claims) is not one of ours."""
    stock = str(RefreshToken.for_user(student).access_token)

    assert_error(bearer(stock).get(ME), 401, "token_not_valid")


@pytest.mark.parametrize("param", ["token", "access", "jwt", "access_token"])
def test_tokens_never_accepted_in_url(student, api_client, param):
    """only the Authorization header carries tokens."""
    access, _refresh = issue_token_pair(student)

    response = api_client.get(ME, {param: access})

    assert_error(response, 401, "not_authenticated")


def test_schema_has_no_token_query_parameters(api_client):
    """no operation in the OpenAPI schema takes a token in its query string."""
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    names = {
        parameter["name"].lower()
        for path in schema["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query"
    }
    assert not names & {"token", "access", "refresh", "jwt", "access_token", "refresh_token"}


def test_malformed_authorization_headers(student):
    access, _refresh = issue_token_pair(student)
    for value in (f"Bearer {access} extra", "Bearer ", f"Bearer {access[:20]}"):
        client = bearer("x")
        client.credentials(HTTP_AUTHORIZATION=value)
        response = client.get(ME)
        assert response.status_code == 401, value
    # Another scheme is simply "no JWT": the request is anonymous.
    client = bearer("x")
    client.credentials(HTTP_AUTHORIZATION=f"Basic {access}")
    assert_error(client.get(ME), 401, "not_authenticated")


def test_verifying_an_access_token_needs_no_database_query(student, django_assert_num_queries):
    """The hot path: signature + epoch + denylist + family from Redis, zero PostgreSQL queries."""
    access, _refresh = issue_token_pair(student)  # login warms the epoch cache
    request = Request(RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}"))

    with django_assert_num_queries(0):
        user, token = RevocableJWTAuthentication().authenticate(request)

    assert isinstance(user, AuthenticatedUser)
    assert (user.id, user.pk, user.role, user.is_active, user.is_authenticated) == (
        student.pk,
        student.pk,
        "student",
        True,
        True,
    )
    assert (user.is_admin, user.is_staff, user.is_instructor) == (False, False, False)
    assert token["jti"] == claims(access)["jti"]


def test_profile_request_costs_exactly_the_profile_query(student, django_assert_num_queries):
    access, _refresh = issue_token_pair(student)
    client = bearer(access)

    with django_assert_num_queries(1):  # SELECT the user for the profile; authentication is free
        assert client.get(ME).status_code == 200


def test_epoch_cache_miss_falls_back_to_postgresql_and_refills(student, django_assert_num_queries):
    from django.core.cache import caches

    access, _refresh = issue_token_pair(student)
    caches["default"].clear()
    request = Request(RequestFactory().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}"))

    with django_assert_num_queries(3):  # epoch, jti denylist, live family
        assert RevocableJWTAuthentication().authenticate(request) is not None
    with django_assert_num_queries(0):
        assert RevocableJWTAuthentication().authenticate(request) is not None

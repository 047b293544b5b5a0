"""The error envelope for every error class, generic 500s, unsupported methods and
oversized bodies. Real requests through the full middleware stack."""

import json
import time

import pytest
from django.test import Client
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from accounts.tokens import issue_token_pair
from learnstream import mongo
from learnstream.errors import Conflict, IntegrationError

# --- a URLconf for the deliberately failing views (used via @pytest.mark.urls) -------------------------


class _Boom(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        raise RuntimeError("secret detail: SELECT * FROM accounts_user; /etc/passwd DJANGO_SECRET_KEY")

    def post(self, request):
        raise IntegrationError()

    def put(self, request):
        raise Conflict(details={"slug": ["taken"]})


def _boom_plain(request):
    raise RuntimeError("plain view failure with /srv/app/settings.py")


urlpatterns = [
    path("api/v1/boom", _Boom.as_view()),
    path("api/v1/boom-plain", _boom_plain),
    path("", include("learnstream.urls")),
]
handler404 = "learnstream.errors.handler404"
handler500 = "learnstream.errors.handler500"

# -------------------------------------------------------------------------------------------------------

TOKEN = "/api/v1/auth/token"


def envelope_of(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


@pytest.mark.django_db
def test_every_error_class_uses_the_envelope(api_client, student, admin_user, client_for, settings):
    student_client, admin_client = client_for(student), client_for(admin_user)
    cases = {
        400: (api_client.post(TOKEN, {}, format="json"), "validation_error"),
        401: (api_client.get("/api/v1/auth/me"), "not_authenticated"),
        403: (student_client.get("/api/v1/users/"), "permission_denied"),
        404: (admin_client.get("/api/v1/users/999999"), "not_found"),
        405: (student_client.generic("TRACE", "/api/v1/auth/me"), "method_not_allowed"),
        409: (
            api_client.post(
                "/api/v1/auth/register",
                {"email": student.email, "password": "glacier-violin-pumpkin-42", "name": "x"},
                format="json",
            ),
            "email_taken",
        ),
        413: (
            api_client.post(TOKEN, "x" * (3 * 1024 * 1024), content_type="application/json"),
            "request_too_large",
        ),
        415: (api_client.post(TOKEN, "email=a", content_type="text/plain"), "unsupported_media_type"),
    }
    for _ in range(20):
        api_client.post(TOKEN, {"email": "a@example.com", "password": "wrong-guess-000"}, format="json")
    cases[429] = (
        api_client.post(TOKEN, {"email": "b@example.com", "password": "p" * 12}, format="json"),
        "rate_limited",
    )
    # A store outage: MongoDB refused (a closed port) and nothing cached. (A Redis outage no longer
    # answers 503 on login: the rate limits degrade to per-process counters, accounts/ratelimits.py.)
    # Both values are restored before the client is dropped: the cached MongoDB client is rebuilt from
    # them (by this test's own teardown, too) and must not keep the short timeout for later tests.
    original = (settings.MONGO_URI, settings.MONGO_TIMEOUT_MS)
    settings.MONGO_URI, settings.MONGO_TIMEOUT_MS = "mongodb://127.0.0.1:9", 200
    mongo.close_client()
    try:
        cases[503] = (api_client.get("/api/v1/courses/"), "service_unavailable")
    finally:
        settings.MONGO_URI, settings.MONGO_TIMEOUT_MS = original
        mongo.close_client()

    for status, (response, code) in cases.items():
        assert envelope_of(response, status)["code"] == code, status
    assert cases[401][0]["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "Retry-After" in cases[429][0]
    assert "Retry-After" in cases[503][0]


def test_unknown_api_path_is_an_enveloped_404(api_client):
    assert envelope_of(api_client.get("/api/v1/nope/nothing"), 404)["code"] == "not_found"


@pytest.mark.urls("learnstream.tests.test_errors")
def test_errors_are_generic():
    """an unexpected exception → 500 envelope, no traceback, SQL, paths or settings; DEBUG off."""
    from django.conf import settings

    assert settings.DEBUG is False
    client = Client(raise_request_exception=False)

    for url in ("/api/v1/boom", "/api/v1/boom-plain"):
        response = client.get(url)
        error = envelope_of(response, 500)
        assert error == {"code": "server_error", "message": "An unexpected error occurred.", "details": {}}
        text = response.content.decode()
        for leak in ("Traceback", "SELECT", "/etc/passwd", "settings.py", "SECRET", "RuntimeError", 'File "'):
            assert leak not in text


@pytest.mark.urls("learnstream.tests.test_errors")
def test_application_errors_map_to_their_status():
    client = Client()

    assert envelope_of(client.post("/api/v1/boom"), 502)["code"] == "integration_error"
    assert envelope_of(client.put("/api/v1/boom"), 409) == {
        "code": "conflict",
        "message": "The request conflicts with the current state.",
        "details": {"slug": ["taken"]},
    }


@pytest.mark.django_db
def test_malformed_json_is_a_generic_400(api_client):
    response = api_client.post(
        TOKEN, '{"email": "a@example.com", "password": ', content_type="application/json"
    )

    error = envelope_of(response, 400)
    assert error["code"] == "parse_error"
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT", "PUT", "DELETE"])
def test_unsupported_methods(student, client_for, method):
    """TRACE and friends → 405 envelope on API routes."""
    response = client_for(student).generic(method, "/api/v1/auth/me")

    assert envelope_of(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


@pytest.mark.django_db
def test_unsupported_methods_on_anonymous_endpoints(api_client):
    for method in ("TRACE", "GET", "DELETE"):
        assert envelope_of(api_client.generic(method, TOKEN), 405)["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_oversized_json_rejected(student, admin_user, client_for):
    """a 3 MB JSON body to every write endpoint that reads a body → 413 envelope, fast, no write."""
    big = json.dumps(
        {"email": "a@example.com", "password": "x", "name": "n", "blob": "x" * (3 * 1024 * 1024)}
    )
    access, _refresh = issue_token_pair(student)
    anonymous, authed, admin = Client(), Client(HTTP_AUTHORIZATION=f"Bearer {access}"), client_for(admin_user)
    calls = [
        (anonymous.post, "/api/v1/auth/register"),
        (anonymous.post, TOKEN),
        (anonymous.post, "/api/v1/auth/token/refresh"),
        (authed.post, "/api/v1/auth/logout"),
        (authed.patch, "/api/v1/auth/me"),
        (authed.post, "/api/v1/auth/me/password"),
        (admin.patch, f"/api/v1/users/{student.pk}"),
    ]
    from accounts.models import User

    users_before = list(User.objects.order_by("pk").values())
    for call, url in calls:
        started = time.perf_counter()
        response = call(url, big, content_type="application/json")
        assert time.perf_counter() - started < 1.0, url
        assert envelope_of(response, 413)["code"] == "request_too_large", url
    assert list(User.objects.order_by("pk").values()) == users_before
    # logout-all reads no body at all: an attached body is never parsed (nothing to consume).

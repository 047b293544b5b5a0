"""CORS allowlist without credentials and no ambient-credential CSRF path."""

import pytest
from django.test import Client

from accounts.models import User

TOKEN = "/api/v1/auth/token"
LOGOUT_ALL = "/api/v1/auth/logout-all"
ALLOWED = "https://app.example.com"


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


@pytest.mark.django_db
@pytest.mark.parametrize("origin", ["https://evil.example", "null", "https://app.example.com.evil.example"])
def test_cors_refuses_unknown_origins(cors, origin):
    client = Client()

    preflight = client.options(
        TOKEN,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )
    actual = client.post(TOKEN, {}, content_type="application/json", HTTP_ORIGIN=origin)

    for response in (preflight, actual):
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.django_db
def test_cors_allows_the_configured_origin_without_credentials(cors):
    client = Client()

    preflight = client.options(
        TOKEN,
        HTTP_ORIGIN=ALLOWED,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )
    actual = client.post(TOKEN, {}, content_type="application/json", HTTP_ORIGIN=ALLOWED)

    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == ALLOWED
    assert "authorization" in preflight["Access-Control-Allow-Headers"]
    assert actual["Access-Control-Allow-Origin"] == ALLOWED
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    assert "Access-Control-Allow-Credentials" not in actual.headers


@pytest.mark.django_db
def test_session_cookie_without_csrf_token_is_refused(student):
    """the browsable API's session auth enforces CSRF on unsafe methods: 403, nothing changes."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(student)

    json_post = client.post(LOGOUT_ALL, {}, content_type="application/json")
    form_post = client.post(LOGOUT_ALL, {"x": "1"})
    patch = client.patch("/api/v1/auth/me", {"name": "Hijacked"}, content_type="application/json")

    for response in (json_post, form_post, patch):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
        assert "CSRF" in response.json()["error"]["message"]
    stored = User.objects.get(pk=student.pk)
    assert (stored.auth_epoch, stored.name) == (0, "Stu Dent")


@pytest.mark.django_db
def test_session_with_csrf_token_works(student):
    """The same session with its CSRF token is accepted, so the 403 above is the CSRF check."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(student)
    client.get("/api-auth/login/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value

    response = client.patch(
        "/api/v1/auth/me", {"name": "Renamed"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 200
    assert User.objects.get(pk=student.pk).name == "Renamed"


@pytest.mark.django_db
def test_simple_request_content_types_are_rejected(api_client):
    """text/plain (a CORS 'simple request' body) is 415, so JSON endpoints cannot be driven by a form."""
    response = api_client.post(
        TOKEN, '{"email": "a@example.com", "password": "x"}', content_type="text/plain"
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"

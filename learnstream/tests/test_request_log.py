"""The per-request log line (learnstream.middleware.RequestLogMiddleware) and the cheap liveness probe."""

import logging
from email.utils import parsedate_to_datetime

import pytest
from django.utils import timezone


def request_lines(caplog):
    return [r for r in caplog.records if r.name == "learnstream.request"]


@pytest.mark.django_db
def test_one_line_per_request_with_the_client_ip_and_the_jwt_user(make_user, client_for, caplog):
    """The line carries what gunicorn's access log did (the client ip), now that it is off by default."""
    caplog.set_level(logging.INFO, logger="learnstream.request")
    user = make_user()
    response = client_for(user).get("/api/v1/auth/me", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 200
    [line] = request_lines(caplog)
    assert (line.method, line.path, line.status, line.user_id, line.ip, line.request_id) == (
        "GET",
        "/api/v1/auth/me",
        200,
        str(user.pk),
        "203.0.113.7",
        response["X-Request-ID"],
    )


@pytest.mark.django_db
def test_anonymous_requests_log_no_user_without_loading_a_session(api_client, caplog):
    caplog.set_level(logging.INFO, logger="learnstream.request")
    response = api_client.get("/healthz", REMOTE_ADDR="198.51.100.2")
    [line] = request_lines(caplog)
    assert (line.path, line.status, line.user_id, line.ip) == ("/healthz", 200, "-", "198.51.100.2")
    # The lazy session user was never resolved: nothing looked at the session.
    assert response.wsgi_request.session.accessed is False


def test_no_request_line_is_built_when_info_is_off(api_client, caplog):
    caplog.set_level(logging.WARNING, logger="learnstream.request")
    assert api_client.get("/healthz").status_code == 200
    assert request_lines(caplog) == []


def test_healthz_answers_uncacheable_json_like_never_cache(api_client):
    before = timezone.now().replace(microsecond=0)
    response = api_client.get("/healthz")
    assert (response.status_code, response.content) == (200, b'{"status": "ok"}')
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
    assert before <= parsedate_to_datetime(response["Expires"]) <= timezone.now()
    assert api_client.post("/healthz").status_code == 405

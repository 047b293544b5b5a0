"""Security events and secret-free logs, captured from real requests."""

import json
import logging
import re

import pytest
from django.conf import settings

from learnstream.logging import JsonFormatter

JWT_PATTERN = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
PASSWORD = "orchard-lantern-secret-9"
NEW_PASSWORD = "another-orchard-secret-8"


def events(caplog, name):
    return [r for r in caplog.records if getattr(r, "event", None) == name]


@pytest.mark.django_db
def test_security_events_logged(api_client, make_user, client_for, caplog):
    """one structured record per event, with request id, ip, user id; CR/LF escaped."""
    user = make_user(password=PASSWORD)
    caplog.set_level(logging.INFO)

    failed = api_client.post(
        "/api/v1/auth/token", {"email": user.email, "password": "nope-nope-nope"}, format="json"
    )
    ok = api_client.post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, format="json")
    forbidden = client_for(user).get("/api/v1/users/")
    injected = api_client.post(
        "/api/v1/auth/token",
        {"email": "evil\r\nlevel=INFO event=login_succeeded", "password": "x" * 12},
        format="json",
    )
    for _ in range(4):  # attempts 3-6 for this email: the 6th is over the 5/min limit
        api_client.post(
            "/api/v1/auth/token", {"email": user.email, "password": "nope-nope-nope"}, format="json"
        )

    [first_failure, *_] = events(caplog, "login_failed")
    assert first_failure.request_id == failed["X-Request-ID"]
    assert first_failure.ip == "127.0.0.1"
    assert first_failure.email == user.email
    assert first_failure.levelname == "WARNING"
    [success] = events(caplog, "login_succeeded")
    assert (success.user_id, success.request_id) == (user.pk, ok["X-Request-ID"])
    [denied] = events(caplog, "permission_denied")
    assert (denied.user_id, denied.path, denied.request_id) == (
        user.pk,
        "/api/v1/users/",
        forbidden["X-Request-ID"],
    )
    [limited] = events(caplog, "rate_limited")
    assert limited.path == "/api/v1/auth/token"
    assert limited.code == "rate_limited"
    forged = next(r for r in events(caplog, "login_failed") if r.request_id == injected["X-Request-ID"])
    assert "\r" not in forged.email
    assert "\n" not in forged.email
    assert forged.email.startswith("evil\\x0d\\x0alevel=info")
    # The production (JSON) formatter: one line per record, UTC timestamp, the event fields.
    line = JsonFormatter().format(success)
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["ts"].endswith("+00:00")
    assert (payload["event"], payload["user_id"], payload["request_id"]) == (
        "login_succeeded",
        user.pk,
        ok["X-Request-ID"],
    )


@pytest.mark.django_db
def test_bad_token_is_logged_without_the_token(api_client, caplog):
    caplog.set_level(logging.INFO)
    token = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl"

    api_client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")

    [event] = events(caplog, "authentication_failed")
    assert event.code == "token_not_valid"
    assert token not in JsonFormatter().format(event)


@pytest.mark.django_db
def test_logs_contain_no_secrets(api_client, make_user, admin_user, client_for, caplog):
    """a full session lifecycle at DEBUG level leaves no password, token or key in any record."""
    caplog.set_level(logging.DEBUG)
    register = api_client.post(
        "/api/v1/auth/register",
        {"email": "log@example.com", "password": PASSWORD, "name": "Log"},
        format="json",
    )
    assert register.status_code == 201
    api_client.post(
        "/api/v1/auth/register",
        {"email": "weak@example.com", "password": "password123", "name": "W"},
        format="json",
    )
    api_client.post(
        "/api/v1/auth/token", {"email": "log@example.com", "password": "wrong-" + PASSWORD}, format="json"
    )
    pair = api_client.post(
        "/api/v1/auth/token", {"email": "log@example.com", "password": PASSWORD}, format="json"
    ).json()
    rotated = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json"
    ).json()
    api_client.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")  # reuse
    again = api_client.post(
        "/api/v1/auth/token", {"email": "log@example.com", "password": PASSWORD}, format="json"
    ).json()
    authed = client_for(admin_user)
    authed.get("/api/v1/users/", {"search": "log"})
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {again['access']}")
    api_client.post(
        "/api/v1/auth/me/password",
        {"current_password": "wrong-" + PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )
    api_client.post("/api/v1/auth/logout", {"refresh": again["refresh"]}, format="json")
    api_client.get("/api/v1/auth/me")
    api_client.credentials()
    api_client.get("/api/v1/auth/me", {"token": again["access"]})

    secrets = [
        PASSWORD,
        "password123",
        NEW_PASSWORD,
        settings.SIMPLE_JWT["SIGNING_KEY"],
        settings.SECRET_KEY,
        *settings.MUX_WEBHOOK_SECRETS,
        pair["access"],
        pair["refresh"],
        rotated["refresh"],
        again["refresh"],
    ]
    plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    assert len(caplog.records) > 15
    for record in caplog.records:
        for text in (JsonFormatter().format(record), plain.format(record)):
            assert not JWT_PATTERN.search(text), text
            for secret in secrets:
                assert secret not in text, (secret[:6], text)

"""Helpers for the accounts tests: real HTTP calls through the Django test client, real tokens."""

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/token/refresh"
LOGOUT = "/api/v1/auth/logout"
LOGOUT_ALL = "/api/v1/auth/logout-all"
ME = "/api/v1/auth/me"
PASSWORD = "/api/v1/auth/me/password"
USERS = "/api/v1/users/"


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, read without verifying (for assertions only)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return body["error"]


@pytest.fixture
def refresh(api_client: APIClient) -> Callable[[str], Any]:
    def do(token: str) -> Any:
        return api_client.post(REFRESH, {"refresh": token}, format="json")

    return do


@pytest.fixture
def steady_window():
    """Rate limits count in fixed windows aligned to the clock: freeze time at the start of a minute so
    a test never straddles a window boundary (which would reset its counters half-way)."""
    from datetime import UTC, datetime

    from freezegun import freeze_time

    with freeze_time(datetime.now(UTC).replace(second=1, microsecond=0)):
        yield

"""Admin-site tests with Django's test client, logged in through the real authentication backend."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.admin.support import mongo_down, mongo_outage  # noqa: F401


@pytest.fixture
def login() -> Callable[[Any], Client]:
    """A test client logged in as `user` with their password (no forced login)."""

    def make(user: Any) -> Client:
        client = Client()
        assert client.login(email=user.email, password=user.raw_password)
        return client

    return make


@pytest.fixture
def admin_web(login: Callable[[Any], Client], admin_user: Any) -> Client:
    return login(admin_user)

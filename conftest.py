"""Fixtures shared by every app's tests. Real PostgreSQL, Redis and SecantusDB; real tokens."""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from learnstream import mongo, redis_breaker

pytest_plugins = ["streaming.testing", "tests.fixtures"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache and empty rate-limit counters (its own Redis DB)."""
    for alias in ("default", "ratelimit"):
        caches[alias].clear()
    from accounts.ratelimits import reset_local_counters

    reset_local_counters()  # the per-process fallback used while Redis is down
    redis_breaker.reset_all()


@pytest.fixture(autouse=True)
def mongo_db(settings: Any) -> Iterator[Any]:
    """A fresh MongoDB database per test, with the production indexes applied."""
    from catalog.indexes import ensure_indexes

    settings.MONGO_DB = f"test_{uuid.uuid4().hex[:16]}"
    ensure_indexes()
    db = mongo.get_db()
    yield db
    mongo.get_client().drop_database(settings.MONGO_DB)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    from accounts.models import User

    counter = iter(range(1, 1_000_000))

    def make(
        role: str = "student",
        *,
        email: str | None = None,
        password: str = "a-Very-long-passphrase-1",
        name: str | None = None,
        is_active: bool = True,
    ) -> User:
        n = next(counter)
        user = User.objects.create_user(
            email=email or f"user{n}-{uuid.uuid4().hex[:6]}@example.com",
            password=password,
            name=name or f"User {n}",
            role=role,
            is_active=is_active,
        )
        user.raw_password = password  # type: ignore[attr-defined]
        return user

    return make


@pytest.fixture
def student(make_user: Callable[..., Any]) -> Any:
    return make_user("student", name="Stu Dent")


@pytest.fixture
def other_student(make_user: Callable[..., Any]) -> Any:
    return make_user("student", name="Other Student")


@pytest.fixture
def instructor(make_user: Callable[..., Any]) -> Any:
    return make_user("instructor", name="Ins Tructor")


@pytest.fixture
def other_instructor(make_user: Callable[..., Any]) -> Any:
    return make_user("instructor", name="Other Instructor")


@pytest.fixture
def admin_user(make_user: Callable[..., Any]) -> Any:
    return make_user("admin", name="Ad Min")


@pytest.fixture
def client_for() -> Callable[[Any], APIClient]:
    """An APIClient carrying a real access token for `user` (minted by the real token service)."""
    from accounts.tokens import issue_token_pair

    def make(user: Any) -> APIClient:
        access, _refresh = issue_token_pair(user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        return client

    return make

"""Fixtures shared by every app's tests. Real PostgreSQL, Redis and SecantusDB; real tokens."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from rest_framework.test import APIClient

from learnstream import mongo, redis_breaker
from tests import skips

pytest_plugins = ["tests.support.mux", "tests.support.smtp", "tests.support.stripe", "tests.fixtures"]

BROWSER_TESTS = Path(__file__).resolve().parent / "tests" / "browser"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under `make test` (LEARNSTREAM_REQUIRE_LIVE=1) a skip is a failure: a live, fault or browser
    test that skips because its service did not start must not look green. See tests/skips.py."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not (skips.require_live() and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if reason.startswith(skips.NOT_APPLICABLE):
        return
    if skips.skip_browser() and item.path.is_relative_to(BROWSER_TESTS):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped, but {skips.REQUIRE_LIVE_VAR}=1 (make test) makes every skip a failure: {reason}\n"
        f"Start the missing service (scripts/services.sh, scripts/browser.sh); on a machine without "
        f"Chromium set {skips.SKIP_BROWSER_VAR}=1 to leave out tests/browser/."
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if skips.skip_browser():
        terminalreporter.write_line(
            f"{skips.SKIP_BROWSER_VAR}=1: the browser tests (tests/browser/) were not run.", yellow=True
        )


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

    if mongo.get_client().options.timeout != settings.MONGO_TIMEOUT_MS / 1000:
        # An outage fixture of an earlier test restored MONGO_TIMEOUT_MS only after its teardown had
        # re-created the client with the outage's 200-300 ms deadline; under load that client times
        # out on a healthy server. Start each test with a client built from the current settings.
        mongo.close_client()
    settings.MONGO_DB = f"test_{uuid.uuid4().hex[:16]}"
    ensure_indexes()
    db = mongo.get_db()
    yield db
    mongo.get_client().drop_database(settings.MONGO_DB)


@pytest.fixture
def patient_mongo(settings: Any, mongo_db: Any) -> Any:
    """A 10 s MongoDB deadline instead of 2 s, for tests of exactness under many concurrent writers to
    one document: SecantusDB (one Python process) queues twenty such writers past 2 s on a 2-core
    machine. What they prove is the outcome, not the latency (make bench measures that); the deadline
    itself is proven by the degradation tests. The next test's `mongo_db` rebuilds the 2 s client."""
    settings.MONGO_TIMEOUT_MS = 10_000
    mongo.close_client()
    return mongo_db


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

"""Playwright fixtures: Debian's Chromium against a live server on loopback.

Why `DJANGO_ALLOW_ASYNC_UNSAFE`: Playwright's sync API runs an asyncio event loop in a greenlet of the
test thread, so while a browser is open Django sees a "running event loop" in that thread and its
async-safety guard refuses every ORM call the *test* makes (creating users, checking rows). No
coroutine ever touches the ORM here (the live server answers from its own thread), so the guard is
switched off only while the browser fixtures are alive, then restored.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests import skips
from tests.admin.support import mongo_down, mongo_outage  # noqa: F401

CHROMIUM = os.environ.get("LS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root in CI; the sandbox needs user namespaces we do not have
    "--disable-gpu",
    "--disable-background-networking",  # loopback only: no update checks, no safe-browsing lookups
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
# Short waits: every page is served from loopback, so a slow step is a failing step.
DEFAULT_TIMEOUT_MS = 10_000

# Never let Playwright fetch a browser build of its own.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
os.environ.setdefault("PLAYWRIGHT_BROWSERS_PATH", "0")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:  # a set-up bug, not a missing browser: fail loudly
        pytest.fail("playwright is not installed: it is pinned in requirements-dev.txt (make venv)")
    if skips.skip_browser():
        pytest.skip(f"{skips.SKIP_BROWSER_VAR}=1: browser tests left out on purpose (no Chromium here)")
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}: scripts/browser.sh could not install it")

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        try:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
            )
        except PlaywrightError as exc:
            pytest.skip(f"Chromium at {CHROMIUM} cannot be launched: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest) -> Iterator[Any]:
    """pytest-django's live server, bound to 127.0.0.1 explicitly (not whatever `localhost` means)."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer(request.config.getvalue("liveserver") or "127.0.0.1")
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) per test; its last page is screenshotted on teardown."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
    context.close()


@pytest.fixture
def screenshot(page: Any, request: pytest.FixtureRequest) -> Any:
    """`screenshot("step")` saves test-artifacts/<test>-<step>.png of the current page (or of `of`)."""

    def take(step: str, of: Any = None) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{step}.png"
        (of or page).screenshot(path=str(path), full_page=True)
        return path

    return take

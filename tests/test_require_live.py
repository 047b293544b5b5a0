"""Under `make test` a skip is a failure (issue 10, item 14). Each case runs a real pytest in a
subprocess on a test that skips because its service is missing, with and without
LEARNSTREAM_REQUIRE_LIVE=1 (what scripts/test.sh exports)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support import servers

pytestmark = pytest.mark.slow

BROWSER_TEST = (
    "tests/browser/test_admin_site.py::test_admin_reorders_and_publishes_a_course_in_the_catalog_pages"
)
LIVE_TEST = "tests/test_http_limits.py::test_oversized_header_is_refused"


def run_pytest(test: str, env: dict[str, str]) -> tuple[int, str]:
    # Its own test database name: the child must never touch this session's test database.
    child_env = servers.app_env({"DATABASE_TEST_NAME": f"test_require_live_{uuid.uuid4().hex[:8]}", **env})
    for name in ("LEARNSTREAM_REQUIRE_LIVE", "LEARNSTREAM_SKIP_BROWSER"):
        if name not in env:
            child_env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", test, "-p", "no:randomly", "-q", "--no-header"],
        cwd=servers.ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_a_browser_test_without_chromium_skips_outside_make_test() -> None:
    code, out = run_pytest(BROWSER_TEST, {"LS_CHROMIUM": "/nonexistent/chromium"})
    assert code == 0, out
    assert "1 skipped" in out
    assert "browser tests need Chromium at /nonexistent/chromium" in out


def test_a_browser_test_without_chromium_fails_under_make_test() -> None:
    code, out = run_pytest(
        BROWSER_TEST, {"LS_CHROMIUM": "/nonexistent/chromium", "LEARNSTREAM_REQUIRE_LIVE": "1"}
    )
    assert code == 1, out
    assert "LEARNSTREAM_REQUIRE_LIVE=1 (make test) makes every skip a failure" in out
    assert "browser tests need Chromium at /nonexistent/chromium" in out
    assert "skipped" not in out.splitlines()[-1]


def test_the_browser_opt_out_skips_and_says_so_under_make_test() -> None:
    code, out = run_pytest(
        BROWSER_TEST,
        {
            "LS_CHROMIUM": "/nonexistent/chromium",
            "LEARNSTREAM_REQUIRE_LIVE": "1",
            "LEARNSTREAM_SKIP_BROWSER": "1",
        },
    )
    assert code == 0, out
    assert "1 skipped" in out
    assert "LEARNSTREAM_SKIP_BROWSER=1: the browser tests (tests/browser/) were not run." in out


def test_a_live_test_without_postgresql_fails_under_make_test(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "LEARNSTREAM_REQUIRE_LIVE": "1"}
    code, out = run_pytest(LIVE_TEST, env)
    assert code == 1, out
    assert "live tests need PostgreSQL" in out
    code, out = run_pytest(LIVE_TEST, {"DATABASE_URL": env["DATABASE_URL"]})
    assert (code, "1 skipped" in out) == (0, True), out

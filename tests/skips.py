"""Skips under `make test` (scripts/test.sh sets LEARNSTREAM_REQUIRE_LIVE=1): every skip is a failure
there, so a service that failed to start can never look green. The root conftest enforces it.

Two exceptions, both explicit:
- `not_applicable(reason)`: the parametrized case does not exist for this operation (e.g. a form
  encoding an endpoint does not accept). It is not a missing service.
- `LEARNSTREAM_SKIP_BROWSER=1`: a machine without Chromium opts out of tests/browser/, and the run
  says so in its summary.
"""

import os
from typing import NoReturn

import pytest

REQUIRE_LIVE_VAR = "LEARNSTREAM_REQUIRE_LIVE"
SKIP_BROWSER_VAR = "LEARNSTREAM_SKIP_BROWSER"
NOT_APPLICABLE = "not applicable: "


def require_live() -> bool:
    return os.environ.get(REQUIRE_LIVE_VAR) == "1"


def skip_browser() -> bool:
    return os.environ.get(SKIP_BROWSER_VAR) == "1"


def not_applicable(reason: str) -> NoReturn:
    pytest.skip(NOT_APPLICABLE + reason)

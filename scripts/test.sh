#!/usr/bin/env bash
# `make test`: start (or reuse) PostgreSQL, Redis and SecantusDB, then lint, type-check and run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh)"
scripts/browser.sh  # Debian's Chromium for tests/browser (Playwright never downloads a browser)
export DJANGO_ENV=test
# Every skipped test fails the run (a service that did not start must not look green); without
# Chromium, LEARNSTREAM_SKIP_BROWSER=1 leaves out tests/browser/ (conftest.py, tests/skips.py).
export LEARNSTREAM_REQUIRE_LIVE=1
BIN=.venv/bin
echo "== ruff"; $BIN/ruff check . && $BIN/ruff format --check .
echo "== mypy"; $BIN/mypy .
echo "== import contracts"; $BIN/lint-imports
echo "== migrations"; $BIN/python manage.py makemigrations --check --dry-run
echo "== openapi"; $BIN/python manage.py spectacular --validate --fail-on-warn --file /dev/null
echo "== pytest"; $BIN/pytest "$@"

#!/usr/bin/env bash
# `make test`: start (or reuse) PostgreSQL, Redis and SecantusDB, then lint, type-check and run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh)"
scripts/browser.sh  # Debian's Chromium for tests/browser (Playwright never downloads a browser)
export DJANGO_ENV=test
BIN=.venv/bin
echo "== ruff"; $BIN/ruff check . && $BIN/ruff format --check .
echo "== mypy"; $BIN/mypy .
echo "== import contracts"; $BIN/lint-imports
echo "== migrations"; $BIN/python manage.py makemigrations --check --dry-run
echo "== openapi"; $BIN/python manage.py spectacular --validate --fail-on-warn --file /dev/null
echo "== pytest"; $BIN/pytest "$@"

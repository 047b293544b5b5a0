#!/usr/bin/env bash
# `make bench`: the reference benchmark (~15-20 minutes, loopback only, installs wrk with apt-get if
# missing) against the production gunicorn; writes docs/benchmarks.md. Not part of `make test`.
# Options are passed through, e.g. `bench/run.sh --seconds 5 --reps 1 --only /healthz`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/run.py "$@"

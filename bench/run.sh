#!/usr/bin/env bash
# One command for the benchmarks (`make bench`): ~3-4 minutes, loopback only, writes docs/benchmarks.md.
# Options are passed through, e.g. `bench/run.sh --seconds 10 --threads 8 --scale 1,10,100`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/run.py "$@"

#!/usr/bin/env bash
# SecantusDB lives in its own virtualenv: it is GPL-2.0 and pulls numpy/shapely, which the app must not import.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.7.0b3
case "${1:-install}" in
  install)
    if [ ! -x .venv-secantus/bin/secantusd-py ] || ! .venv-secantus/bin/pip show secantusdb 2>/dev/null | grep -q "^Version: $VERSION$"; then
      echo "[secantus] installing secantusdb==$VERSION into .venv-secantus" >&2
      python3 -m venv .venv-secantus
      .venv-secantus/bin/pip install -q "secantusdb==$VERSION"
    fi
    ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# `make run`: the embedded default. SQLite under var/, SecantusDB on disk under var/mongo, in-process cache,
# immediate tasks, mail written to files under var/mail/, and the local Mux and Stripe emulators when no
# Mux / Stripe credentials are configured.
# Ctrl-C stops everything this script started. Re-running keeps the data.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VAR=${LS_VAR_DIR:-$ROOT/var}
export LS_VAR_DIR=$VAR
mkdir -p "$VAR/log" "$VAR/mongo"
BIN=.venv/bin
export DJANGO_ENV=${DJANGO_ENV:-development}
MONGO_PORT=${LS_MONGO_PORT:-27017}
# No retryable writes against the embedded SecantusDB: why in learnstream/mongo.py.
export MONGO_URI=${MONGO_URI:-mongodb://127.0.0.1:$MONGO_PORT/?retryWrites=false}
APP_PORT=${LS_PORT:-8000}
EMULATOR_PORT=${LS_MUX_EMULATOR_PORT:-8001}
STRIPE_EMULATOR_PORT=${LS_STRIPE_EMULATOR_PORT:-12111}
export CHECKOUT_REDIRECT_ORIGINS=${CHECKOUT_REDIRECT_ORIGINS:-http://127.0.0.1:$APP_PORT,http://localhost:$APP_PORT}

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "[run] stopping" >&2
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

scripts/secantus.sh install
if ! port_open 127.0.0.1 "$MONGO_PORT"; then
  echo "[run] starting SecantusDB on 127.0.0.1:$MONGO_PORT (data in $VAR/mongo)" >&2
  .venv-secantus/bin/secantusd-py --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$VAR/mongo" \
    --sync-on-commit --log-level WARNING >>"$VAR/log/secantus.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do port_open 127.0.0.1 "$MONGO_PORT" && break; sleep 0.1; done
fi

if [ -z "${MUX_TOKEN_ID:-}" ] && [ -f streaming/management/commands/mux_emulator.py ]; then
  export MUX_API_BASE_URL=${MUX_API_BASE_URL:-http://127.0.0.1:$EMULATOR_PORT}
  export MUX_STREAM_BASE_URL=${MUX_STREAM_BASE_URL:-http://127.0.0.1:$EMULATOR_PORT/stream}
  export MUX_IMAGE_BASE_URL=${MUX_IMAGE_BASE_URL:-http://127.0.0.1:$EMULATOR_PORT/image}
  echo "[run] no MUX_TOKEN_ID: starting the Mux emulator on 127.0.0.1:$EMULATOR_PORT" >&2
  $BIN/python manage.py mux_emulator --port "$EMULATOR_PORT" \
    --webhook-url "http://127.0.0.1:$APP_PORT/webhooks/mux" >>"$VAR/log/mux-emulator.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do port_open 127.0.0.1 "$EMULATOR_PORT" && break; sleep 0.1; done
fi

if [ -z "${STRIPE_SECRET_KEY:-}" ] && [ -f commerce/management/commands/stripe_emulator.py ]; then
  export STRIPE_API_BASE=${STRIPE_API_BASE:-http://127.0.0.1:$STRIPE_EMULATOR_PORT}
  if port_open 127.0.0.1 "$STRIPE_EMULATOR_PORT"; then
    echo "[run] port $STRIPE_EMULATOR_PORT is taken: set LS_STRIPE_EMULATOR_PORT (checkout will fail)" >&2
  else
    echo "[run] no STRIPE_SECRET_KEY: starting the Stripe emulator on 127.0.0.1:$STRIPE_EMULATOR_PORT" >&2
    $BIN/python manage.py stripe_emulator --port "$STRIPE_EMULATOR_PORT" \
      --webhook-url "http://127.0.0.1:$APP_PORT/webhooks/stripe" >>"$VAR/log/stripe-emulator.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do port_open 127.0.0.1 "$STRIPE_EMULATOR_PORT" && break; sleep 0.1; done
  fi
fi

$BIN/python manage.py migrate --no-input
$BIN/python manage.py mongo_indexes
$BIN/python manage.py seed_demo
if [ -z "${EMAIL_URL:-}" ]; then
  echo "[run] outgoing mail (password reset, verification links) is written to $VAR/mail/, one file per message" >&2
else
  echo "[run] outgoing mail goes to EMAIL_URL's server" >&2
fi
echo "[run] serving http://127.0.0.1:$APP_PORT/  (API docs: /api/docs/, admin: /admin/)" >&2
$BIN/python manage.py runserver "127.0.0.1:$APP_PORT" --noreload &
pids+=($!)
wait -n "${pids[@]}"

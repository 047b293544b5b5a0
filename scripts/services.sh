#!/usr/bin/env bash
# Ensure the real services the test suite talks to are running on loopback:
# PostgreSQL 15 (the installed cluster), Redis, and a SecantusDB MongoDB-compatible server.
# Idempotent. Honours DATABASE_URL / REDIS_URL / MONGO_URI when they point at running services.
# Prints the environment to use as `export` lines on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
mkdir -p var/log var/run

log() { echo "[services] $*" >&2; }

PG_USER=${LS_PG_USER:-learnstream}
PG_PASSWORD=${LS_PG_PASSWORD:-learnstream}
PG_DB=${LS_PG_DB:-learnstream}
TEST_DATABASE_URL=${DATABASE_URL:-postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:5432/$PG_DB}
TEST_REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/1}
MONGO_TEST_PORT=${LS_MONGO_TEST_PORT:-27018}
TEST_MONGO_URI=${MONGO_URI:-mongodb://127.0.0.1:$MONGO_TEST_PORT}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then log "using DATABASE_URL as given"; return; fi
  if ! port_open 127.0.0.1 5432; then
    if ! command -v pg_ctlcluster >/dev/null; then
      log "installing postgresql"; apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    fi
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    if ! pg_lsclusters -h | grep -q "^$version main"; then pg_createcluster "$version" main >&2; fi
    log "starting PostgreSQL $version"
    pg_ctlcluster "$version" main start >&2 || true
    for _ in $(seq 1 50); do port_open 127.0.0.1 5432 && break; sleep 0.2; done
  fi
  as_postgres "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='$PG_USER'\"" | grep -q 1 ||
    as_postgres "psql -qc \"CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'\"" >&2
  as_postgres "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='$PG_DB'\"" | grep -q 1 ||
    as_postgres "createdb -O $PG_USER $PG_DB" >&2
}

ensure_redis() {
  if [ -n "${REDIS_URL:-}" ]; then log "using REDIS_URL as given"; return; fi
  if port_open 127.0.0.1 6379; then return; fi
  if ! command -v redis-server >/dev/null; then
    log "installing redis-server"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2
  fi
  log "starting redis-server on 127.0.0.1:6379"
  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes \
    --pidfile "$ROOT/var/run/redis.pid" --logfile "$ROOT/var/log/redis.log" >&2
  for _ in $(seq 1 50); do port_open 127.0.0.1 6379 && break; sleep 0.1; done
}

ensure_secantus() {
  if [ -n "${MONGO_URI:-}" ]; then log "using MONGO_URI as given"; return; fi
  scripts/secantus.sh install >&2
  if port_open 127.0.0.1 "$MONGO_TEST_PORT"; then return; fi
  log "starting SecantusDB (:memory:) on 127.0.0.1:$MONGO_TEST_PORT"
  nohup .venv-secantus/bin/secantusd-py --host 127.0.0.1 --port "$MONGO_TEST_PORT" --storage-path :memory: \
    --log-level WARNING >"$ROOT/var/log/secantus-test.log" 2>&1 &
  echo $! >"$ROOT/var/run/secantus-test.pid"
  for _ in $(seq 1 100); do port_open 127.0.0.1 "$MONGO_TEST_PORT" && break; sleep 0.1; done
  port_open 127.0.0.1 "$MONGO_TEST_PORT" || { log "SecantusDB did not start"; cat var/log/secantus-test.log >&2; exit 1; }
}

ensure_postgres
ensure_redis
ensure_secantus
echo "export DATABASE_URL='$TEST_DATABASE_URL'"
echo "export REDIS_URL='$TEST_REDIS_URL'"
echo "export MONGO_URI='$TEST_MONGO_URI'"

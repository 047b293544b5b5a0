#!/usr/bin/env bash
# Ensure Debian's Chromium is installed for the Playwright browser tests (tests/browser/).
# Playwright never downloads a browser here: the tests launch /usr/bin/chromium (override: LS_CHROMIUM).
# Idempotent. Never fails the build: if Chromium cannot be installed the browser tests skip, saying why.
set -uo pipefail
cd "$(dirname "$0")/.."
log() { echo "[browser] $*" >&2; }

CHROMIUM=${LS_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  log "$CHROMIUM is missing and we are not root: run 'apt-get install chromium' (browser tests will skip)"
  exit 0
fi
mkdir -p var/log
log "installing Debian's chromium (log: var/log/browser-install.log)"
if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core; } >var/log/browser-install.log 2>&1; then
  log "$("$CHROMIUM" --version 2>/dev/null)"
else
  tail -n 5 var/log/browser-install.log >&2
  log "could not install chromium (browser tests will skip)"
fi
exit 0

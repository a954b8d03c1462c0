#!/usr/bin/env bash
# `npm run e2e`: the browser story. Playwright (playwright-core, no browser download) drives Debian's
# chromium through the sandbox console: the full story and the failure paths, on the real bot and the
# stand-ins (test/e2e/story.e2e.test.ts). Screenshots land in test/e2e/screenshots/ (git-ignored).
#
# Installs chromium (and the emoji font that keeps screenshots readable) when absent, which needs root or
# passwordless sudo; says so and stops otherwise. Extra arguments go to jest (e.g. -t 'stale lock').
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=/usr/bin/chromium
fail() {
  echo "e2e: $*" >&2
  exit 1
}

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); else sudo_cmd=(none); fi
fi
apt_install() {
  [[ ${sudo_cmd[0]:-} == none ]] && return 1
  command -v apt-get >/dev/null 2>&1 || return 1
  ${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive ${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get install -y -qq "$@" >/dev/null
}

if [[ ! -x $CHROMIUM ]]; then
  echo "e2e: $CHROMIUM is missing: installing Debian's chromium (apt-get install -y chromium fonts-noto-color-emoji) …"
  apt_install chromium fonts-noto-color-emoji ||
    fail "could not install chromium (needs apt-get and root or passwordless sudo). Install it yourself: sudo apt-get install -y chromium fonts-noto-color-emoji"
  [[ -x $CHROMIUM ]] || fail "apt-get installed chromium but $CHROMIUM is still missing"
fi
if command -v dpkg >/dev/null 2>&1 && ! dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; then
  apt_install fonts-noto-color-emoji || echo "e2e: fonts-noto-color-emoji unavailable: emoji in screenshots may be boxes" >&2
fi
if [[ -z ${REDIS_URL:-} ]] && ! command -v redis-server >/dev/null 2>&1; then
  fail "redis-server is not installed: install it with apt-get install redis-server, or set REDIS_URL"
fi

exec node --experimental-vm-modules node_modules/jest/bin/jest.js --testMatch '**/test/e2e/**/*.e2e.test.ts' "$@"

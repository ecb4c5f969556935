#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: a virtualenv with the
# pinned Python packages and, with --test, Debian's chromium for browser tests.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
[ "${1:-}" = "--test" ] && want_test=true

apt_install() {
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 && return 0
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null
}

if ! command -v java >/dev/null 2>&1; then
  echo "installing a Java runtime for the Firestore emulator" >&2
  apt_install default-jre-headless
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
suffix=""
$want_test && suffix="-test"
stamp=.venv/.installed-$(cat requirements.txt requirements-test.txt | sha1sum | cut -c1-12)$suffix
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  if $want_test; then
    .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
  else
    .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  fi
  touch "$stamp"
fi

if $want_test && [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests" >&2
  apt_install chromium
fi

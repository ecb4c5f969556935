#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: a virtualenv with the
# pinned Python packages (runtime + the local Cloud Storage emulator), the
# project-local npm packages (firebase-tools for the Auth emulator), Java for
# the Firestore emulator, Debian's redis-server for shared rate limits and,
# with --test, the test tools, Debian's chromium for browser tests and podman,
# runc and mmdebstrap for the container test (and its base image).
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
[ "${1:-}" = "--test" ] && want_test=true

apt_updated=false
apt_install() {
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  if ! $apt_updated; then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 && return 0
    "${sudo[@]}" apt-get update -qq >/dev/null
    apt_updated=true
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null
}

if ! command -v java >/dev/null 2>&1; then
  echo "installing a Java runtime for the Firestore emulator" >&2
  apt_install default-jre-headless
fi

if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/sbin/redis-server ]; then
  echo "installing Debian's redis-server for rate limits shared by all processes" >&2
  apt_install redis-server
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing Node.js and npm for the Firebase Auth emulator" >&2
  apt_install nodejs npm || {
    echo "Node.js 18+ and npm are needed (the Firebase Auth emulator); install them and run again." >&2
    exit 1
  }
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
requirements=requirements-local.txt
$want_test && requirements=requirements-test.txt
stamp=.venv/.installed-$(cat requirements*.txt | sha1sum | cut -c1-12)-$requirements
if [ ! -f "$stamp" ]; then
  echo "installing the pinned Python packages into .venv from $requirements (first run: about 2 minutes)" >&2
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/pip install -q --disable-pip-version-check -r "$requirements"
  touch "$stamp"
fi

# Project-local npm packages exactly as the lockfile says (no global install).
lock_stamp=node_modules/.installed-$(sha1sum package-lock.json | cut -c1-12)
if [ ! -f "$lock_stamp" ]; then
  echo "installing the project-local npm packages (firebase-tools for the Auth emulator)" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch "$lock_stamp"
fi

if $want_test && [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests" >&2
  apt_install chromium
fi

if $want_test; then
  if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1 \
      || ! command -v mmdebstrap >/dev/null 2>&1; then
    echo "installing podman, runc and mmdebstrap for the container test" >&2
    apt_install podman runc mmdebstrap
  fi
  bash scripts/container-base.sh
fi

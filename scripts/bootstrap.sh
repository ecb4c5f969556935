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

# What it is doing, on stderr (stdout stays for the run command's own lines).
step() { echo "bootstrap: $*" >&2; }

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
  step "installing a Java runtime for the Firestore emulator"
  apt_install default-jre-headless
fi

if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/sbin/redis-server ]; then
  step "installing Debian's redis-server for rate limits shared by all processes"
  apt_install redis-server
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  step "installing Node.js and npm for the Firebase Auth emulator"
  apt_install nodejs npm || {
    echo "Node.js 18+ and npm are needed (the Firebase Auth emulator); install them and run again." >&2
    exit 1
  }
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  step "creating the virtualenv .venv"
  "$PYTHON" -m venv .venv
fi
requirements=requirements-local.txt
$want_test && requirements=requirements-test.txt
stamp=.venv/.installed-$(cat requirements*.txt | sha1sum | cut -c1-12)-$requirements
if [ ! -f "$stamp" ]; then
  step "installing the pinned Python packages into .venv from $requirements (first run: about 2 minutes)"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/pip install -q --disable-pip-version-check -r "$requirements"
  touch "$stamp"
fi

# Project-local npm packages exactly as the lockfile says (no global install).
lock_stamp=node_modules/.installed-$(sha1sum package-lock.json | cut -c1-12)
if [ ! -f "$lock_stamp" ]; then
  step "installing the project-local npm packages (firebase-tools for the Auth emulator)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  touch "$lock_stamp"
fi

if $want_test && [ ! -x /usr/bin/chromium ]; then
  step "installing Debian's chromium for the browser tests"
  apt_install chromium
fi

if $want_test; then
  if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1 \
      || ! command -v mmdebstrap >/dev/null 2>&1; then
    step "installing podman, runc and mmdebstrap for the container test"
    apt_install podman runc mmdebstrap
  fi
  bash scripts/container-base.sh
fi

step "everything is installed"

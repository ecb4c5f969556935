#!/usr/bin/env bash
# Runs the whole test suite against the real Firestore emulator (started by
# the tests themselves unless FIRESTORE_EMULATOR_HOST is set), including the
# browser tests in headless Chromium. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --test
.venv/bin/ruff check server devstack tests bench
exec .venv/bin/python -m pytest "$@"

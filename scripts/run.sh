#!/usr/bin/env bash
# Runs the whole product locally: the Firestore emulator (unless a datastore is
# configured), the API under gunicorn, and the demo client at http://127.0.0.1:${PORT:-5000}/
# with demo users and data. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m devstack.run "$@"

#!/usr/bin/env bash
# Deploys what Firestore and Storage need besides the server, from firebase.json:
# the security rules (clients may read, never write), the composite indexes and
# the TTL policies (idempotency keys and sessions expire on their own).
#   deploy/firebase-deploy.sh PROJECT_ID
set -euo pipefail
cd "$(dirname "$0")/.."
project=${1:?usage: deploy/firebase-deploy.sh PROJECT_ID}
npx --no-install firebase deploy --only firestore,storage --project "$project" --non-interactive

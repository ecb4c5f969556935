#!/usr/bin/env bash
# The service account the server runs as, with only the roles it uses.
#   deploy/service-account.sh PROJECT_ID BUCKET
set -euo pipefail
project=${1:?usage: deploy/service-account.sh PROJECT_ID BUCKET}
bucket=${2:-$project.appspot.com}
account="trusted-backend@$project.iam.gserviceaccount.com"

gcloud iam service-accounts create trusted-backend --project "$project" \
  --display-name "trusted backend (Cloud Run)"

# Project roles:
#   datastore.user: read and write Firestore (the only writer);
#   firebaseauth.viewer: verify_id_token(check_revoked=True) reads the Firebase user;
#   logging.logWriter, monitoring.metricWriter: logs, and metrics through a sidecar.
for role in roles/datastore.user roles/firebaseauth.viewer roles/logging.logWriter roles/monitoring.metricWriter; do
  gcloud projects add-iam-policy-binding "$project" --member "serviceAccount:$account" --role "$role" \
    --condition None >/dev/null
done

# The photos bucket only (objects written, read, deleted).
gcloud storage buckets add-iam-policy-binding "gs://$bucket" --member "serviceAccount:$account" \
  --role roles/storage.objectAdmin >/dev/null

# "Sign in with Firebase" mints custom tokens: signBlob as itself.
gcloud iam service-accounts add-iam-policy-binding "$account" --project "$project" \
  --member "serviceAccount:$account" --role roles/iam.serviceAccountTokenCreator >/dev/null

# SECRET_KEY signs the API's tokens: at least 32 random bytes, in Secret Manager.
if ! gcloud secrets describe trusted-backend-secret-key --project "$project" >/dev/null 2>&1; then
  python3 -c "import secrets; print(secrets.token_urlsafe(48), end='')" |
    gcloud secrets create trusted-backend-secret-key --project "$project" --data-file=-
fi
gcloud secrets add-iam-policy-binding trusted-backend-secret-key --project "$project" \
  --member "serviceAccount:$account" --role roles/secretmanager.secretAccessor >/dev/null
echo "$account is ready"

"""A Firestore client as an attacker would use it: the REST API with an end-user token.

The emulator accepts unsigned ID tokens, so a test can act as any signed-in
Firebase user; security rules apply to these requests (unlike the Admin SDK).
"""

import base64
import json
import time

import requests


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def user_token(project_id, uid):
    now = int(time.time())
    payload = {"sub": uid, "user_id": uid, "aud": project_id,
               "iss": f"https://securetoken.google.com/{project_id}",
               "iat": now, "exp": now + 3600, "auth_time": now}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."


class UserRest:
    def __init__(self, emulator_url, project_id, uid):
        self.base = f"{emulator_url}/v1/projects/{project_id}/databases/(default)/documents"
        self.headers = {"Authorization": f"Bearer {user_token(project_id, uid)}"}

    def get(self, path):
        return requests.get(f"{self.base}/{path}", headers=self.headers, timeout=10)

    def patch(self, path, fields, mask=None):
        params = [("updateMask.fieldPaths", f) for f in (mask or fields)]
        return requests.patch(f"{self.base}/{path}", params=params, json={"fields": fields},
                              headers=self.headers, timeout=10)

    def create(self, collection, fields, doc_id=None):
        params = {"documentId": doc_id} if doc_id else {}
        return requests.post(f"{self.base}/{collection}", params=params, json={"fields": fields},
                             headers=self.headers, timeout=10)

    def delete(self, path):
        return requests.delete(f"{self.base}/{path}", headers=self.headers, timeout=10)

    def query(self, collection, field, value):
        body = {"structuredQuery": {"from": [{"collectionId": collection}], "where": {
            "fieldFilter": {"field": {"fieldPath": field}, "op": "EQUAL",
                            "value": {"stringValue": value}}}}}
        return requests.post(f"{self.base}:runQuery", json=body, headers=self.headers, timeout=10)

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
    """Firestore's REST API as a signed-in end user: a hand-made token for `uid`, or a real `id_token`."""

    def __init__(self, emulator_url, project_id, uid=None, id_token=None):
        self.base = f"{emulator_url}/v1/projects/{project_id}/databases/(default)/documents"
        self.headers = {"Authorization": f"Bearer {id_token or user_token(project_id, uid)}"}

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

    def query(self, collection, field=None, value=None, op="EQUAL", parent="", all_descendants=False):
        """runQuery; without a field, the whole collection (a query no rule can allow)."""
        query = {"from": [{"collectionId": collection, "allDescendants": all_descendants}]}
        if field:
            query["where"] = {"fieldFilter": {"field": {"fieldPath": field}, "op": op,
                                              "value": {"stringValue": value}}}
        url = f"{self.base}/{parent}:runQuery" if parent else f"{self.base}:runQuery"
        return requests.post(url, json={"structuredQuery": query}, headers=self.headers, timeout=10)

    def list(self, collection):
        return requests.get(f"{self.base}/{collection}", headers=self.headers, timeout=10)


class UserListener:
    """A Firestore listener (the gRPC Listen stream the SDKs use) with an end-user token.

    The Python Firestore client always sends `Bearer owner` to the emulator,
    which bypasses rules, so this speaks the RPC directly with the user's token.
    """

    def __init__(self, emulator_host, project_id, id_token):
        import grpc
        from google.cloud.firestore_v1.services.firestore import FirestoreClient
        from google.cloud.firestore_v1.services.firestore.transports import FirestoreGrpcTransport

        self.database = f"projects/{project_id}/databases/(default)"
        self._channel = grpc.insecure_channel(emulator_host)
        self._client = FirestoreClient(transport=FirestoreGrpcTransport(channel=self._channel))
        # The emulator resolves the database from this header, as the SDKs send it.
        self._metadata = [("authorization", f"Bearer {id_token}"),
                          ("google-cloud-resource-prefix", self.database)]

    def _request(self, target):
        from google.cloud.firestore_v1.types import ListenRequest

        return ListenRequest(database=self.database, add_target=target)

    def document_target(self, path):
        from google.cloud.firestore_v1.types import Target

        return Target(target_id=1, documents=Target.DocumentsTarget(
            documents=[f"{self.database}/documents/{path}"]))

    def listen(self, target, until, timeout=15.0):
        """Reads the stream until `until(event)` is true for an event; returns the events seen.

        An event is ("doc", path, fields-as-dict), ("current",) or ("denied", code).
        """
        import queue
        import threading

        from google.cloud.firestore_v1.types import TargetChange

        events, stop = queue.Queue(), threading.Event()

        def requests_iter():
            yield self._request(target)
            stop.wait(timeout + 5)  # keep the stream open until we are done

        def pump():
            try:
                for response in self._client.listen(requests=requests_iter(), metadata=self._metadata):
                    if "document_change" in response:
                        doc = response.document_change.document
                        events.put(("doc", doc.name.split("/documents/", 1)[1],
                                    {k: v for k, v in doc.fields.items()}))
                    elif "target_change" in response:
                        change = response.target_change
                        if change.cause.code:
                            events.put(("denied", change.cause.code))
                        elif change.target_change_type == TargetChange.TargetChangeType.CURRENT:
                            events.put(("current",))
            except Exception as exc:  # the stream ended: our cancellation, or a refusal
                if not stop.is_set():
                    events.put(("denied", repr(exc)))

        threading.Thread(target=pump, daemon=True).start()
        seen = []
        try:
            while True:
                event = events.get(timeout=timeout)
                seen.append(event)
                if until(event) or event[0] == "denied":
                    return seen
        finally:
            stop.set()

    def close(self):
        self._channel.close()

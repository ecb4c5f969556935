"""Security rules for conversations, from the attacker's side, with real Firebase Auth emulator identities.

Each user of ours gets a Firebase identity whose uid is their user id: a
custom token minted by firebase-admin, exchanged at the Auth emulator for an
ID token, which the Firestore emulator checks against the rules. A member
reads (documents, queries); a non-member gets 403; nobody writes.
"""

import pytest
import requests
from conftest import unique_name
from firebase_admin import auth as firebase_auth

API = "/api/v1"


class FirebaseUser:
    """A Firestore REST client signed in to Firebase (Auth emulator) as `uid`."""

    def __init__(self, stack, app, uid, monkeypatch):
        monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", stack.auth_host)  # read by firebase-admin per call
        custom = firebase_auth.create_custom_token(uid, app=app.extensions["datastore"]._firebase_app)
        resp = requests.post(
            f"http://{stack.auth_host}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken",
            params={"key": "any"}, json={"token": custom.decode(), "returnSecureToken": True}, timeout=10)
        assert resp.status_code == 200, resp.text
        self.headers = {"Authorization": f"Bearer {resp.json()['idToken']}"}
        self.root = f"projects/{stack.project_id}/databases/(default)/documents"
        self.base = f"{stack.firestore.url}/v1/{self.root}"

    def get(self, path):
        return requests.get(f"{self.base}/{path}", headers=self.headers, timeout=10)

    def write(self, method, path, fields):
        params = [("updateMask.fieldPaths", f) for f in fields] if method == "PATCH" else []
        return requests.request(method, f"{self.base}/{path}", params=params, json={"fields": fields},
                                headers=self.headers, timeout=10)

    def query(self, parent, collection, where=None):
        query = {"from": [{"collectionId": collection}]}
        if where:
            query["where"] = where
        return requests.post(f"{self.base}{parent}:runQuery", json={"structuredQuery": query},
                             headers=self.headers, timeout=10)


def my_conversations(uid):
    return {"fieldFilter": {"field": {"fieldPath": "member_ids"}, "op": "ARRAY_CONTAINS",
                            "value": {"stringValue": uid}}}


@pytest.fixture
def chat(stack, app, live_server, monkeypatch):
    if not stack.auth_host:
        pytest.fail("the local stack has no Auth emulator")
    alice, bob, mallory = (live_server.signup(unique_name(p)) for p in ("al", "bo", "ma"))
    conv = live_server.api("POST", f"{API}/conversations", alice["token"],
                           json={"with": bob["user"]["username"]}).json()["conversation"]
    sent = live_server.api("POST", f"{API}/conversations/{conv['id']}/messages", alice["token"],
                           json={"body": "for bob only"})
    assert sent.status_code == 201, sent.text

    def firebase(user):
        return FirebaseUser(stack, app, user["user"]["id"], monkeypatch)

    return {"conv": conv, "alice": firebase(alice), "bob": firebase(bob), "mallory": firebase(mallory),
            "ids": (alice["user"]["id"], bob["user"]["id"], mallory["user"]["id"])}


def test_members_read_their_conversation_and_messages(chat):
    conv_path = f"conversations/{chat['conv']['id']}"
    for member in (chat["alice"], chat["bob"]):
        doc = member.get(conv_path)
        assert doc.status_code == 200, doc.text
        assert doc.json()["fields"]["message_count"]["integerValue"] == "1"
        msg = member.get(f"{conv_path}/messages/0000000001")
        assert msg.status_code == 200, msg.text
        assert msg.json()["fields"]["body"]["stringValue"] == "for bob only"
        listing = member.query(f"/{conv_path}", "messages")
        assert listing.status_code == 200, listing.text
        assert [r["document"]["fields"]["seq"]["integerValue"] for r in listing.json() if "document" in r] == ["1"]
    alice_id = chat["ids"][0]
    mine = chat["alice"].query("", "conversations", my_conversations(alice_id))
    assert mine.status_code == 200, mine.text
    assert [r["document"]["name"].rsplit("/", 1)[1] for r in mine.json() if "document" in r] == [chat["conv"]["id"]]


def test_a_non_member_gets_403(chat):
    conv_path = f"conversations/{chat['conv']['id']}"
    mallory = chat["mallory"]
    assert mallory.get(conv_path).status_code == 403
    assert mallory.get(f"{conv_path}/messages/0000000001").status_code == 403
    assert mallory.query(f"/{conv_path}", "messages").status_code == 403
    assert mallory.query("", "conversations").status_code == 403  # not constrained to own data
    assert mallory.query("", "conversations", my_conversations(chat["ids"][0])).status_code == 403
    # Asking for a conversation that does not exist is refused too (no existence oracle).
    assert mallory.get("conversations/doesnotexist/messages/0000000001").status_code == 403


def test_nobody_writes_not_even_members(chat):
    conv_path = f"conversations/{chat['conv']['id']}"
    forged = {"body": {"stringValue": "forged"}, "seq": {"integerValue": "2"}}
    for who in ("alice", "bob", "mallory"):
        client = chat[who]
        assert client.write("PATCH", conv_path, {"message_count": {"integerValue": "0"}}).status_code == 403
        assert client.write("PATCH", f"{conv_path}/messages/0000000002", forged).status_code == 403
        assert client.write("PATCH", f"{conv_path}/messages/0000000001", forged).status_code == 403
        assert client.write("DELETE", f"{conv_path}/messages/0000000001", {}).status_code == 403
        assert client.write("DELETE", conv_path, {}).status_code == 403
        new = client.write("PATCH", "conversations/forged", {"member_ids": {"arrayValue": {"values": [
            {"stringValue": chat["ids"][2]}]}}})
        assert new.status_code == 403
    body = chat["bob"].get(f"{conv_path}/messages/0000000001").json()["fields"]["body"]["stringValue"]
    assert body == "for bob only"
    assert chat["bob"].get(f"{conv_path}/messages/0000000002").status_code in (403, 404)

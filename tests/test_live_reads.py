"""Live reads from the attacker's side: a browser's Firebase identity against Firestore directly.

The identity is real: a custom token from POST /auth/firebase-token, signed in
at the Auth emulator. With its ID token a client may read (and listen to) only
what docs/API.md "Live reads" lists; everything else, every unconstrained query and
every write is refused by the rules.
"""

import threading
import uuid

import pytest
from conftest import unique_name
from firebase_rest import AuthEmulator
from rest import UserListener, UserRest


def idem():
    return {"Idempotency-Key": uuid.uuid4().hex}


@pytest.fixture(scope="module")
def world(live_server, stack, emulator, project_id):
    """alice (the caller, signed in to Firebase), bob and carol; alice sent bob money,
    bob sent carol money; conversations alice+bob and bob+carol with a message each
    (all made through the API)."""
    firebase = AuthEmulator(stack.auth_host, project_id)
    alice, bob, carol = (live_server.signup(unique_name(n)) for n in ("alice", "bob", "carol"))
    for party in (alice, bob):
        resp = live_server.api("POST", "/api/v1/admin/deposits", live_server.admin_token(), headers=idem(),
                               json={"to": party["user"]["username"], "amount": 1000})
        assert resp.status_code == 201, resp.text
    sent = live_server.api("POST", "/api/v1/transfers", alice["token"], headers=idem(),
                           json={"to": bob["user"]["username"], "amount": 100}).json()["transfer"]
    elsewhere = live_server.api("POST", "/api/v1/transfers", bob["token"], headers=idem(),
                                json={"to": carol["user"]["username"], "amount": 50}).json()["transfer"]
    ids = {name: party["user"]["id"] for name, party in (("alice", alice), ("bob", bob), ("carol", carol))}
    conversations, first_messages = {}, {}
    for key, (starter, other) in (("mine", (alice, bob)), ("theirs", (bob, carol))):
        conv = live_server.api("POST", "/api/v1/conversations", starter["token"],
                               json={"with": other["user"]["username"]}).json()["conversation"]
        message = live_server.api("POST", f"/api/v1/conversations/{conv['id']}/messages", starter["token"],
                                  json={"body": "hi"}).json()["message"]
        conversations[key], first_messages[key] = conv["id"], message["id"]
    custom = live_server.api("POST", "/api/v1/auth/firebase-token", alice["token"]).json()["custom_token"]
    id_token = firebase.sign_in_with_custom_token(custom)
    return {"ids": ids, "alice": alice, "bob": bob, "sent": sent, "elsewhere": elsewhere,
            "conversations": conversations, "messages": first_messages, "id_token": id_token,
            "rest": UserRest(emulator.url, project_id, id_token=id_token)}


def documents(resp):
    assert resp.status_code == 200, resp.text
    return [item["document"]["name"].split("/documents/", 1)[1] for item in resp.json() if "document" in item]


def test_reads_own_account_postings_transfers_and_conversations(world):
    rest, me = world["rest"], world["ids"]["alice"]
    own = rest.get(f"accounts/{me}")
    assert own.status_code == 200, own.text
    assert own.json()["fields"]["balance"]["integerValue"] == "900"
    postings = documents(rest.query("postings", "owner_id", me))
    assert len(postings) == 2  # the deposit and the transfer
    assert rest.get(postings[0]).status_code == 200
    transfers = documents(rest.query("transfers", "parties", me, op="ARRAY_CONTAINS"))
    assert f"transfers/{world['sent']['id']}" in transfers
    assert rest.get(f"transfers/{world['sent']['id']}").status_code == 200
    mine = world["conversations"]["mine"]
    assert rest.get(f"conversations/{mine}").status_code == 200
    assert documents(rest.query("conversations", "member_ids", me, op="ARRAY_CONTAINS")) == [f"conversations/{mine}"]
    message = f"conversations/{mine}/messages/{world['messages']['mine']}"
    assert rest.get(message).status_code == 200
    assert documents(rest.query("messages", parent=f"conversations/{mine}")) == [message]


def test_other_users_documents_are_refused(world):
    rest, bob = world["rest"], world["ids"]["bob"]
    theirs = world["conversations"]["theirs"]
    for path in (f"accounts/{bob}", "accounts/treasury", f"transfers/{world['elsewhere']['id']}",
                 f"conversations/{theirs}", f"conversations/{theirs}/messages/{world['messages']['theirs']}",
                 f"users/{world['ids']['alice']}", f"users/{bob}", f"usernames/u_{world['alice']['user']['username']}"):
        resp = rest.get(path)
        assert resp.status_code == 403, (path, resp.text)
    assert rest.query("postings", "owner_id", bob).status_code == 403
    assert rest.query("transfers", "parties", bob, op="ARRAY_CONTAINS").status_code == 403
    assert rest.query("messages", parent=f"conversations/{theirs}").status_code == 403


@pytest.mark.parametrize("collection", ["accounts", "postings", "transfers", "conversations", "users",
                                        "sessions", "audit", "usernames", "posts"])
def test_unconstrained_queries_are_refused(world, collection):
    """Rules are not filters: asking for everything is refused, not trimmed to one's own."""
    rest = world["rest"]
    assert rest.query(collection).status_code == 403
    assert rest.list(collection).status_code == 403


def test_collection_group_query_on_messages_is_refused(world):
    assert world["rest"].query("messages", all_descendants=True).status_code == 403


def test_every_write_is_refused(world):
    rest, me = world["rest"], world["ids"]["alice"]
    mine = world["conversations"]["mine"]
    own = [f"accounts/{me}", f"transfers/{world['sent']['id']}", f"conversations/{mine}",
           f"conversations/{mine}/messages/{world['messages']['mine']}", f"users/{me}"]
    for path in own:
        assert rest.patch(path, {"balance": {"integerValue": "1000000"}}).status_code == 403, path
        assert rest.delete(path).status_code == 403, path
    for collection in ("accounts", "postings", "transfers", "conversations", f"conversations/{mine}/messages",
                       "audit", "sessions"):
        fields = {"owner_id": {"stringValue": me}, "member_ids": {"arrayValue": {"values": [{"stringValue": me}]}}}
        assert rest.create(collection, fields).status_code == 403, collection


def test_listener_sees_own_balance_change_live(world, live_server, emulator, project_id):
    me = world["ids"]["alice"]
    listener = UserListener(emulator.host, project_id, world["id_token"])
    try:
        first = listener.listen(listener.document_target(f"accounts/{me}"), lambda e: e[0] == "current")
        assert ("doc", f"accounts/{me}") == first[0][:2]
        balance = first[0][2]["balance"].integer_value

        def pay():  # once the stream below is open
            live_server.api("POST", "/api/v1/transfers", world["bob"]["token"], headers=idem(),
                            json={"to": world["alice"]["user"]["username"], "amount": 7})

        timer = threading.Timer(1.0, pay)
        timer.start()
        events = listener.listen(listener.document_target(f"accounts/{me}"),
                                 lambda e: e[0] == "doc" and e[2]["balance"].integer_value == balance + 7)
        timer.join()
        assert events[0][2]["balance"].integer_value == balance  # the state when the stream opened
        assert events[-1][2]["balance"].integer_value == balance + 7  # then pushed, no re-read
    finally:
        listener.close()


def test_listener_on_another_users_account_is_refused(world, emulator, project_id):
    listener = UserListener(emulator.host, project_id, world["id_token"])
    try:
        events = listener.listen(listener.document_target(f"accounts/{world['ids']['bob']}"),
                                 lambda e: e[0] == "current")
        assert events == [("denied", 7)]  # PERMISSION_DENIED, and no document
    finally:
        listener.close()

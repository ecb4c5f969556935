"""Attacks from the client side: a real end-user token talking to Firestore directly.

The rules must refuse every client write; reads are limited to the
caller's own documents (see docs/security.md, "Live reads"; tests/test_live_reads.py
attacks them with a real Firebase identity).
"""

import pytest
from rest import UserRest

COLLECTIONS = ["users", "usernames", "accounts", "transfers", "postings", "audit", "sessions",
               "idempotency", "posts", "comments", "anything_else"]


@pytest.fixture
def victim(live_server):
    return live_server.signup()


@pytest.fixture
def attacker_rest(emulator, project_id, user):
    return UserRest(emulator.url, project_id, user["user"]["id"])


def test_user_cannot_patch_own_balance(emulator, project_id, user, live_server):
    uid = user["user"]["id"]
    rest = UserRest(emulator.url, project_id, uid)
    resp = rest.patch(f"accounts/{uid}", {"balance": {"integerValue": "100000000"}})
    assert resp.status_code == 403, resp.text
    assert "PERMISSION_DENIED" in resp.text
    me = live_server.api("GET", "/api/v1/me", user["token"]).json()
    assert me["account"]["balance"] == 0


def test_user_can_read_own_account_but_not_others(attacker_rest, user, victim):
    own = attacker_rest.get(f"accounts/{user['user']['id']}")
    assert own.status_code == 200, own.text
    assert own.json()["fields"]["balance"]["integerValue"] == "0"
    assert attacker_rest.get(f"accounts/{victim['user']['id']}").status_code == 403
    assert attacker_rest.get(f"users/{user['user']['id']}").status_code == 403  # holds the hash
    assert attacker_rest.get("accounts/treasury").status_code == 403


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_every_client_create_is_refused(attacker_rest, collection):
    resp = attacker_rest.create(collection, {"amount": {"integerValue": "5"}})
    assert resp.status_code == 403, resp.text


@pytest.mark.parametrize("path", ["accounts/{uid}", "users/{uid}", "accounts/{victim}", "usernames/u_{name}"])
def test_every_client_update_and_delete_is_refused(attacker_rest, user, victim, path):
    path = path.format(uid=user["user"]["id"], victim=victim["user"]["id"], name=user["user"]["username"])
    assert attacker_rest.patch(path, {"role": {"stringValue": "admin"}}).status_code == 403
    assert attacker_rest.delete(path).status_code == 403


def test_unauthenticated_client_is_refused(emulator, project_id, user):
    import requests

    base = f"{emulator.url}/v1/projects/{project_id}/databases/(default)/documents"
    resp = requests.patch(f"{base}/accounts/{user['user']['id']}?updateMask.fieldPaths=balance",
                          json={"fields": {"balance": {"integerValue": "7"}}}, timeout=10)
    assert resp.status_code == 403
    assert requests.get(f"{base}/accounts/{user['user']['id']}", timeout=10).status_code == 403

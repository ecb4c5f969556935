"""Issue 21.1: a Firebase identity never stands for a password user, and moderators' ids
are not public (the takeover began by reading an admin's id from the public feed)."""

import pytest
from conftest import approve_item, created, unique_name
from firebase_rest import AuthEmulator, claims_of, reforged, unsigned_custom_token
from photo_samples import encode, marked


def firebase_sign_in(live, id_token, username=None):
    body = {"id_token": id_token} if username is None else {"id_token": id_token, "username": username}
    return live.api("POST", "/api/v1/auth/firebase", json=body)


def refusals_of(live, admin_token, user_id):
    resp = live.api("GET", "/api/v1/admin/audit", admin_token,
                    params={"action": "user.firebase_refused", "target": f"users/{user_id}"})
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def assert_refused(resp):
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "unauthenticated"
    assert "token" not in resp.json()


def _new_item(live, token, kind):
    if kind == "post":
        return created(live.api("POST", "/api/v1/posts", token, json={"title": "t", "body": "b"}), "post")
    image = ("p.png", encode(marked((8, 8)), "PNG"), "image/png")
    return created(live.api("POST", "/api/v1/photos", token, files={"image": image}), "photo")


@pytest.mark.parametrize("kind", ["post", "photo"])
def test_public_feed_and_gallery_show_no_moderator_id(live_server, user, kind):
    item = _new_item(live_server, user["token"], kind)
    approved = approve_item(live_server, kind, item)
    admin_id = approved["moderation"]["by_id"]  # the admin sees it
    assert admin_id
    for path in (f"/api/v1/{kind}s", f"/api/v1/{kind}s/{item['id']}", f"/api/v1/{kind}s/mine"):
        for token in (None, user["token"]):
            resp = live_server.api("GET", path, token)
            if resp.status_code == 401:  # /mine needs a token
                continue
            assert item["id"] in resp.text and admin_id not in resp.text, (path, token)
    listing = live_server.api("GET", f"/api/v1/{kind}s", params={"limit": 100}).json()["items"]
    shown = next(entry for entry in listing if entry["id"] == item["id"])
    assert shown["moderation"]["by"] and shown["moderation"]["by_id"] is None


def test_forged_provider_on_a_custom_token_for_the_admin_is_refused(live_server, stack, admin):
    """The demo-stack route: an unsigned custom token for the admin's id, its ID token's
    sign_in_provider edited to "password" (the emulator signs nothing)."""
    firebase = AuthEmulator(stack.auth_host, stack.project_id)
    admin_id = admin["user"]["id"]
    id_token = firebase.sign_in_with_custom_token(unsigned_custom_token(admin_id))
    forged = reforged(id_token, firebase={**claims_of(id_token)["firebase"], "sign_in_provider": "password"})
    assert_refused(firebase_sign_in(live_server, forged))
    events = refusals_of(live_server, admin["token"], admin_id)
    assert events and events[0]["details"]["sign_in_provider"] == "password"
    # Nothing was opened: the admin's money stays out of reach.
    assert live_server.api("GET", "/api/v1/me", forged).status_code == 401


def test_firebase_user_created_with_a_password_users_id_is_refused(live_server, stack, admin):
    """A project backend creating a Firebase user whose uid is alice's id (the admin API)."""
    firebase = AuthEmulator(stack.auth_host, stack.project_id)
    alice = live_server.signup(unique_name("alice"))
    id_token = firebase.create_user_with_uid(alice["user"]["id"])
    assert claims_of(id_token)["sub"] == alice["user"]["id"]
    assert_refused(firebase_sign_in(live_server, id_token))
    assert_refused(firebase_sign_in(live_server, id_token, unique_name("fb")))
    assert refusals_of(live_server, admin["token"], alice["user"]["id"])
    # Alice herself is untouched.
    assert live_server.api("GET", "/api/v1/me", alice["token"]).json()["user"]["username"] == alice["user"]["username"]

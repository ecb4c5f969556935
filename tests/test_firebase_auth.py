"""Firebase sign-in (POST /auth/firebase, /auth/firebase-token) with real Auth-emulator tokens."""

import pytest
from conftest import PASSWORD, make_test_config, unique_name
from firebase_rest import AuthEmulator, claims_of, expired, reforged

from server import create_app
from server.datastore import get_datastore
from server.kernel.errors import DomainError


@pytest.fixture(scope="session")
def firebase(stack):
    return AuthEmulator(stack.auth_host, stack.project_id)


def exchange(live_server, id_token, username=None):
    body = {"id_token": id_token} if username is None else {"id_token": id_token, "username": username}
    return live_server.api("POST", "/api/v1/auth/firebase", json=body)


def assert_unauthenticated(resp):
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "unauthenticated"


@pytest.fixture
def firebase_user(live_server, firebase):
    """A Firebase user who already has a wallet: the emulator user plus our session."""
    fb = firebase.sign_up()
    resp = exchange(live_server, fb["id_token"], unique_name("fb"))
    assert resp.status_code == 201, resp.text
    return {**fb, **resp.json()}


def test_first_exchange_creates_the_user_then_signs_in(live_server, firebase, admin):
    fb = firebase.sign_up()
    name = unique_name("fb")
    created = exchange(live_server, fb["id_token"], name.upper())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["user"]["id"] == fb["uid"]
    assert body["user"]["username"] == name and body["user"]["role"] == "user"
    assert body["token"] and body["expires_at"].endswith("Z")
    me = live_server.api("GET", "/api/v1/me", body["token"]).json()
    assert me["account"]["balance"] == 0 and me["account"]["owner_id"] == fb["uid"]

    again = exchange(live_server, firebase.sign_in(fb["email"], fb["password"]))
    assert again.status_code == 200, again.text
    assert again.json()["user"] == body["user"]
    assert again.json()["token"] != body["token"]

    events = live_server.api("GET", "/api/v1/admin/audit", admin["token"],
                             params={"action": "user.signup", "target": f"users/{fb['uid']}"}).json()["items"]
    assert len(events) == 1
    assert events[0]["details"]["provider"] == "firebase"
    assert events[0]["actor_id"] == fb["uid"]


def test_first_exchange_needs_a_free_username(live_server, firebase):
    fb = firebase.sign_up()
    missing = exchange(live_server, fb["id_token"])
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "username"
    taken = exchange(live_server, fb["id_token"], live_server.signup()["user"]["username"])
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "username_taken"
    assert exchange(live_server, fb["id_token"], "treasury").status_code == 409
    assert exchange(live_server, fb["id_token"], "bad name!").status_code == 422
    # Nothing was created by the refusals: the same user can still pick a name.
    assert exchange(live_server, fb["id_token"], unique_name("fb")).status_code == 201


def test_firebase_user_can_transfer(live_server, firebase_user, admin):
    other = live_server.signup()
    deposit = live_server.api("POST", "/api/v1/admin/deposits", admin["token"],
                              headers={"Idempotency-Key": unique_name()},
                              json={"to": firebase_user["user"]["username"], "amount": 500})
    assert deposit.status_code == 201, deposit.text
    sent = live_server.api("POST", "/api/v1/transfers", firebase_user["token"],
                           headers={"Idempotency-Key": unique_name()},
                           json={"to": other["user"]["username"], "amount": 120})
    assert sent.status_code == 201, sent.text
    assert live_server.api("GET", "/api/v1/accounts/me", firebase_user["token"]).json()["balance"] == 380
    assert live_server.api("GET", "/api/v1/accounts/me", other["token"]).json()["balance"] == 120


def test_firebase_user_has_no_password(live_server, firebase_user):
    name = firebase_user["user"]["username"]
    for password in (PASSWORD, firebase_user["password"], "x" * 8):
        resp = live_server.api("POST", "/api/v1/auth/login", json={"username": name, "password": password})
        unknown = live_server.api("POST", "/api/v1/auth/login", json={"username": unique_name(), "password": password})
        assert resp.status_code == 401
        assert resp.json() == unknown.json()
        assert resp.json()["error"]["code"] == "invalid_credentials"
    change = live_server.api("POST", "/api/v1/auth/password", firebase_user["token"],
                             json={"current_password": "whatever1", "new_password": PASSWORD})
    assert change.status_code == 409
    assert change.json()["error"]["code"] == "conflict"


def test_disabled_user_is_refused(live_server, firebase, firebase_user):
    token = firebase.sign_in(firebase_user["email"], firebase_user["password"])
    firebase.disable(firebase_user["uid"])
    assert_unauthenticated(exchange(live_server, token))


def test_unknown_to_firebase_is_refused(live_server, firebase):
    """A well-formed token of a uid the Auth emulator does not know (deleted user)."""
    fb = firebase.sign_up()
    ghost = reforged(fb["id_token"], sub="ghost" + fb["uid"], user_id="ghost" + fb["uid"])
    assert_unauthenticated(exchange(live_server, ghost, unique_name("fb")))


def test_revoked_token_is_refused(live_server, app, firebase, firebase_user):
    import time

    token = firebase.sign_in(firebase_user["email"], firebase_user["password"])
    time.sleep(1.1)  # revocation has second resolution: tokens issued before it are refused
    with app.app_context():
        get_datastore().auth.revoke_refresh_tokens(firebase_user["uid"])
    assert_unauthenticated(exchange(live_server, token))
    time.sleep(1.1)
    fresh = firebase.sign_in(firebase_user["email"], firebase_user["password"])
    assert exchange(live_server, fresh).status_code == 200


@pytest.mark.parametrize("forge", [
    lambda t, pid: reforged(t, aud="demo-someone-else", iss="https://securetoken.google.com/demo-someone-else"),
    lambda t, pid: reforged(t, aud="demo-someone-else"),
    lambda t, pid: reforged(t, iss="https://evil.example.com/" + pid),
    lambda t, pid: expired(t),
    lambda t, pid: reforged(t, sub="", user_id=""),
    lambda t, pid: reforged(t, iat=None),
    lambda t, pid: reforged(t, exp="never"),
    lambda t, pid: "not-a-jwt",
    lambda t, pid: t + "x.y",
], ids=["other-project", "other-audience", "other-issuer", "expired", "no-subject", "no-issued-at",
        "odd-expiry", "garbage", "mangled"])
def test_forged_tokens_are_refused(live_server, firebase, project_id, forge):
    fb = firebase.sign_up()
    assert claims_of(fb["id_token"])["aud"] == project_id
    assert_unauthenticated(exchange(live_server, forge(fb["id_token"], project_id), unique_name("fb")))


def test_unsigned_token_is_refused_outside_the_emulator_config(emulator, project_id, firebase):
    """The emulator's tokens are `alg: none`; an app not configured for the emulator must refuse them
    (firebase-admin reads the variable per call: the app's own setting decides, not the process's).
    On the Firestore emulator such an app has no Firebase Auth part, so the route is not even
    offered; the service behind it refuses the token as well."""
    app = create_app(make_test_config(emulator, project_id, FIREBASE_AUTH_EMULATOR_HOST=None))
    try:
        fb = firebase.sign_up()
        resp = app.test_client().post("/api/v1/auth/firebase",
                                      json={"id_token": fb["id_token"], "username": unique_name("fb")})
        assert resp.status_code == 404, resp.text
        with pytest.raises(DomainError) as refused:
            app.extensions["auth"].firebase_sign_in(fb["id_token"], unique_name("fb"))
        assert (refused.value.status, refused.value.code) == (401, "unauthenticated")
    finally:
        app.extensions["shutdown"]()


@pytest.mark.parametrize("project", ["trusted-prod", "my-demo-project"])
def test_refuses_to_start_with_the_auth_emulator_on_a_real_project(emulator, stack, project):
    with pytest.raises(RuntimeError, match="demo-"):
        create_app(make_test_config(emulator, project, FIREBASE_AUTH_EMULATOR_HOST=stack.auth_host))


def test_custom_token_names_the_caller_and_signs_in(live_server, firebase, user):
    resp = live_server.api("POST", "/api/v1/auth/firebase-token", user["token"])
    assert resp.status_code == 200, resp.text
    custom = resp.json()["custom_token"]
    assert claims_of(custom)["uid"] == user["user"]["id"]
    assert "claims" not in claims_of(custom)  # the role stays in our user document
    id_token = firebase.sign_in_with_custom_token(custom)
    assert claims_of(id_token)["sub"] == user["user"]["id"]
    assert live_server.api("POST", "/api/v1/auth/firebase-token").status_code == 401


def test_custom_token_sign_in_cannot_open_a_session(live_server, firebase, user, firebase_user):
    """A custom token is for live reads: exchanging its ID token for a session would let a
    stolen session outlive its logout or a password change."""
    for caller in (user, firebase_user):
        custom = live_server.api("POST", "/api/v1/auth/firebase-token", caller["token"]).json()["custom_token"]
        id_token = firebase.sign_in_with_custom_token(custom)
        assert claims_of(id_token)["firebase"]["sign_in_provider"] == "custom"
        assert_unauthenticated(exchange(live_server, id_token))


def test_firebase_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/auth/firebase", "/api/v1/auth/firebase-token", "/api/v1/auth/password"):
        assert "post" in paths[path]


def test_client_config_and_csp_name_the_emulators(client, stack, emulator):
    config = client.get("/api/v1/client-config").json
    assert config["auth_emulator_url"] == f"http://{stack.auth_host}"
    assert config["firestore_emulator_url"] == emulator.url
    assert config["project_id"] == stack.project_id
    csp = client.get("/").headers["Content-Security-Policy"]
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src")).split()[1:]
    assert connect == ["'self'", emulator.url, f"http://{stack.auth_host}"]
    assert "'unsafe-inline'" not in csp


def _unsigned(header, payload):
    import base64
    import json

    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part(header)}.{part(payload)}."


@pytest.mark.parametrize("token", [
    _unsigned({"alg": "none"}, []),
    _unsigned({"alg": "none"}, "a string"),
    _unsigned([], {"sub": "x"}),
    _unsigned({"alg": "none"}, {"sub": 5, "aud": ["a"], "iss": None}),
    _unsigned({"alg": "none"}, {"sub": "x" * 200}),
    "a.b.c", "....", "eyJ.eyJ.", "x" * 16_000,
])
def test_hostile_tokens_are_401_never_500(client, project_id, token):
    resp = client.post("/api/v1/auth/firebase", json={"id_token": token, "username": unique_name("fb")})
    assert resp.status_code == 401, resp.text


@pytest.mark.parametrize("token", ["é.é.é", "a b.c", "\U0001f600" * 100])
def test_a_token_of_other_characters_than_a_jwts_is_422(client, token):
    """As the document says (base64url and dots), and so within the body limit (issue 21)."""
    resp = client.post("/api/v1/auth/firebase", json={"id_token": token, "username": unique_name("fb")})
    assert resp.status_code == 422, resp.text
    assert resp.json["error"]["details"][0]["field"] == "id_token"

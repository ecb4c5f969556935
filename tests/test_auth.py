"""Users and sessions per the contract, against the real emulator."""

import datetime as dt
import threading
import time

import jwt
import pytest
from conftest import PASSWORD, SECRET, auth, make_test_config, unique_name
from gunicorn_server import wait_for

from server import create_app


def test_signup_login_me_logout_round_trip(live_server):
    name = unique_name()
    signed = live_server.signup(name.upper())
    assert signed["user"]["username"] == name  # lower-cased first
    assert signed["user"]["role"] == "user"
    assert signed["expires_at"].endswith("Z")

    login = live_server.api("POST", "/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200
    token = login.json()["token"]

    me = live_server.api("GET", "/api/v1/me", token)
    assert me.status_code == 200
    body = me.json()
    assert body["user"] == signed["user"]
    assert body["account"]["balance"] == 0
    assert body["account"]["owner_id"] == signed["user"]["id"]
    assert body["account"]["username"] == name

    assert live_server.api("POST", "/api/v1/auth/logout", token).status_code == 204
    revoked = live_server.api("GET", "/api/v1/me", token)
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "unauthenticated"
    # The signup token is a different session and still works.
    assert live_server.api("GET", "/api/v1/me", signed["token"]).status_code == 200


def test_no_response_contains_a_hash_or_password(live_server):
    name = unique_name()
    texts = [live_server.api("POST", "/api/v1/auth/signup",
                             json={"username": name, "password": PASSWORD}).text]
    token = live_server.api("POST", "/api/v1/auth/login",
                            json={"username": name, "password": PASSWORD}).json()["token"]
    texts.append(live_server.api("GET", "/api/v1/me", token).text)
    for text in texts:
        assert PASSWORD not in text
        assert "$2b$" not in text and "password" not in text


def test_stored_user_holds_bcrypt_hash_not_password(live_server, app):
    signed = live_server.signup()
    with app.app_context():
        from server.datastore import get_datastore

        doc = get_datastore().doc("users", signed["user"]["id"]).get().to_dict()
    assert doc["password_hash"].startswith("$2b$")
    assert PASSWORD not in str(doc)


def test_wrong_password_and_unknown_user_look_the_same(live_server):
    name = live_server.signup()["user"]["username"]
    wrong = live_server.api("POST", "/api/v1/auth/login", json={"username": name, "password": "wrong-password"})
    unknown = live_server.api("POST", "/api/v1/auth/login",
                              json={"username": unique_name(), "password": "wrong-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_duplicate_username_is_409_case_insensitive(live_server):
    name = live_server.signup()["user"]["username"]
    again = live_server.api("POST", "/api/v1/auth/signup", json={"username": name.upper(), "password": PASSWORD})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "username_taken"


def test_concurrent_duplicate_signups_exactly_one_wins(live_server):
    name = unique_name()
    statuses = []
    barrier = threading.Barrier(8)

    def attempt():
        barrier.wait()
        resp = live_server.api("POST", "/api/v1/auth/signup", json={"username": name, "password": PASSWORD})
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201] + [409] * 7


@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer ", "Basic abc", "Bearer not-a-jwt", "Bearer a.b.c",
])
def test_missing_or_malformed_token_is_401(live_server, header):
    headers = {"Authorization": header} if header is not None else {}
    resp = live_server.api("GET", "/api/v1/me", headers=headers)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthenticated"


def test_expired_and_forged_tokens_are_401(live_server):
    signed = live_server.signup()
    claims = jwt.decode(signed["token"], options={"verify_signature": False})
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, SECRET, algorithm="HS256")
    forged = jwt.encode(claims, "some-other-key", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (expired, forged, unsigned):
        resp = live_server.api("GET", "/api/v1/me", token)
        assert resp.status_code == 401, token
        assert resp.json()["error"]["code"] == "unauthenticated"


def test_token_ttl_expiry_is_enforced(emulator, project_id):
    # 5 s, not 1: under CI load the first request can come more than a second after the signup
    app = create_app(make_test_config(emulator, project_id, TOKEN_TTL_SECONDS=5))
    client = app.test_client()
    token = client.post("/api/v1/auth/signup",
                        json={"username": unique_name(), "password": PASSWORD}).json["token"]
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 200
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time()) + 1.1)
    assert client.get("/api/v1/me", headers=auth(token)).status_code == 401


@pytest.mark.parametrize("body", [
    {"username": "ab", "password": PASSWORD},                 # too short
    {"username": "a" * 33, "password": PASSWORD},             # too long
    {"username": "bad name!", "password": PASSWORD},          # alphabet
    {"username": "okname", "password": "short"},              # < 8 bytes
    {"username": "okname", "password": "a" * 73},             # 73 characters > 72
    {"username": "okname", "password": "€€a"},                # 3 characters, 7 bytes < 8
    {"username": "okname"},                                   # missing field
    {"username": 123, "password": PASSWORD},                  # wrong type
    {"username": "okname", "password": PASSWORD, "role": "admin"},  # extra field
    {},
])
def test_signup_validation_is_422(client, body):
    resp = client.post("/api/v1/auth/signup", json=body)
    assert resp.status_code == 422
    error = resp.json["error"]
    assert error["code"] == "validation_error"
    assert error["details"]


def test_password_limit_counts_utf8_bytes(client):
    ok = client.post("/api/v1/auth/signup", json={"username": unique_name(), "password": "é" * 36})
    assert ok.status_code == 201


def test_a_password_over_72_bytes_is_refused_though_under_72_characters(client):
    """The contract counts bytes (8-72 in UTF-8): 64 characters of 124 bytes are a 422."""
    name, password = unique_name(), "\u00e9" * 60 + "tail"  # 64 characters, 124 bytes
    answer = client.post("/api/v1/auth/signup", json={"username": name, "password": password})
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] == "validation_error"


def test_create_admin_cli_creates_then_promotes(app, runner, monkeypatch):
    name = unique_name("boss")
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)
    result = runner.invoke(args=["create-admin", name])
    assert result.exit_code == 0, result.output
    assert "created admin" in result.output
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD}).json["token"]
    assert client.get("/api/v1/me", headers=auth(token)).json["user"]["role"] == "admin"

    plain = client.post("/api/v1/auth/signup", json={"username": unique_name(), "password": PASSWORD}).json
    result = runner.invoke(args=["create-admin", plain["user"]["username"]])
    assert result.exit_code == 0 and "promoted" in result.output
    fresh = client.post("/api/v1/auth/login", json={"username": plain["user"]["username"],
                                                     "password": PASSWORD}).json["token"]
    assert client.get("/api/v1/me", headers=auth(fresh)).json["user"]["role"] == "admin"


def test_login_is_rate_limited_per_username(emulator, project_id):
    app = create_app(make_test_config(emulator, project_id, LOGIN_RATE_LIMIT="3/minute"))
    client = app.test_client()
    name = unique_name()
    client.post("/api/v1/auth/signup", json={"username": name, "password": PASSWORD})
    statuses = [client.post("/api/v1/auth/login", json={"username": name, "password": "wrong-pass"},
                            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code for i in range(5)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    limited = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited"


def test_login_is_rate_limited_per_address(emulator, project_id):
    app = create_app(make_test_config(emulator, project_id, LOGIN_IP_RATE_LIMIT="4/minute"))
    client = app.test_client()
    env = {"REMOTE_ADDR": "10.9.9.9"}
    statuses = [client.post("/api/v1/auth/login", json={"username": unique_name(), "password": "wrong-pass"},
                            environ_base=env).status_code for _ in range(6)]
    assert statuses == [401] * 4 + [429] * 2


def test_logout_reaches_other_processes_at_once(emulator, project_id):
    """Two app instances (two server processes): a logout in one is refused by the other
    long before its session cache would expire."""
    apps = [create_app(make_test_config(emulator, project_id, SESSION_CACHE_SECONDS=600)) for _ in range(2)]
    try:
        first, second = (a.test_client() for a in apps)
        token = first.post("/api/v1/auth/signup",
                           json={"username": unique_name(), "password": PASSWORD}).json["token"]
        assert second.get("/api/v1/me", headers=auth(token)).status_code == 200  # now cached there
        assert first.post("/api/v1/auth/logout", headers=auth(token)).status_code == 204
        assert wait_for(lambda: second.get("/api/v1/me", headers=auth(token)).status_code == 401)
    finally:
        for a in apps:
            a.extensions["shutdown"]()


def test_a_revocation_the_listener_start_missed_is_caught_up(live_server, app, monkeypatch):
    """As the emulator did (server/auth/store.py): the listener's first snapshot lacks a session
    revoked while it started, and no change follows. The catch-up query still reports it."""
    from google.cloud.firestore_v1.query import Query

    from server.auth.store import AuthStore
    from server.datastore import get_datastore

    token = live_server.signup()["token"]
    sid = jwt.decode(token, options={"verify_signature": False})["sid"]
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert live_server.api("POST", "/api/v1/auth/logout", token).status_code == 204
    listen = Query.on_snapshot
    monkeypatch.setattr(Query, "on_snapshot", lambda query, callback: listen(
        query, lambda docs, changes, read_time: callback(docs, [], read_time)))  # every change lost
    revoked = []
    with app.app_context():
        watch = AuthStore(get_datastore()).watch_revocations(since, revoked.append)
    try:
        assert wait_for(lambda: sid in revoked)
    finally:
        watch.unsubscribe()

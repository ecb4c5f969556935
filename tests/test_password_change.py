"""POST /auth/password: the new password works, the old one and every other session stop at once."""

import datetime as dt
import time

import jwt
import pytest
from conftest import PASSWORD, SECRET, auth, make_test_config, unique_name

from server import create_app
from server.datastore import get_datastore

NEW_PASSWORD = "a-brand-new-password"


def login(client, username, password):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def change(client, token, current, new=NEW_PASSWORD):
    return client.post("/api/v1/auth/password", headers=auth(token),
                       json={"current_password": current, "new_password": new})


@pytest.fixture
def two_processes(emulator, project_id):
    """Two app instances, as two server processes; sessions cached for long in each."""
    apps = [create_app(make_test_config(emulator, project_id, SESSION_CACHE_SECONDS=600)) for _ in range(2)]
    yield [a.test_client() for a in apps]
    for a in apps:
        a.extensions["shutdown"]()


def test_change_revokes_other_sessions_everywhere_and_keeps_this_one(two_processes, admin):
    first, second = two_processes
    name = unique_name()
    caller = first.post("/api/v1/auth/signup", json={"username": name, "password": PASSWORD}).json["token"]
    others = [login(first, name, PASSWORD).json["token"], login(second, name, PASSWORD).json["token"]]
    for client in (first, second):  # every session cached in both processes
        for token in [caller, *others]:
            assert client.get("/api/v1/me", headers=auth(token)).status_code == 200

    assert change(first, caller, PASSWORD).status_code == 204

    for token in others:  # this process: at once
        assert first.get("/api/v1/me", headers=auth(token)).status_code == 401
    deadline = time.monotonic() + 10  # the other process: through the revocation listener
    while time.monotonic() < deadline and any(
            second.get("/api/v1/me", headers=auth(t)).status_code == 200 for t in others):
        time.sleep(0.1)
    assert [second.get("/api/v1/me", headers=auth(t)).status_code for t in others] == [401, 401]
    for client in (first, second):
        assert client.get("/api/v1/me", headers=auth(caller)).status_code == 200

    old = login(first, name, PASSWORD)
    assert old.status_code == 401 and old.json["error"]["code"] == "invalid_credentials"
    assert login(second, name, NEW_PASSWORD).status_code == 200

    user_id = first.get("/api/v1/me", headers=auth(caller)).json["user"]["id"]
    events = first.get("/api/v1/admin/audit", headers=auth(admin["token"]),
                       query_string={"action": "user.password_change", "target": f"users/{user_id}"}).json["items"]
    assert len(events) == 1 and events[0]["details"]["revoked_sessions"] == 2


def test_wrong_current_password_is_401_then_rate_limited(emulator, project_id):
    app = create_app(make_test_config(emulator, project_id, LOGIN_RATE_LIMIT="3/minute"))
    try:
        client = app.test_client()
        name = unique_name()
        token = client.post("/api/v1/auth/signup", json={"username": name, "password": PASSWORD}).json["token"]
        statuses = [change(client, token, "wrong-password") for _ in range(5)]
        assert [r.status_code for r in statuses] == [401, 401, 401, 429, 429]
        assert statuses[0].json["error"]["code"] == "invalid_credentials"
        assert statuses[3].json["error"]["code"] == "rate_limited"
        # Even the right password waits: guessing cannot go on, and nothing changed.
        assert change(client, token, PASSWORD).status_code == 429
        assert login(client, name, PASSWORD).status_code == 200
    finally:
        app.extensions["shutdown"]()


@pytest.mark.parametrize("body", [
    {"current_password": PASSWORD, "new_password": "short"},
    {"current_password": PASSWORD, "new_password": "é" * 37},
    {"current_password": PASSWORD},
    {"new_password": NEW_PASSWORD},
    {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "user_id": "x"},
])
def test_invalid_body_is_422_and_changes_nothing(client, user, body):
    resp = client.post("/api/v1/auth/password", headers=auth(user["token"]), json=body)
    assert resp.status_code == 422
    assert login(client, user["user"]["username"], PASSWORD).status_code == 200


def test_needs_a_session(client):
    resp = client.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert resp.status_code == 401


def test_a_login_that_raced_the_change_is_refused(app, client, user):
    """A login that checked the old password just before the change, and whose session
    document was written just after it (so the change's sweep did not see it)."""
    before = dt.datetime.now(dt.UTC)
    assert change(client, user["token"], PASSWORD).status_code == 204
    with app.app_context():  # the late session, as the racing login writes it
        get_datastore().doc("sessions", "late" + user["user"]["id"]).create({
            "user_id": user["user"]["id"], "created_at": before, "revoked_at": None,
            "expires_at": before + dt.timedelta(hours=1), "expire_at": before + dt.timedelta(hours=1)})
    late = jwt.encode({"sub": user["user"]["id"], "sid": "late" + user["user"]["id"],
                       "exp": int(before.timestamp()) + 3600}, SECRET, algorithm="HS256")
    resp = client.get("/api/v1/me", headers=auth(late))
    assert resp.status_code == 401
    assert client.get("/api/v1/me", headers=auth(user["token"])).status_code == 200  # the changer's
    fresh = login(client, user["user"]["username"], NEW_PASSWORD).json["token"]
    assert client.get("/api/v1/me", headers=auth(fresh)).status_code == 200

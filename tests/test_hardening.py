"""Issue 21, points 2, 3 and 7, attacked over real HTTP against the emulators: names and
ids with a trailing newline, bodies nested too deeply for the parser, blank or control
memos, and tokens that outlive or do not match their session."""

import datetime as dt
import logging
import time

import jwt
import pytest
from conftest import PASSWORD, SECRET, unique_name

from server.datastore import get_datastore
from server.kernel.collections import SESSIONS


def assert_422(resp, field=None):
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    if field:
        assert any(d["field"] == field for d in error["details"]), error


# --- 2. names and ids ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["admin\n", "treasury\n", "system\n", "cli\n", "carol\n", "carol\r\n"])
def test_username_with_a_trailing_newline_is_refused(live_server, name):
    assert_422(live_server.api("POST", "/api/v1/auth/signup", json={"username": name, "password": PASSWORD}),
               "username")
    assert_422(live_server.api("POST", "/api/v1/auth/login", json={"username": name, "password": PASSWORD}))


def test_accepted_username_round_trips(live_server):
    name = unique_name("Round_")
    created = live_server.signup(name)
    assert created["user"]["username"] == name.lower()
    me = live_server.api("GET", "/api/v1/me", created["token"]).json()
    assert me["user"]["username"] == name.lower() and me["account"]["username"] == name.lower()


def test_recipient_and_conversation_partner_with_a_newline_are_refused(live_server, user):
    other = live_server.signup()["user"]["username"]
    assert_422(live_server.api("POST", "/api/v1/transfers", user["token"],
                               headers={"Idempotency-Key": unique_name()}, json={"to": other + "\n", "amount": 1}),
               "to")
    assert_422(live_server.api("POST", "/api/v1/conversations", user["token"], json={"with": other + "\n"}))


def test_path_id_with_a_trailing_newline_is_refused(live_server, user):
    post = live_server.api("POST", "/api/v1/posts", user["token"], json={"title": "t", "body": "b"}).json()["post"]
    assert live_server.api("GET", f"/api/v1/posts/{post['id']}", user["token"]).status_code == 200
    assert_422(live_server.api("GET", f"/api/v1/posts/{post['id']}%0A", user["token"]))


def test_check_names_finds_stored_names_that_break_the_rule(app, runner):
    bad_id = unique_name("legacy")
    with app.app_context():
        get_datastore().doc("users", bad_id).set(
            {"username": "admin\n", "role": "user", "password_hash": None, "provider": "password",
             "created_at": dt.datetime.now(dt.UTC)})
    try:
        result = runner.invoke(args=["users", "check-names"])
        assert result.exit_code == 1, result.output
        assert f"{bad_id}\t'admin\\n'" in result.output
    finally:
        with app.app_context():
            get_datastore().doc("users", bad_id).delete()


# --- 3. deep JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    "[" * 1000 + "]" * 1000,                                      # the parser's recursion limit
    '{"username": ' + "[" * 900 + "]" * 900 + ', "password": "x"}',  # parses, still too deep
    '{"a": ' * 40 + "1" + "}" * 40,                               # over MAX_JSON_DEPTH, far from the limit
])
@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/signup", "/api/v1/posts"])
def test_deeply_nested_json_is_a_422_without_a_traceback(live_server, user, caplog, body, path):
    token = user["token"] if path == "/api/v1/posts" else None
    with caplog.at_level(logging.INFO):
        resp = live_server.api("POST", path, token, data=body, headers={"Content-Type": "application/json"})
    assert_422(resp, "body")
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()
                or "RecursionError" in r.getMessage()]


# --- 7. memo and sessions ------------------------------------------------------------------


@pytest.mark.parametrize("memo", ["", " ", "\u0000", "\u200b", "rent\u0000", "two\nlines", "a" * 141])
def test_blank_or_control_memo_is_refused(live_server, user, memo):
    to = live_server.signup()["user"]["username"]
    resp = live_server.api("POST", "/api/v1/transfers", user["token"], headers={"Idempotency-Key": unique_name()},
                           json={"to": to, "amount": 1, "memo": memo})
    assert_422(resp, "memo")
    deposit = live_server.api("POST", "/api/v1/admin/deposits", live_server.admin_token(),
                              headers={"Idempotency-Key": unique_name()}, json={"to": to, "amount": 1, "memo": memo})
    assert_422(deposit, "memo")


def test_a_good_memo_is_kept(live_server, user):
    to = live_server.signup()["user"]["username"]
    resp = live_server.api("POST", "/api/v1/admin/deposits", live_server.admin_token(),
                           headers={"Idempotency-Key": unique_name()}, json={"to": to, "amount": 1, "memo": "lunch 🍜"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["transfer"]["memo"] == "lunch 🍜"


def _resigned(token, **changes):
    """The token re-signed with the server's key (as a leaked key would allow), claims changed."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def test_session_expiry_is_checked_even_when_the_token_lives_longer(live_server):
    session = live_server.signup()
    sid = jwt.decode(session["token"], options={"verify_signature": False})["sid"]
    with live_server.app.app_context():  # the session ends (its expires_at is now), before any use
        get_datastore().doc(SESSIONS, sid).update({"expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)})
    longer = _resigned(session["token"], exp=int(time.time()) + 30 * 86400)
    for token in (longer, session["token"]):
        resp = live_server.api("GET", "/api/v1/me", token)
        assert resp.status_code == 401, resp.text
        assert resp.json()["error"]["code"] == "unauthenticated"


def test_token_whose_subject_is_not_its_sessions_user_is_refused(live_server):
    alice, bob = live_server.signup(), live_server.signup()
    for first_use in (True, False):  # whether alice's session is already in the cache or not
        session = live_server.signup() if not first_use else alice
        if first_use:
            assert live_server.api("GET", "/api/v1/me", session["token"]).status_code == 200
        swapped = _resigned(session["token"], sub=bob["user"]["id"])
        resp = live_server.api("GET", "/api/v1/me", swapped)
        assert resp.status_code == 401, resp.text
        # The refusal did not end the real session.
        assert live_server.api("GET", "/api/v1/me", session["token"]).json()["user"]["id"] == session["user"]["id"]

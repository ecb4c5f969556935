"""Auth's rules without a datastore: usernames, passwords, tokens, sessions, on a fake store."""

import datetime as dt
import time

import jwt
import pytest
from fakes import FakeDatastore

from server.auth.models import Credentials
from server.auth.service import (
    AuthService,
    bearer_token,
    password_matches,
    predates_password_change,
    session_caller,
    token_claims,
)
from server.auth.store import PASSWORD_RACE
from server.kernel.caller import Origin
from server.kernel.errors import DomainError
from server.kernel.text import normalize_username

SECRET = "unit-test-secret-key-with-32-bytes!!"
ROUNDS = 4
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class FakeAuthStore:
    def __init__(self):
        self.users, self.claims, self.sessions, self.events = {}, {}, {}, []

    def user(self, user_id):
        return self.users.get(user_id)

    def user_id_of(self, username):
        return self.claims.get(username)

    def create_user(self, user_id, user_doc, account_doc, sid, session_doc, event):
        self.claims[user_doc["username"]] = user_id
        self.users[user_id] = user_doc
        self.sessions[sid] = session_doc
        self.events.append(event)

    def start_session(self, sid, session_doc, event):
        self.sessions[sid] = session_doc
        self.events.append(event)

    def record(self, event):
        self.events.append(event)

    def session_and_user(self, sid, user_id):
        return self.sessions.get(sid), self.users.get(user_id)

    def revoke_session(self, sid, now, event):
        self.sessions[sid]["revoked_at"] = now
        self.events.append(event)


    def live_sessions_of(self, user_id, now):
        return [sid for sid, s in self.sessions.items() if s["user_id"] == user_id and s["revoked_at"] is None]

    def change_user(self, user_id, decide):
        """The real guarded commit over the shared fake, holding this fake's users and sessions."""
        db = FakeDatastore()
        db.put("users", user_id, self.users[user_id])
        for sid, session in self.sessions.items():
            db.put("sessions", sid, session)
        try:
            return db.guarded([("users", user_id)], decide, PASSWORD_RACE)
        finally:
            self.users[user_id] = db.get("users", user_id)
            self.sessions.update(db.in_collection("sessions"))
            self.events.extend(db.in_collection("audit").values())


@pytest.fixture
def auth():
    return AuthService(FakeAuthStore(), secret_key=SECRET, token_ttl=3600, cache_seconds=600,
                       bcrypt_rounds=ROUNDS, currency="EUR")


def caller_of(auth, token):
    return auth.authenticate(f"Bearer {token}")


@pytest.mark.parametrize("raw, normal", [("Alice_1", "alice_1"), ("abc", "abc"), ("\u212aelvin", "kelvin")])
def test_usernames_are_lower_cased_then_checked(raw, normal):
    assert normalize_username(raw) == normal


@pytest.mark.parametrize("raw", ["ab", "a" * 33, "al ice", "alice!", "", "ålice"])
def test_bad_usernames_are_refused(raw):
    with pytest.raises(ValueError):
        normalize_username(raw)


def test_credentials_refuse_extra_fields():
    with pytest.raises(ValueError):
        Credentials(username="alice", password="correct-horse-battery", role="admin")


def test_passwords_match_only_their_hash_and_at_most_72_bytes():
    import bcrypt
    stored = bcrypt.hashpw(b"secret-password", bcrypt.gensalt(ROUNDS)).decode()
    assert password_matches("secret-password", stored, ROUNDS)
    assert not password_matches("secret-passwore", stored, ROUNDS)
    assert not password_matches("anything", None, ROUNDS)  # Firebase users and unknown users
    long = "x" * 72
    stored_long = bcrypt.hashpw(long.encode(), bcrypt.gensalt(ROUNDS)).decode()
    assert password_matches(long, stored_long, ROUNDS)
    assert not password_matches(long + "y", stored_long, ROUNDS)  # bcrypt would ignore the 73rd byte


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "token"])
def test_malformed_authorization_headers_are_401(header):
    with pytest.raises(DomainError) as err:
        bearer_token(header)
    assert err.value.status == 401


def test_no_header_is_anonymous():
    assert bearer_token("") is None


def test_token_claims_refuse_forged_expired_and_odd_ids():
    now = int(time.time())
    good = jwt.encode({"sub": "u1", "sid": "s1", "exp": now + 60}, SECRET, algorithm="HS256")
    assert token_claims(good, SECRET) == ("s1", "u1")
    for token, message in [
        (jwt.encode({"sub": "u1", "sid": "s1", "exp": now + 60}, "another-secret-key-of-32-bytes!!!!", "HS256"),
         "Invalid token."),
        (jwt.encode({"sub": "u1", "sid": "s1", "exp": now - 10}, SECRET, algorithm="HS256"),
         "The token has expired; log in again."),
        (jwt.encode({"sub": "u1", "exp": now + 60}, SECRET, algorithm="HS256"), "Invalid token."),
        (jwt.encode({"sub": "__x__", "sid": "s1", "exp": now + 60}, SECRET, algorithm="HS256"), "Invalid token."),
        (jwt.encode({"sub": "u1", "sid": "s1", "exp": now + 60}, SECRET, algorithm="HS512"), "Invalid token."),
    ]:
        with pytest.raises(DomainError) as err:
            token_claims(token, SECRET)
        assert (err.value.status, err.value.message) == (401, message)


def test_session_caller_rules():
    user = {"username": "alice", "role": "user", "created_at": T0}
    session = {"user_id": "u1", "created_at": T0, "revoked_at": None}
    assert session_caller("s1", "u1", session, user).username == "alice"
    assert session_caller("s1", "u1", {**session, "revoked_at": T0}, user) is None
    assert session_caller("s1", "u2", session, user) is None  # a session of another user
    assert session_caller("s1", "u1", None, user) is None
    changed = {**user, "password_changed_at": T0 + dt.timedelta(seconds=1), "password_changed_by": "s9"}
    assert predates_password_change(session, "s1", changed)
    assert session_caller("s1", "u1", session, changed) is None
    assert not predates_password_change(session, "s9", changed)  # the session that made the change


def test_signup_login_and_reserved_names(auth):
    body = auth.signup("alice", "correct-horse-battery")
    assert caller_of(auth, body["token"]).username == "alice"
    assert [e["action"] for e in auth.store.events] == ["user.signup"]
    with pytest.raises(DomainError) as err:
        auth.signup("treasury", "correct-horse-battery")
    assert (err.value.status, err.value.code) == (409, "username_taken")
    assert auth.login("alice", "correct-horse-battery", Origin("r1", "10.0.0.1"))["user"]["username"] == "alice"
    assert auth.store.events[-1]["details"]["ip"] == "10.0.0.1"
    assert auth.store.events[-1]["origin"].request_id == "r1"


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_failed_login_is_audited_and_does_not_say_which_part_was_wrong(auth, username):
    auth.signup("alice", "correct-horse-battery")
    with pytest.raises(DomainError) as err:
        auth.login(username, "wrong-password-here", Origin("r2", "10.0.0.2"))
    assert (err.value.status, err.value.code, err.value.message) == (
        401, "invalid_credentials", "Wrong username or password.")
    event = auth.store.events[-1]
    assert event["action"] == "user.login_failed"
    assert event["details"] == {"username": username, "ip": "10.0.0.2", "known_user": username == "alice"}


def test_logout_ends_the_session_at_once_in_this_process(auth):
    token = auth.signup("alice", "correct-horse-battery")["token"]
    caller = caller_of(auth, token)
    auth.logout(caller)
    with pytest.raises(DomainError) as err:
        caller_of(auth, token)
    assert err.value.message == "The session has ended; log in again."


def test_password_change_revokes_the_other_sessions_not_this_one(auth):
    first = auth.signup("alice", "correct-horse-battery")["token"]
    second = auth.login("alice", "correct-horse-battery")["token"]
    caller = caller_of(auth, first)
    with pytest.raises(DomainError) as err:
        auth.change_password(caller, "not-the-password", "a-new-password-1")
    assert err.value.code == "invalid_credentials"
    auth.change_password(caller, "correct-horse-battery", "a-new-password-1")
    assert caller_of(auth, first).username == "alice"
    with pytest.raises(DomainError):
        caller_of(auth, second)
    assert auth.store.events[-1]["details"]["revoked_sessions"] == 1
    assert auth.login("alice", "a-new-password-1")["user"]["username"] == "alice"

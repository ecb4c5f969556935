"""Users and sessions: sign-up, login, logout and the caller behind a token.

A token is a JWT (HS256, SECRET_KEY) naming a session document. The
signature and expiry are checked locally; whether the session was revoked
is read from Firestore and cached per process for SESSION_CACHE_SECONDS,
so most requests cost no datastore read. Logout updates the local cache at
once, and other processes' caches through a listener on revoked sessions.
"""

import datetime as dt
import logging
import threading
import time

import bcrypt
import jwt
from flask import current_app, g, request
from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter

from ..audit.events import write_event
from ..common import is_doc_id, new_id, rfc3339, utcnow
from ..datastore import get_datastore
from ..errors import ApiError, forbidden, unauthenticated
from ..ledger.accounts import COLLECTION as ACCOUNTS
from ..ledger.accounts import account_view, new_account

log = logging.getLogger(__name__)

USERS = "users"
USERNAMES = "usernames"
SESSIONS = "sessions"

# Names of system accounts, never given to users.
RESERVED_USERNAMES = {"treasury", "system", "cli"}

# Compared against when the username is unknown, so both failures cost one bcrypt
# check at the configured cost: response time does not reveal which names exist.
_DUMMY_HASHES = {}


def _dummy_hash():
    rounds = current_app.config["BCRYPT_ROUNDS"]
    if rounds not in _DUMMY_HASHES:
        _DUMMY_HASHES[rounds] = bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds))
    return _DUMMY_HASHES[rounds]


def username_ref(datastore, username):
    """The claim document of a username. The prefix keeps names such as `__x__`
    (valid usernames, reserved Firestore ids) usable as document ids."""
    return datastore.doc(USERNAMES, f"u_{username}")


def hash_password(password: str) -> str:
    rounds = current_app.config["BCRYPT_ROUNDS"]
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")


def user_view(user_id, doc):
    return {
        "id": user_id,
        "username": doc["username"],
        "role": doc["role"],
        "created_at": rfc3339(doc["created_at"]),
    }


def _new_user(username, password_hash, role):
    return {"username": username, "password_hash": password_hash, "role": role,
            "created_at": utcnow()}


class _SessionCache:
    """sid -> (expires_monotonic, user dict or None for a dead session)."""

    def __init__(self):
        self._entries = {}
        self._lock = threading.Lock()

    def get(self, sid):
        entry = self._entries.get(sid)
        if entry and entry[0] > time.monotonic():
            return entry
        return None

    def put(self, sid, user, ttl):
        with self._lock:
            if len(self._entries) > 100_000:
                self._entries.clear()
            self._entries[sid] = (time.monotonic() + ttl, user)


class _RevocationWatch:
    """Pushes logouts made by other processes into this process's session cache.

    A Firestore listener on sessions revoked within the token lifetime: a
    logout elsewhere reaches this process within moments instead of after
    SESSION_CACHE_SECONDS. Started on first use (start-up needs no
    datastore); if the listener fails, the cache window still bounds staleness.
    The listener holds the sessions revoked since it started; in production the
    TTL policy on `expire_at` deletes them a token lifetime later.
    """

    def __init__(self, cache, token_ttl, cache_seconds):
        self._cache = cache
        self._ttl = token_ttl
        self._window = cache_seconds
        self._watch = None
        self._lock = threading.Lock()
        self._started = False

    def ensure_started(self, datastore):
        if self._started:
            return
        with self._lock:
            if self._started:
                return
            self._started = True
            since = utcnow() - dt.timedelta(seconds=self._ttl)
            query = datastore.collection(SESSIONS).where(filter=FieldFilter("revoked_at", ">=", since))
            try:
                self._watch = query.on_snapshot(self._on_snapshot)
            except Exception:  # the cache window still applies
                log.exception("session revocation listener failed to start")

    def _on_snapshot(self, _docs, changes, _read_time):
        for change in changes:
            # Only as long as any cache entry: a later miss re-reads the revoked session anyway.
            self._cache.put(change.document.id, None, self._window)

    def stop(self):
        watch, self._watch = self._watch, None
        if watch is not None:
            try:
                watch.unsubscribe()
            except Exception:  # shutting down anyway
                log.debug("unsubscribe failed", exc_info=True)


def _cache():
    return current_app.extensions["session_cache"]


def _issue_session(writer, datastore, user_id):
    """Adds a session document to `writer`; returns (token, expires_at)."""
    now = utcnow()
    expires_at = now + dt.timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"])
    sid = new_id()
    writer.create(datastore.doc(SESSIONS, sid), {
        "user_id": user_id, "created_at": now, "expires_at": expires_at,
        "revoked_at": None,
        # Firestore TTL policy field: expired sessions are deleted by Firestore.
        "expire_at": expires_at,
    })
    token = jwt.encode(
        {"sub": user_id, "sid": sid, "iat": int(now.timestamp()), "exp": int(expires_at.timestamp())},
        current_app.config["SECRET_KEY"], algorithm="HS256")
    return token, expires_at


def create_user(username, password, role="user", actor=None):
    """Creates user, username claim, ledger account and audit event in one commit.

    The username claim is created with an exists=false precondition, so of
    two concurrent sign-ups of one name exactly one commit succeeds.
    Returns (user_id, user_doc, account_doc, token, expires_at).
    """
    if username in RESERVED_USERNAMES:
        raise ApiError(409, "username_taken", "That username is taken.")
    datastore = get_datastore()
    password_hash = hash_password(password)
    user_id = new_id()
    user_doc = _new_user(username, password_hash, role)
    account_doc = new_account(user_id, username, current_app.config["LEDGER_CURRENCY"])
    batch = datastore.batch()
    batch.create(username_ref(datastore, username), {"user_id": user_id, "username": username})
    batch.create(datastore.doc(USERS, user_id), user_doc)
    batch.create(datastore.doc(ACCOUNTS, user_id), account_doc)
    token, expires_at = _issue_session(batch, datastore, user_id)
    new_user = {"id": user_id, "username": username}
    write_event(batch, datastore, "user.signup", f"users/{user_id}",
                actor=actor or new_user, details={"username": username, "role": role})
    try:
        batch.commit()
    except gexc.Conflict as exc:  # AlreadyExists: the username claim lost the race
        raise ApiError(409, "username_taken", "That username is taken.") from exc
    return user_id, user_doc, account_doc, token, expires_at


def signup(username, password):
    user_id, user_doc, account_doc, token, expires_at = create_user(username, password)
    return {"user": user_view(user_id, user_doc), "token": token, "expires_at": rfc3339(expires_at)}


def find_user_by_username(username):
    """(user_id, user_doc) or (None, None)."""
    datastore = get_datastore()
    claim = username_ref(datastore, username).get()
    if not claim.exists:
        return None, None
    user_id = claim.get("user_id")
    snapshot = datastore.doc(USERS, user_id).get()
    return (user_id, snapshot.to_dict()) if snapshot.exists else (None, None)


def login(username, password):
    datastore = get_datastore()
    user_id, user_doc = find_user_by_username(username)
    stored = user_doc["password_hash"].encode("ascii") if user_doc else _dummy_hash()
    if not bcrypt.checkpw(password.encode("utf-8"), stored) or user_doc is None:
        batch = datastore.batch()
        write_event(batch, datastore, "user.login_failed", f"usernames/{username}",
                    details={"username": username, "ip": request.remote_addr,
                             "known_user": user_doc is not None})
        batch.commit()
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    batch = datastore.batch()
    token, expires_at = _issue_session(batch, datastore, user_id)
    write_event(batch, datastore, "user.login", f"users/{user_id}",
                actor={"id": user_id, "username": username}, details={"ip": request.remote_addr})
    batch.commit()
    return {"user": user_view(user_id, user_doc), "token": token, "expires_at": rfc3339(expires_at)}


def logout(user):
    datastore = get_datastore()
    batch = datastore.batch()
    batch.update(datastore.doc(SESSIONS, user["sid"]), {"revoked_at": utcnow()})
    write_event(batch, datastore, "user.logout", f"sessions/{user['sid']}", actor=user)
    batch.commit()
    _cache().put(user["sid"], None, current_app.config["TOKEN_TTL_SECONDS"])


def _load_session_user(sid, user_id):
    """The caller's user dict, or None when the session is revoked or unknown."""
    datastore = get_datastore()
    session_ref, user_ref = datastore.doc(SESSIONS, sid), datastore.doc(USERS, user_id)
    snapshots = {snap.reference.path: snap for snap in datastore.client.get_all([session_ref, user_ref])}
    session, user = snapshots.get(session_ref.path), snapshots.get(user_ref.path)
    if not (session and session.exists and user and user.exists):
        return None
    if session.get("revoked_at") is not None or session.get("user_id") != user_id:
        return None
    doc = user.to_dict()
    return {"id": user_id, "sid": sid, "username": doc["username"], "role": doc["role"],
            "created_at": doc["created_at"]}


def authenticate():
    """The user behind the request's bearer token, or None when there is none."""
    if "user" in g:
        return g.user
    header = request.headers.get("Authorization", "")
    if not header:
        g.user = None
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("Malformed Authorization header; use 'Bearer <token>'.")
    try:
        claims = jwt.decode(token.strip(), current_app.config["SECRET_KEY"], algorithms=["HS256"],
                            options={"require": ["exp", "sub", "sid"]})
    except jwt.ExpiredSignatureError as exc:
        raise unauthenticated("The token has expired; log in again.") from exc
    except jwt.PyJWTError as exc:
        raise unauthenticated("Invalid token.") from exc
    sid, user_id = claims["sid"], claims["sub"]
    if not (is_doc_id(sid) and is_doc_id(user_id)):
        raise unauthenticated("Invalid token.")
    watch = current_app.extensions.get("session_revocations")
    if watch is not None:
        watch.ensure_started(get_datastore())
    cached = _cache().get(sid)
    if cached is None:
        user = _load_session_user(sid, user_id)
        _cache().put(sid, user, current_app.config["SESSION_CACHE_SECONDS"])
    else:
        user = cached[1]
    if user is None:
        raise unauthenticated("The session has ended; log in again.")
    g.user = user
    return user


def require_user():
    user = authenticate()
    if user is None:
        raise unauthenticated()
    return user


def require_admin():
    user = require_user()
    if user["role"] != "admin":
        raise forbidden("Administrators only.")
    return user


def requires(role):
    """Marks a view as needing a signed-in "user" or an "admin"; checked before validation."""
    def tag(view):
        view.required_role = role
        return view
    return tag


def enforce_view_role():
    """before_request: 401/403 come before any 4xx about the body."""
    view = current_app.view_functions.get(request.endpoint)
    role = getattr(view, "required_role", None)
    if role == "admin":
        require_admin()
    elif role == "user":
        require_user()


def me(user):
    datastore = get_datastore()
    account = datastore.doc(ACCOUNTS, user["id"]).get()
    return {"user": user_view(user["id"], user), "account": account_view(account.id, account.to_dict())}


def create_admin(username, password=None):
    """Promotes an existing user, or creates a new admin; returns (user_id, created)."""
    datastore = get_datastore()
    user_id, user_doc = find_user_by_username(username)
    if user_id is None:
        if password is None:
            raise ApiError(422, "validation_error", "A password is needed to create a new admin.")
        user_id, *_ = create_user(username, password, role="admin",
                                  actor={"id": None, "username": "cli"})
        return user_id, True
    batch = datastore.batch()
    batch.update(datastore.doc(USERS, user_id), {"role": "admin"})
    write_event(batch, datastore, "user.promote", f"users/{user_id}",
                actor={"id": None, "username": "cli"},
                details={"username": username, "from": user_doc["role"], "to": "admin"})
    batch.commit()
    return user_id, False


def init_app(app):
    cache = app.extensions["session_cache"] = _SessionCache()
    if app.config["SESSION_REVOCATION_WATCH"]:
        watch = _RevocationWatch(cache, app.config["TOKEN_TTL_SECONDS"], app.config["SESSION_CACHE_SECONDS"])
        app.extensions["session_revocations"] = watch
        app.extensions.setdefault("shutdown_hooks", []).append(watch.stop)

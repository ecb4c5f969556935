"""Users and sessions: sign-up, login, Firebase sign-in, password change,
logout and the caller behind a token.

A token is a JWT (HS256, SECRET_KEY) naming a session document. The
signature and expiry are checked locally; whether the session was revoked
is read from Firestore and cached per process for SESSION_CACHE_SECONDS,
so most requests cost no datastore read. Logout updates the local cache at
once, and other processes' caches through a listener on revoked sessions;
a password change revokes the user's other sessions the same way.

A Firebase user (POST /auth/firebase) is a user whose id is the Firebase uid
and who has no password (`password_hash` None): password login refuses it
like a wrong password.
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
from ..datastore import FirebaseAuthUnavailable, FirebaseTokenRefused, get_datastore
from ..errors import ApiError, conflict, forbidden, unauthenticated, unavailable, validation_error
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


def _new_user(username, password_hash, role, provider="password"):
    return {"username": username, "password_hash": password_hash, "role": role,
            "provider": provider, "created_at": utcnow()}


def _password_matches(password, password_hash):
    """One bcrypt check at the configured cost, also when there is no hash to
    compare with (unknown user, Firebase user): timing reveals neither."""
    stored = password_hash.encode("ascii") if password_hash else _dummy_hash()
    candidate = password.encode("utf-8")
    matches = bcrypt.checkpw(candidate[:72], stored)  # bcrypt refuses longer input
    return matches and password_hash is not None and len(candidate) <= 72


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


def _username_taken():
    return ApiError(409, "username_taken", "That username is taken.")


def _commit_new_user(user_id, user_doc, actor, details):
    """Username claim, user, ledger account, session and audit event in one commit.

    Every document is created with an exists=false precondition, so of two
    concurrent sign-ups of one name (or one Firebase uid) exactly one commit
    succeeds; the other raises google.api_core's Conflict and writes nothing.
    Returns (account_doc, token, expires_at).
    """
    datastore = get_datastore()
    username = user_doc["username"]
    account_doc = new_account(user_id, username, current_app.config["LEDGER_CURRENCY"])
    batch = datastore.batch()
    batch.create(username_ref(datastore, username), {"user_id": user_id, "username": username})
    batch.create(datastore.doc(USERS, user_id), user_doc)
    batch.create(datastore.doc(ACCOUNTS, user_id), account_doc)
    token, expires_at = _issue_session(batch, datastore, user_id)
    write_event(batch, datastore, "user.signup", f"users/{user_id}",
                actor=actor or {"id": user_id, "username": username},
                details={"username": username, "role": user_doc["role"], **details})
    batch.commit()
    return account_doc, token, expires_at


def create_user(username, password, role="user", actor=None):
    """Creates a password user with its account; returns (user_id, user_doc, account_doc, token, expires_at)."""
    if username in RESERVED_USERNAMES:
        raise _username_taken()
    user_id = new_id()
    user_doc = _new_user(username, hash_password(password), role)
    try:
        account_doc, token, expires_at = _commit_new_user(user_id, user_doc, actor, {})
    except gexc.Conflict as exc:  # AlreadyExists: the username claim lost the race
        raise _username_taken() from exc
    return user_id, user_doc, account_doc, token, expires_at


def _session_response(user_id, user_doc, token, expires_at):
    return {"user": user_view(user_id, user_doc), "token": token, "expires_at": rfc3339(expires_at)}


def signup(username, password):
    user_id, user_doc, _account, token, expires_at = create_user(username, password)
    return _session_response(user_id, user_doc, token, expires_at)


def find_user_by_username(username):
    """(user_id, user_doc) or (None, None)."""
    datastore = get_datastore()
    claim = username_ref(datastore, username).get()
    if not claim.exists:
        return None, None
    user_id = claim.get("user_id")
    snapshot = datastore.doc(USERS, user_id).get()
    return (user_id, snapshot.to_dict()) if snapshot.exists else (None, None)


def _start_session(user_id, user_doc, details):
    """A new session of an existing user, with its `user.login` event."""
    datastore = get_datastore()
    batch = datastore.batch()
    token, expires_at = _issue_session(batch, datastore, user_id)
    write_event(batch, datastore, "user.login", f"users/{user_id}",
                actor={"id": user_id, "username": user_doc["username"]},
                details={"ip": request.remote_addr, **details})
    batch.commit()
    return _session_response(user_id, user_doc, token, expires_at)


def login(username, password):
    datastore = get_datastore()
    user_id, user_doc = find_user_by_username(username)
    if not _password_matches(password, user_doc and user_doc.get("password_hash")):
        batch = datastore.batch()
        write_event(batch, datastore, "user.login_failed", f"usernames/{username}",
                    details={"username": username, "ip": request.remote_addr,
                             "known_user": user_doc is not None})
        batch.commit()
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    return _start_session(user_id, user_doc, {})


def firebase_sign_in(id_token, username):
    """Our session for a Firebase user: (response, 201) the first time, (response, 200) later."""
    datastore = get_datastore()
    try:
        claims = datastore.auth.verify_id_token(id_token)
    except FirebaseTokenRefused as exc:
        log.info("Firebase ID token refused: %s", exc)
        raise unauthenticated("The Firebase ID token is invalid, expired or revoked.") from exc
    except FirebaseAuthUnavailable as exc:
        log.warning("Firebase Auth unavailable: %s", exc)
        raise unavailable("Firebase Auth does not answer; try again.") from exc
    uid = claims["uid"]
    if not is_doc_id(uid):
        raise unauthenticated("This Firebase user id cannot be used as a user id here.")
    firebase_claims = claims.get("firebase")
    if isinstance(firebase_claims, dict) and firebase_claims.get("sign_in_provider") == "custom":
        # Our custom tokens (/auth/firebase-token) are for live reads only: turning one back
        # into a session would outlive the session it came from (logout, password change).
        raise unauthenticated("A custom-token sign-in cannot open a session; sign in with a Firebase provider.")
    details = {"provider": "firebase"}
    existing = datastore.doc(USERS, uid).get()
    if existing.exists:
        return _start_session(uid, existing.to_dict(), details), 200
    if username is None:
        raise validation_error("A username is needed the first time a Firebase user signs in.",
                               [{"field": "username", "message": "required on first sign-in",
                                 "type": "missing"}])
    if username in RESERVED_USERNAMES:
        raise _username_taken()
    user_doc = _new_user(username, None, "user", provider="firebase")
    try:
        _account, token, expires_at = _commit_new_user(uid, user_doc, None, details)
    except gexc.Conflict as exc:
        existing = datastore.doc(USERS, uid).get()
        if existing.exists:  # the same Firebase user, signing in twice at once
            return _start_session(uid, existing.to_dict(), details), 200
        if username_ref(datastore, username).get().exists:
            raise _username_taken() from exc
        raise conflict("This Firebase user id is already in use here.") from exc
    return _session_response(uid, user_doc, token, expires_at), 201


def firebase_custom_token(user):
    """A custom token whose uid is the caller's id, and no claims: roles stay in our user document."""
    try:
        return {"custom_token": get_datastore().auth.create_custom_token(user["id"])}
    except FirebaseAuthUnavailable as exc:
        log.warning("custom token failed: %s", exc)
        raise unavailable("Firebase Auth is not available; try again.") from exc


def change_password(user, current_password, new_password):
    """Sets a new password and revokes every other session of the user, in one commit.

    The user document is updated with an update-time precondition, so two
    concurrent changes cannot both pass the check of the current password.
    """
    datastore = get_datastore()
    user_ref = datastore.doc(USERS, user["id"])
    snapshot = user_ref.get()
    stored = (snapshot.to_dict() or {}).get("password_hash")
    if not stored:
        raise conflict("This user signs in through Firebase and has no password to change.")
    if not _password_matches(current_password, stored):
        batch = datastore.batch()
        write_event(batch, datastore, "user.password_change_failed", f"users/{user['id']}", actor=user,
                    details={"ip": request.remote_addr})
        batch.commit()
        raise ApiError(401, "invalid_credentials", "The current password is wrong.")
    now = utcnow()
    others = [s.id for s in datastore.collection(SESSIONS).where(
        filter=FieldFilter("user_id", "==", user["id"])).stream()
        if s.id != user["sid"] and s.get("revoked_at") is None and s.get("expires_at") > now]
    batch = datastore.batch()
    batch.update(user_ref, {"password_hash": hash_password(new_password), "password_changed_at": now,
                            "password_changed_by": user["sid"]},
                 option=datastore.client.write_option(last_update_time=snapshot.update_time))
    for sid in others:
        batch.update(datastore.doc(SESSIONS, sid), {"revoked_at": now})
    write_event(batch, datastore, "user.password_change", f"users/{user['id']}", actor=user,
                details={"ip": request.remote_addr, "revoked_sessions": len(others)})
    try:
        batch.commit()
    except gexc.FailedPrecondition as exc:
        raise conflict("The password was changed at the same moment; try again.") from exc
    # This process at once; the others through the revocation listener.
    for sid in others:
        _cache().put(sid, None, current_app.config["TOKEN_TTL_SECONDS"])


def logout(user):
    datastore = get_datastore()
    batch = datastore.batch()
    batch.update(datastore.doc(SESSIONS, user["sid"]), {"revoked_at": utcnow()})
    write_event(batch, datastore, "user.logout", f"sessions/{user['sid']}", actor=user)
    batch.commit()
    _cache().put(user["sid"], None, current_app.config["TOKEN_TTL_SECONDS"])


def _predates_password_change(session, sid, user_doc):
    """A session begun before the last password change, other than the one that made it.

    The change revokes the sessions it finds; this also ends a login that checked
    the old password just before the change and wrote its session just after.
    """
    changed_at = user_doc.get("password_changed_at")
    return (changed_at is not None and session.get("created_at") < changed_at
            and sid != user_doc.get("password_changed_by"))


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
    if _predates_password_change(session.to_dict(), sid, doc):
        return None
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

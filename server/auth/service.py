"""Users and sessions: sign-up, login, Firebase sign-in, password change,
logout and the caller behind a token.

A token is a JWT (HS256, SECRET_KEY) naming a session document. The
signature and expiry are checked locally; whether the session was revoked
is read from Firestore and cached per process for SESSION_CACHE_SECONDS,
so most requests cost no datastore read. Logout updates the local cache at
once, and other processes' caches through a listener on revoked sessions;
a password change revokes the user's other sessions the same way.

A Firebase user (POST /auth/firebase) is a user whose id is the Firebase uid,
created by that sign-in (`provider` "firebase"), with no password
(`password_hash` None): password login refuses it like a wrong password, and a
Firebase identity whose uid is a password user's id is refused (401, audited).

No Flask here: the edge passes the Authorization header, the caller and the
request's origin (id, client address) in; init_app builds the service from the app's config.
"""

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import bcrypt
import jwt

from ..kernel.audit import audit_write
from ..kernel.cache import BoundedCache
from ..kernel.caller import CLI, NO_ORIGIN, Caller, Origin
from ..kernel.clock import rfc3339, utcnow
from ..kernel.collections import SESSIONS, USERS
from ..kernel.commits import Plan, Write
from ..kernel.errors import (
    DomainError,
    FirebaseAuthUnavailable,
    FirebaseTokenRefused,
    conflict,
    unauthenticated,
    unavailable,
    validation_error,
)
from ..kernel.ids import is_doc_id, new_id
from ..kernel.text import is_username
from ..kernel.views import document_view
from ..ledger.accounts import account_view, new_account
from .models import User
from .store import AlreadyExists, AuthStore

log = logging.getLogger(__name__)

# Names of system accounts, never given to users.
RESERVED_USERNAMES = {"treasury", "system", "cli"}

# Compared against when the username is unknown, so both failures cost one bcrypt
# check at the configured cost: response time does not reveal which names exist.
_DUMMY_HASHES = {}


def _dummy_hash(rounds):
    if rounds not in _DUMMY_HASHES:
        _DUMMY_HASHES[rounds] = bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds))
    return _DUMMY_HASHES[rounds]


def _bcrypt_input(password: str) -> bytes:
    """bcrypt reads 72 bytes at most; the models refuse longer passwords (the contract)."""
    return password.encode("utf-8")


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(_bcrypt_input(password), bcrypt.gensalt(rounds)).decode("ascii")


def password_matches(password, password_hash, rounds):
    """One bcrypt check at the configured cost, also when there is no hash to
    compare with (unknown user, Firebase user): timing reveals neither."""
    stored = password_hash.encode("ascii") if password_hash else _dummy_hash(rounds)
    candidate = _bcrypt_input(password)
    matches = bcrypt.checkpw(candidate[:72], stored)  # bcrypt refuses longer input
    return matches and password_hash is not None and len(candidate) <= 72


def user_view(user_id, doc):
    return document_view(User, doc, id=user_id)


def new_user(username, password_hash, role, provider="password"):
    return {"username": username, "password_hash": password_hash, "role": role,
            "provider": provider, "created_at": utcnow()}


def predates_password_change(session, sid, user_doc):
    """A session begun before the last password change, other than the one that made it.

    The change revokes the sessions it finds; this also ends a login that checked
    the old password just before the change and wrote its session just after.
    """
    changed_at = user_doc.get("password_changed_at")
    return (changed_at is not None and session.get("created_at") < changed_at
            and sid != user_doc.get("password_changed_by"))


def session_caller(sid, user_id, session, user, now):
    """The caller of a session (None when revoked, expired, unknown, another user's or ended
    by a password change). The session's own expiry counts, whatever the token's `exp` says."""
    if session is None or user is None:
        return None
    if session.get("revoked_at") is not None or session.get("user_id") != user_id:
        return None
    expires_at = session.get("expires_at")
    if expires_at is None or expires_at <= now:
        return None
    if predates_password_change(session, sid, user):
        return None
    return Caller(id=user_id, username=user["username"], role=user["role"], sid=sid,
                  created_at=user["created_at"])


def bearer_token(header):
    """The token of an Authorization header; None when there is no header."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("Malformed Authorization header; use 'Bearer <token>'.")
    return token.strip()


# (secret, token) -> (exp, sid, user_id) of tokens whose signature was checked: a client sends one
# token many times, and checking its HMAC (pyjwt's key preparation included) cost about a tenth of
# a transfer's CPU. A token stays valid only until its exp; sessions are checked apart, every time.
_VERIFIED = {}
_VERIFIED_MAX = 100_000


def token_claims(token, secret_key):
    """(sid, user_id) of a valid, unexpired token of ours."""
    known = _VERIFIED.get((secret_key, token))
    if known is not None and known[0] > time.time():
        return known[1], known[2]
    try:
        claims = jwt.decode(token, secret_key, algorithms=["HS256"], options={"require": ["exp", "sub", "sid"]})
    except jwt.ExpiredSignatureError as exc:
        raise unauthenticated("The token has expired; log in again.") from exc
    except jwt.PyJWTError as exc:
        raise unauthenticated("Invalid token.") from exc
    sid, user_id = claims["sid"], claims["sub"]
    if not (is_doc_id(sid) and is_doc_id(user_id)):
        raise unauthenticated("Invalid token.")
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[(secret_key, token)] = (claims["exp"], sid, user_id)
    return sid, user_id


def _username_taken():
    return conflict("That username is taken.", code="username_taken")


def _invalid_credentials(message):
    return DomainError(401, "invalid_credentials", message)


class _Cached(NamedTuple):
    expires: float  # time.monotonic() after which the entry is not used
    user: object  # the session's Caller, or None for a dead session


class SessionCache:
    """sid -> _Cached, each entry for its own time-to-live."""

    def __init__(self, maxsize=100_000):
        self._entries = BoundedCache(maxsize)

    def get(self, sid):
        entry = self._entries.get(sid)
        if entry and entry.expires > time.monotonic():
            return entry
        return None

    def put(self, sid, user, ttl):
        self._entries[sid] = _Cached(time.monotonic() + ttl, user)


@dataclass
class RevocationWatch:
    """Pushes logouts made by other processes into this process's session cache.

    A Firestore listener on sessions revoked within the token lifetime: a
    logout elsewhere reaches this process within moments instead of after
    SESSION_CACHE_SECONDS. Started on first use (start-up needs no
    datastore); if the listener fails, the cache window still bounds staleness.
    The listener holds the sessions revoked since it started; in production the
    TTL policy on `expire_at` deletes them a token lifetime later.
    """

    store: AuthStore
    cache: SessionCache
    token_ttl: int
    cache_seconds: int
    _watch: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _started: bool = False

    def ensure_started(self):
        if self._started:
            return
        with self._lock:
            if self._started:
                return
            self._started = True
            since = utcnow() - dt.timedelta(seconds=self.token_ttl)
            try:
                self._watch = self.store.watch_revocations(since, self._revoked)
            except Exception:  # the cache window still applies
                log.exception("session revocation listener failed to start")

    def _revoked(self, sid):
        # Only as long as any cache entry: a later miss re-reads the revoked session anyway.
        self.cache.put(sid, None, self.cache_seconds)

    def stop(self):
        watch, self._watch = self._watch, None
        if watch is not None:
            try:
                watch.unsubscribe()
            except Exception:  # shutting down anyway
                log.debug("unsubscribe failed", exc_info=True)


class AuthService:
    def __init__(self, store: AuthStore, *, secret_key, token_ttl, cache_seconds, bcrypt_rounds,
                 currency, watch_revocations=False):
        self.store = store
        # Called before an admin is made: what an admin's requests need must exist by then
        # (the ledger's treasury, registered by create_app), so that none of those requests has to create it.
        self.admin_prerequisites = []
        self.secret_key = secret_key
        self.token_ttl = token_ttl
        self.cache_seconds = cache_seconds
        self.rounds = bcrypt_rounds
        self.currency = currency
        self.cache = SessionCache()
        self.watch = RevocationWatch(store, self.cache, token_ttl, cache_seconds) if watch_revocations else None

    def stop(self):
        if self.watch is not None:
            self.watch.stop()

    # Sessions.
    def _new_session(self, user_id):
        """(sid, session document, token, expires_at) of a new session."""
        now = utcnow()
        expires_at = now + dt.timedelta(seconds=self.token_ttl)
        sid = new_id()
        doc = {"user_id": user_id, "created_at": now, "expires_at": expires_at, "revoked_at": None,
               # Firestore TTL policy field: expired sessions are deleted by Firestore.
               "expire_at": expires_at}
        token = jwt.encode(
            {"sub": user_id, "sid": sid, "iat": int(now.timestamp()), "exp": int(expires_at.timestamp())},
            self.secret_key, algorithm="HS256")
        return sid, doc, token, expires_at

    @staticmethod
    def _session_response(user_id, user_doc, token, expires_at):
        return {"user": user_view(user_id, user_doc), "token": token, "expires_at": rfc3339(expires_at)}

    def _commit_new_user(self, user_id, user_doc, actor, origin, details):
        """The user with its account and first session; returns (account_doc, token, expires_at).

        The event's actor is `actor` (the CLI creating an admin) or the new user.
        """
        username = user_doc["username"]
        account_doc = new_account(user_id, username, self.currency)
        sid, session_doc, token, expires_at = self._new_session(user_id)
        self.store.create_user(user_id, user_doc, account_doc, sid, session_doc, {
            "action": "user.signup", "target": f"users/{user_id}",
            "actor": actor or Caller(user_id, username, user_doc["role"]), "origin": origin,
            "details": {"username": username, "role": user_doc["role"], **details}})
        return account_doc, token, expires_at

    def _start_session(self, user_id, user_doc, origin, details):
        """A new session of an existing user, with its `user.login` event."""
        sid, session_doc, token, expires_at = self._new_session(user_id)
        self.store.start_session(sid, session_doc, {
            "action": "user.login", "target": f"users/{user_id}",
            "actor": Caller(user_id, user_doc["username"], user_doc["role"], sid=sid), "origin": origin,
            "details": {"ip": origin.client_address, **details}})
        return self._session_response(user_id, user_doc, token, expires_at)

    # Use cases.
    def create_user(self, username, password, role="user", actor=None, origin=NO_ORIGIN):
        """Creates a password user with its account; returns (user_id, user_doc, account_doc, token, expires_at)."""
        if username in RESERVED_USERNAMES:
            raise _username_taken()
        user_id = new_id()
        user_doc = new_user(username, hash_password(password, self.rounds), role)
        try:
            account_doc, token, expires_at = self._commit_new_user(user_id, user_doc, actor, origin, {})
        except AlreadyExists as exc:  # the username claim lost the race
            raise _username_taken() from exc
        return user_id, user_doc, account_doc, token, expires_at

    def signup(self, username, password, origin: Origin = NO_ORIGIN):
        user_id, user_doc, _account, token, expires_at = self.create_user(username, password, origin=origin)
        return self._session_response(user_id, user_doc, token, expires_at)

    def find_user_by_username(self, username):
        """(user_id, user_doc) or (None, None)."""
        user_id = self.store.user_id_of(username)
        user_doc = self.store.user(user_id) if user_id else None
        return (user_id, user_doc) if user_doc else (None, None)

    def login(self, username, password, origin: Origin = NO_ORIGIN):
        user_id, user_doc = self.find_user_by_username(username)
        if not password_matches(password, user_doc and user_doc.get("password_hash"), self.rounds):
            self.store.record({"action": "user.login_failed", "target": f"usernames/{username}", "origin": origin,
                               "details": {"username": username, "ip": origin.client_address,
                                           "known_user": user_doc is not None}})
            raise _invalid_credentials("Wrong username or password.")
        return self._start_session(user_id, user_doc, origin, {})

    def firebase_sign_in(self, id_token, username, origin: Origin = NO_ORIGIN):
        """Our session for a Firebase user: (response, 201) the first time, (response, 200) later."""
        try:
            claims = self.store.verify_id_token(id_token)
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
        existing = self.store.user(uid)
        if existing is not None:
            return self._firebase_session(uid, existing, claims, origin, details), 200
        if username is None:
            raise validation_error("A username is needed the first time a Firebase user signs in.",
                                   [{"field": "username", "message": "required on first sign-in",
                                     "type": "missing"}])
        if username in RESERVED_USERNAMES:
            raise _username_taken()
        user_doc = new_user(username, None, "user", provider="firebase")
        try:
            _account, token, expires_at = self._commit_new_user(uid, user_doc, None, origin, details)
        except AlreadyExists as exc:
            existing = self.store.user(uid)
            if existing is not None:  # the same Firebase user, signing in twice at once
                return self._firebase_session(uid, existing, claims, origin, details), 200
            if self.store.user_id_of(username) is not None:
                raise _username_taken() from exc
            raise conflict("This Firebase user id is already in use here.") from exc
        return self._session_response(uid, user_doc, token, expires_at), 201

    def _firebase_session(self, uid, user_doc, claims, origin, details):
        """A session for an existing user named by a Firebase identity: only a user that
        Firebase sign-in created. Firebase uids can be chosen by anyone who mints custom
        tokens or creates users for the project (and forged on the emulator), so a uid
        equal to a password user's id must never stand for that user."""
        if user_doc.get("provider") != "firebase":
            firebase_claims = claims.get("firebase")
            provider = firebase_claims.get("sign_in_provider") if isinstance(firebase_claims, dict) else None
            self.store.record({"action": "user.firebase_refused", "target": f"users/{uid}", "origin": origin,
                               "details": {"ip": origin.client_address, "reason": "not a Firebase user",
                                           "sign_in_provider": str(provider)[:64]}})
            raise unauthenticated("This Firebase identity cannot sign in here.")
        return self._start_session(uid, user_doc, origin, details)

    def firebase_custom_token(self, user):
        """A custom token whose uid is the caller's id, and no claims: roles stay in our user document."""
        try:
            return {"custom_token": self.store.create_custom_token(user.id)}
        except FirebaseAuthUnavailable as exc:
            log.warning("custom token failed: %s", exc)
            raise unavailable("Firebase Auth is not available; try again.") from exc

    def change_password(self, user: Caller, current_password, new_password):
        """Sets a new password and revokes every other session of the user, in one commit.

        One guarded commit (AuthStore.change_user): the user document is updated
        with the update time read, so two concurrent changes cannot both pass the
        check of the current password. A wrong password commits only its audit event.
        """
        client, target = user.origin.client_address, f"{USERS}/{user.id}"
        now = utcnow()
        others = [sid for sid in self.store.live_sessions_of(user.id, now) if sid != user.sid]

        def decide(docs):
            stored = (docs[(USERS, user.id)].data or {}).get("password_hash")
            if not stored:
                raise conflict("This user signs in through Firebase and has no password to change.")
            if not password_matches(current_password, stored, self.rounds):
                return Plan([audit_write("user.password_change_failed", target, actor=user, details={"ip": client})],
                            refusal=_invalid_credentials("The current password is wrong."))
            fields = {"password_hash": hash_password(new_password, self.rounds), "password_changed_at": now,
                      "password_changed_by": user.sid}
            return Plan([Write("update", USERS, user.id, fields),
                         *(Write("update", SESSIONS, sid, {"revoked_at": now}) for sid in others),
                         audit_write("user.password_change", target, actor=user,
                                     details={"ip": client, "revoked_sessions": len(others)})])

        self.store.change_user(user.id, decide)
        # This process at once; the others through the revocation listener.
        for sid in others:
            self.cache.put(sid, None, self.token_ttl)

    def logout(self, user):
        self.store.revoke_session(user.sid, utcnow(), {
            "action": "user.logout", "target": f"sessions/{user.sid}", "actor": user})
        self.cache.put(user.sid, None, self.token_ttl)

    def authenticate(self, authorization_header):
        """The caller behind an Authorization header, or None when there is none."""
        token = bearer_token(authorization_header)
        if token is None:
            return None
        sid, user_id = token_claims(token, self.secret_key)
        if self.watch is not None:
            self.watch.ensure_started()
        cached = self.cache.get(sid)
        if cached is None:
            now = utcnow()
            session, user_doc = self.store.session_and_user(sid, user_id)
            user = session_caller(sid, user_id, session, user_doc, now)
            if session is not None and session.get("user_id") != user_id:
                raise unauthenticated("The session has ended; log in again.")  # not cached: not its user's answer
            # Never cached past the session's end: the next request re-reads and refuses it.
            ttl = self.cache_seconds if user is None else min(
                self.cache_seconds, (session["expires_at"] - now).total_seconds())
            self.cache.put(sid, user, ttl)
        else:
            user = cached.user
        # The cache is keyed by session: a token naming another user than its session's is refused.
        if user is None or user.id != user_id:
            raise unauthenticated("The session has ended; log in again.")
        return user

    def me(self, user):
        account_id, account = self.store.account(user.id)
        user_doc = {"username": user.username, "role": user.role, "created_at": user.created_at}
        return {"user": user_view(user.id, user_doc), "account": account_view(account_id, account)}

    def unfit_usernames(self):
        """(user id, username) of stored users whose name breaks the rule today: names taken
        before the whole-string check (e.g. "admin\\n") or a reserved name."""
        return [(user_id, name) for user_id, name in self.store.usernames()
                if not is_username(name) or name in RESERVED_USERNAMES]

    def create_admin(self, username, password=None):
        """Promotes an existing user, or creates a new admin; returns (user_id, created)."""
        for prerequisite in self.admin_prerequisites:
            prerequisite()
        user_id, user_doc = self.find_user_by_username(username)
        if user_id is None:
            if password is None:
                raise DomainError(422, "validation_error", "A password is needed to create a new admin.")
            user_id, *_ = self.create_user(username, password, role="admin", actor=CLI)
            return user_id, True
        self.store.set_role(user_id, "admin", {
            "action": "user.promote", "target": f"users/{user_id}", "actor": CLI,
            "details": {"username": username, "from": user_doc["role"], "to": "admin"}})
        return user_id, False

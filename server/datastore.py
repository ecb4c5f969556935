"""The one place that knows how to reach Firestore and Firebase Auth.

firebase-admin is initialised once per Flask app (a named firebase app, so
tests can build several Flask apps in one process). Against the emulator it
uses anonymous credentials; in production Application Default Credentials
(GOOGLE_APPLICATION_CREDENTIALS or the metadata server).
"""

import contextlib
import os
import threading
import time
import uuid

import firebase_admin
import firebase_admin.exceptions
import google.auth.credentials
import google.auth.exceptions
from firebase_admin import auth, credentials, firestore
from flask import current_app
from google.api_core import exceptions as gexc

from . import config
from .kernel.commits import MISSING, LostRace, ReadDoc, RetryBudget, guarded
from .kernel.errors import FirebaseAuthUnavailable, FirebaseTokenRefused
from .kernel.paging import decode_cursor, encode_cursor, invalid_cursor

# Datastore failures that a retry (with the same Idempotency-Key) may cure.
TRANSIENT_ERRORS = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.Aborted,
    gexc.InternalServerError,
    gexc.RetryError,
)


class CommitUnsettled(gexc.DeadlineExceeded):
    """A commit that may or may not have been applied, as a deadline leaves it: retried after
    UNAVAILABLE (which can follow a commit that landed), it then failed on its preconditions,
    perhaps on its own first attempt's writes. Not a lost race: read again, then retry."""


# What a commit with preconditions raises when another writer got there first: the one
# definition of a lost race (Conflict covers ALREADY_EXISTS and ABORTED; NOT_FOUND is an
# updated or deleted document gone since it was read).
LOST_RACE_ERRORS = (gexc.FailedPrecondition, gexc.Conflict, gexc.NotFound)

SERVER_TIMESTAMP = firestore.SERVER_TIMESTAMP
Increment = firestore.Increment


class AnonymousCredential(credentials.Base):
    """The emulator accepts any caller; firebase-admin still insists on a credential."""

    def get_credential(self):
        return google.auth.credentials.AnonymousCredentials()


@contextlib.contextmanager
def scoped_env(variable, value):
    """Sets (or removes, for None) one environment variable for a moment: the Firestore
    and Cloud Storage clients read their emulator host once, when they are built."""
    previous = os.environ.get(variable)
    if value:
        os.environ[variable] = value
    else:
        os.environ.pop(variable, None)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = previous


def _emulator_env(emulator_host):
    """The Firestore client reads FIRESTORE_EMULATOR_HOST once, when it is built.

    Set it for that moment only, so apps of one process (tests) can use
    different emulators, or one the emulator and another real Firestore.
    """
    return scoped_env("FIRESTORE_EMULATOR_HOST", emulator_host)


# firebase-admin's auth module reads FIREBASE_AUTH_EMULATOR_HOST on every call
# (and, when set, skips signature checks): each call runs with this app's value.
_AUTH_ENV_LOCK = threading.RLock()


# What verify_id_token raises about the token or its user, rather than about Firebase itself.
# TypeError: claims of the wrong type (e.g. no `iat`), which only unsigned emulator tokens can carry.
_TOKEN_ERRORS = (auth.InvalidIdTokenError, auth.UserDisabledError, auth.UserNotFoundError, ValueError,
                 TypeError)


class FirebaseAuth:
    """Firebase Auth (firebase-admin) for one Flask app: ID tokens in, custom tokens out."""

    def __init__(self, firebase_app, emulator_host, can_sign=True):
        self._app = firebase_app
        self.emulator_host = emulator_host
        self.can_sign = can_sign  # custom tokens need the Auth emulator or real credentials

    @contextlib.contextmanager
    def _scope(self):
        with _AUTH_ENV_LOCK, scoped_env("FIREBASE_AUTH_EMULATOR_HOST", self.emulator_host):
            yield

    def verify_id_token(self, id_token):
        """The claims of a valid ID token of a live user (check_revoked asks Firebase
        Auth about revocation and disabled users); else FirebaseTokenRefused."""
        try:
            with self._scope():
                claims = auth.verify_id_token(id_token, app=self._app, check_revoked=True)
        except _TOKEN_ERRORS as exc:  # revoked and expired tokens are InvalidIdTokenErrors too
            raise FirebaseTokenRefused(str(exc)) from exc
        except firebase_admin.exceptions.FirebaseError as exc:
            raise FirebaseAuthUnavailable(str(exc)) from exc
        # Against the emulator firebase-admin checks no expiry (nor signature): expiry at least.
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= time.time():
            raise FirebaseTokenRefused("the ID token has expired")
        return claims

    def revoke_refresh_tokens(self, uid):
        """Ends every Firebase session of a user: its ID tokens are refused from now on."""
        with self._scope():
            auth.revoke_refresh_tokens(uid, app=self._app)

    def create_custom_token(self, uid):
        if not self.can_sign:
            raise FirebaseAuthUnavailable("Firebase Auth is not configured (no Auth emulator, no credentials)")
        try:
            with self._scope():
                return auth.create_custom_token(uid, app=self._app).decode("ascii")
        # ValueError and GoogleAuthError: no service account to sign with (credentials missing).
        except (auth.TokenSignError, firebase_admin.exceptions.FirebaseError, ValueError,
                google.auth.exceptions.GoogleAuthError) as exc:
            raise FirebaseAuthUnavailable(str(exc)) from exc


class Datastore:
    """Owns the firebase-admin app and Firestore client of one Flask app."""

    def __init__(self, project_id, emulator_host=None, auth_emulator_host=None, auth_configured=True):
        self.project_id = project_id
        self.emulator_host = emulator_host
        credential = AnonymousCredential() if emulator_host else credentials.ApplicationDefault()
        self._firebase_app = firebase_admin.initialize_app(
            credential,
            options={"projectId": project_id},
            name=f"trusted-backend-{uuid.uuid4().hex}",
        )
        with _emulator_env(emulator_host):
            self.client = firestore.client(self._firebase_app)
        self.auth = FirebaseAuth(self._firebase_app, auth_emulator_host, can_sign=auth_configured)

    def collection(self, name):
        return self.client.collection(name)

    def doc(self, collection, doc_id):
        return self.client.collection(collection).document(doc_id)

    def batch(self):
        return self.client.batch()

    def transaction(self, **kwargs):
        return self.client.transaction(**kwargs)

    # --- the guarded commit (kernel/commits.py) ------------------------------------------

    def read(self, keys, transaction=None):
        """{(collection, id): ReadDoc} for `keys`, in one get_all round trip."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        refs = [self.doc(collection, doc_id) for collection, doc_id in keys]
        key_of = {ref.path: key for ref, key in zip(refs, keys, strict=True)}
        found = dict.fromkeys(keys, MISSING)
        for snap in self.client.get_all(refs, transaction=transaction):
            if snap.exists:
                found[key_of[snap.reference.path]] = ReadDoc(snap.to_dict(), snap.update_time)
        return found

    def add(self, batch, write, update_time=None):
        """Adds one Write to a batch or transaction with its precondition (see Write)."""
        add_write(self.client, batch, self.doc(write.collection, write.doc_id), write.method, write.data,
                  update_time)

    def commit(self, writes, docs, add=None, send=None, new_batch=None):
        """Commits `writes` as one atomic WriteBatch; returns {(collection, id): update_time}.

        Each update or delete of a document in `docs` ({key: ReadDoc} as read) carries the
        update time it was read at. Raises LostRace when a precondition failed (nothing
        written). `add` replaces Datastore.add and `send(batch) -> [update_time, ...]` the
        batch's own commit, and `new_batch()` what the writes are added to (the ledger's fast
        encoder and decoder, ledger/wire.py).
        """
        add = add or self.add
        batch = new_batch() if new_batch else self.client.batch()
        for write in writes:
            read = docs.get(write.key) if write.method in ("update", "delete") else None
            add(batch, write, read.update_time if read is not None else None)
        try:
            update_times = send(batch) if send else [result.update_time for result in batch.commit()]
        except LOST_RACE_ERRORS as exc:
            raise LostRace(str(exc)) from exc
        return {w.key: t for w, t in zip(writes, update_times, strict=True)}

    def guarded(self, keys, decide, budget: RetryBudget, stats=None):
        """kernel/commits.guarded over this datastore: read, decide, commit, retry a lost race."""
        return guarded(self.read, self.commit, keys, decide, budget, stats)

    def ping(self, timeout=3.0):
        """Raises when Firestore does not answer a tiny read in time."""
        self.client.collection("_health").document("ping").get(retry=None, timeout=timeout)

    def close(self):
        try:
            self.client.close()
        finally:
            firebase_admin.delete_app(self._firebase_app)


def add_write(client, batch, ref, method, data, update_time=None):
    """Adds one write (kernel/commits.py's methods) to the library's batch or transaction, with its
    precondition: update and delete at `update_time` when given, absent never on a document that exists."""
    option = client.write_option(last_update_time=update_time) if update_time is not None else None
    if method == "create":
        batch.create(ref, data)
    elif method == "update":
        batch.update(ref, data, option=option)
    elif method == "delete":
        batch.delete(ref, option=option)
    elif method == "set":
        batch.set(ref, data)
    elif method == "absent":
        batch.delete(ref, option=client.write_option(exists=False))
    else:
        raise ValueError(method)


def init_app(app):
    app.extensions["datastore"] = Datastore(
        app.config["PROJECT_ID"], app.config["FIRESTORE_EMULATOR_HOST"],
        app.config.get("FIREBASE_AUTH_EMULATOR_HOST"), auth_configured=config.parts(app.config)["firebase_auth"],
    )


def get_datastore() -> Datastore:
    return current_app.extensions["datastore"]


def paginate(query, collection_ref, limit: int, cursor: str | None, order_by: str, descending=True):
    """Runs `query` ordered by `order_by` (then the document id) one page at a time.

    The cursor is the position of the previous page's last item (its sort
    value and id, kernel/paging.py), so equal sort keys never repeat or skip
    items, and an item that changed or went away since does not move or
    break the next page. Returns (snapshots, next_cursor).
    """
    direction = firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING
    query = query.order_by(order_by, direction=direction).order_by("__name__", direction=direction)
    if cursor:
        position = decode_cursor(cursor)
        if isinstance(position, str):  # a document id, as cursors were before positions
            last = collection_ref.document(position).get()
            if not last.exists or order_by not in last.to_dict():  # no place in this order
                raise invalid_cursor("unknown cursor")
            query = query.start_after(last)
        else:
            value, doc_id = position
            query = query.start_after({order_by: value, "__name__": doc_id})
    snapshots = list(query.limit(limit + 1).stream())
    if len(snapshots) > limit:
        last = snapshots[limit - 1]
        return snapshots[:limit], encode_cursor(last.get(order_by), last.id)
    return snapshots, None

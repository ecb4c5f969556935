"""Firestore side of users and sessions: claims, users, sessions, their commits
with audit events, and the listener on revoked sessions."""

import logging

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter

from ..datastore import FirebaseAuthUnavailable, FirebaseTokenRefused  # noqa: F401  (raised through the store)
from ..kernel.audit import write_event
from ..kernel.collections import ACCOUNTS, SESSIONS, USERS
from ..kernel.directory import username_ref
from ..kernel.errors import conflict

log = logging.getLogger(__name__)


class AlreadyExists(Exception):
    """A create lost its exists=false precondition: nothing was written."""


class AuthStore:
    def __init__(self, datastore):
        self.datastore = datastore

    # Reads.
    def user(self, user_id):
        """The user document, or None."""
        snapshot = self.datastore.doc(USERS, user_id).get()
        return snapshot.to_dict() if snapshot.exists else None

    def user_id_of(self, username):
        """The id of the user who holds `username`, or None."""
        claim = username_ref(self.datastore, username).get()
        return claim.get("user_id") if claim.exists else None

    def usernames(self):
        """(user id, username) of every user, streamed: for operator checks only."""
        for snapshot in self.datastore.collection(USERS).select(["username"]).stream():
            yield snapshot.id, (snapshot.to_dict() or {}).get("username")

    def account(self, user_id):
        """(id, document) of the user's ledger account."""
        snapshot = self.datastore.doc(ACCOUNTS, user_id).get()
        return snapshot.id, snapshot.to_dict()

    def session_and_user(self, sid, user_id):
        """(session dict, user dict), each None when missing; one round trip."""
        datastore = self.datastore
        session_ref, user_ref = datastore.doc(SESSIONS, sid), datastore.doc(USERS, user_id)
        snapshots = {snap.reference.path: snap for snap in datastore.client.get_all([session_ref, user_ref])}
        session, user = snapshots.get(session_ref.path), snapshots.get(user_ref.path)
        return (session.to_dict() if session and session.exists else None,
                user.to_dict() if user and user.exists else None)

    def password_state(self, user_id):
        """(password_hash or None, update_time) of a user, for change_password's precondition."""
        snapshot = self.datastore.doc(USERS, user_id).get()
        return (snapshot.to_dict() or {}).get("password_hash"), snapshot.update_time

    def live_sessions_of(self, user_id, now):
        """Ids of the user's sessions neither revoked nor expired."""
        sessions = self.datastore.collection(SESSIONS).where(filter=FieldFilter("user_id", "==", user_id)).stream()
        return [s.id for s in sessions if s.get("revoked_at") is None and s.get("expires_at") > now]

    # Commits: each writes its audit event (a dict of write_event's arguments) with the change.
    def _commit(self, batch, event):
        write_event(batch, self.datastore, **event)
        batch.commit()

    def record(self, event):
        """An audit event on its own (failed logins and password checks)."""
        self._commit(self.datastore.batch(), event)

    def create_user(self, user_id, user_doc, account_doc, sid, session_doc, event):
        """Username claim, user, ledger account, session and audit event in one commit.

        Every document is created with an exists=false precondition, so of two
        concurrent sign-ups of one name (or one Firebase uid) exactly one commit
        succeeds; the other raises AlreadyExists and writes nothing.
        """
        datastore, username = self.datastore, user_doc["username"]
        batch = datastore.batch()
        batch.create(username_ref(datastore, username), {"user_id": user_id, "username": username})
        batch.create(datastore.doc(USERS, user_id), user_doc)
        batch.create(datastore.doc(ACCOUNTS, user_id), account_doc)
        batch.create(datastore.doc(SESSIONS, sid), session_doc)
        try:
            self._commit(batch, event)
        except gexc.Conflict as exc:
            raise AlreadyExists() from exc

    def start_session(self, sid, session_doc, event):
        batch = self.datastore.batch()
        batch.create(self.datastore.doc(SESSIONS, sid), session_doc)
        self._commit(batch, event)

    def change_password(self, user_id, fields, update_time, revoked_sids, now, event):
        """Updates the user if unchanged since `update_time`, revoking `revoked_sids`."""
        datastore = self.datastore
        batch = datastore.batch()
        batch.update(datastore.doc(USERS, user_id), fields,
                     option=datastore.client.write_option(last_update_time=update_time))
        for sid in revoked_sids:
            batch.update(datastore.doc(SESSIONS, sid), {"revoked_at": now})
        try:
            self._commit(batch, event)
        except gexc.FailedPrecondition as exc:
            raise conflict("The password was changed at the same moment; try again.") from exc

    def revoke_session(self, sid, now, event):
        batch = self.datastore.batch()
        batch.update(self.datastore.doc(SESSIONS, sid), {"revoked_at": now})
        self._commit(batch, event)

    def set_role(self, user_id, role, event):
        batch = self.datastore.batch()
        batch.update(self.datastore.doc(USERS, user_id), {"role": role})
        self._commit(batch, event)

    # Firebase Auth, through the datastore's adapter.
    def verify_id_token(self, id_token):
        return self.datastore.auth.verify_id_token(id_token)

    def create_custom_token(self, uid):
        return self.datastore.auth.create_custom_token(uid)

    def watch_revocations(self, since, on_revoked):
        """Calls on_revoked(sid) for every session revoked since `since`, now and as it happens.
        Returns the watch (its unsubscribe() stops it)."""
        def on_snapshot(_docs, changes, _read_time):
            for change in changes:
                on_revoked(change.document.id)
        query = self.datastore.collection(SESSIONS).where(filter=FieldFilter("revoked_at", ">=", since))
        return query.on_snapshot(on_snapshot)

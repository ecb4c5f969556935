"""Firestore side of users and sessions: claims, users, sessions, their commits
with audit events, and the listener on revoked sessions."""

import logging

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter

from ..kernel.audit import write_event
from ..kernel.collections import ACCOUNTS, SESSIONS, USERS
from ..kernel.commits import RetryBudget
from ..kernel.directory import user_id_of, username_ref
from ..kernel.errors import conflict

log = logging.getLogger(__name__)


PASSWORD_RACE = RetryBudget(attempts=1, exhausted_error=lambda: conflict(
    "The password was changed at the same moment; try again."))


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
        return user_id_of(self.datastore, username)

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

    def change_user(self, user_id, decide):
        """One guarded commit over the user document (the password change): decide(docs) -> Plan.

        The user is updated with the update time read, so two concurrent changes cannot
        both pass the check of the current password; the loser is not retried (its
        check rested on the old password) but answered 409.
        """
        return self.datastore.guarded([(USERS, user_id)], decide, PASSWORD_RACE)

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
        Returns the watch (its unsubscribe() stops it).

        A listener can miss a write that lands while it starts: with the emulator, a first
        snapshot whose read time was after the logout's commit lacked it, and no change
        followed (tests/test_processes.py's logout test run alone failed 8 times in 12). So
        once the first snapshot is in, one plain query of the same sessions catches up
        whatever was revoked meanwhile.
        """
        query = self.datastore.collection(SESSIONS).where(filter=FieldFilter("revoked_at", ">=", since))
        caught_up = False

        def on_snapshot(_docs, changes, _read_time):
            nonlocal caught_up
            for change in changes:
                on_revoked(change.document.id)
            if not caught_up:
                caught_up = True
                try:
                    for doc in query.stream():
                        on_revoked(doc.id)
                except gexc.GoogleAPICallError:  # the listener goes on; the cache window still bounds the rest
                    log.warning("catching up on revoked sessions failed", exc_info=True)
        return query.on_snapshot(on_snapshot)

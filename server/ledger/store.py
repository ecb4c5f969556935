"""Firestore side of the ledger: the unit of work around one batch, and history queries."""

import datetime as dt
import logging
import threading
from collections import Counter

from google.api_core import exceptions as gexc
from google.cloud import firestore as gfs
from google.cloud.firestore_v1 import FieldFilter

from ..datastore import paginate
from ..kernel.audit import write_event
from ..kernel.clock import utcnow
from ..kernel.directory import username_ref
from ..kernel.ids import new_id
from . import engine
from .accounts import COLLECTION as ACCOUNTS
from .accounts import TREASURY_ID, new_account
from .wire import WireWrites

log = logging.getLogger(__name__)

class LedgerStore:
    def __init__(self, datastore, idempotency_ttl_hours=48, currency="USD", fast_writes=True):
        self.datastore = datastore
        self.client = datastore.client
        self.idempotency_ttl = dt.timedelta(hours=idempotency_ttl_hours)
        self.currency = currency
        self._treasury_exists = False
        self.wire = WireWrites(self.client, enabled=fast_writes)
        # Firestore documents read and written by the ledger's write path, counted exactly
        # (production bills per document; a missing document asked for is a read too).
        self.counts = Counter()
        self._count_lock = threading.Lock()

    @property
    def fast_writes(self):
        return self.wire.enabled

    def count(self, **amounts):
        with self._count_lock:
            self.counts.update(amounts)

    def ensure_treasury_for(self, ops):
        """Before the first deposit a process commits: the treasury, for projects whose
        admins are older than the rule that makes it with the first admin."""
        if any(op.from_account == TREASURY_ID for op in ops):
            self.ensure_treasury()

    def ensure_treasury(self):
        """Creates the treasury account, with its audit event, unless it exists already.

        Run before an admin is created or promoted (AuthService.create_admin)
        and before each process's first deposit; a read never runs it. After its
        first run in a process it is a no-op there.
        """
        if self._treasury_exists:
            return
        batch = self.datastore.batch()
        batch.create(self.datastore.doc(ACCOUNTS, TREASURY_ID),
                     new_account(None, "treasury", self.currency, kind="treasury"))
        write_event(batch, self.datastore, "account.create", f"{ACCOUNTS}/{TREASURY_ID}",
                    details={"kind": "treasury"})
        try:
            batch.commit()
        except gexc.Conflict:
            pass  # already there
        self._treasury_exists = True

    def _read(self, wanted, transaction):
        """{collection: ids} -> {collection: {id: doc or None}}, in one round trip."""
        found = {collection: dict.fromkeys(ids) for collection, ids in wanted.items()}
        refs = [self.datastore.doc(collection, i) for collection, ids in wanted.items() for i in ids]
        if refs:
            self.count(reads=len(refs), read_calls=1)
            for snap in self.client.get_all(refs, transaction=transaction):
                if snap.exists:
                    found[snap.reference.parent.id][snap.id] = snap.to_dict()
        return found

    # --- the optimistic write path (no transaction, no lock) -----------------------------

    def read(self, keys):
        """{(collection, id): (doc or None, update_time or None)} for keys, in one round trip."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        self.count(reads=len(keys), read_calls=1)
        found = dict.fromkeys(keys, (None, None))
        for snap in self.client.get_all([self.datastore.doc(c, i) for c, i in keys]):
            if snap.exists:
                found[(snap.reference.parent.id, snap.id)] = (snap.to_dict(), snap.update_time)
        return found

    def commit(self, writes, update_times):
        """Commits `writes` as one atomic WriteBatch with preconditions; returns their update times.

        create -> exists=false; update -> the document's update time as read
        (update_times[(collection, id)]), so the batch fails with FAILED_PRECONDITION
        or ALREADY_EXISTS if any document changed since: no lock is ever held.
        Returns {(collection, id): update_time} of the written documents.
        """
        batch = self.client.batch()
        for method, collection, doc_id, data in writes:
            self.wire.add(batch, method, collection, doc_id, data,
                          update_times.get((collection, doc_id)) if method == "update" else None)
        try:
            update_times = self.wire.commit(batch)
        except Exception:
            self.count(failed_commits=1, failed_writes=len(writes))
            raise
        self.count(commits=1, writes=len(writes))
        return {(c, i): t for (_m, c, i, _d), t in zip(writes, update_times, strict=True)}

    # --- the naive baseline: one pessimistic transaction ----------------------------------

    def run_batch(self, ops, max_attempts=1):
        """One Firestore transaction for `ops`: read, plan, write, commit (LEDGER_MODE=naive).

        Returns the outcomes. Raises ValueError (chained from Aborted) when
        the commit kept aborting after max_attempts, and the datastore's own
        exceptions otherwise; the caller decides whether to retry.
        """
        self.ensure_treasury_for(ops)
        transaction = self.client.transaction(max_attempts=max_attempts)

        @gfs.transactional
        def unit_of_work(transaction):
            # One round trip for the keys, the transfers being reversed and the accounts named
            # by the operations; a second only for accounts known once a reversed transfer is read.
            known_accounts = engine.accounts_needed(ops, {})
            keys = [key for op in ops for key in engine.documents_of(op)]
            docs = self._read({
                engine.IDEMPOTENCY: sorted({i for c, i in keys if c == engine.IDEMPOTENCY}),
                engine.TRANSFERS: sorted({i for c, i in keys if c == engine.TRANSFERS}),
                ACCOUNTS: sorted(known_accounts),
            }, transaction)
            idem, transfers, accounts = docs[engine.IDEMPOTENCY], docs[engine.TRANSFERS], docs[ACCOUNTS]
            more = engine.accounts_needed(ops, transfers) - known_accounts
            if more:
                accounts.update(self._read({ACCOUNTS: sorted(more)}, transaction)[ACCOUNTS])
            plan = engine.plan_batch(ops, accounts, transfers, idem, utcnow, new_id, self.idempotency_ttl)
            for method, collection, doc_id, data in plan.writes:
                self.wire.add(transaction, method, collection, doc_id, data)
            self.count(writes=len(plan.writes))
            return plan.outcomes

        return unit_of_work(transaction)

    # --- reads -----------------------------------------------------------------

    def account_id_of(self, username):
        """The account id of the user who holds `username` (their user id), or None."""
        claim = username_ref(self.datastore, username).get()
        return claim.get("user_id") if claim.exists else None

    def account(self, account_id):
        snap = self.datastore.doc(ACCOUNTS, account_id).get()
        return snap.to_dict() if snap.exists else None

    def transfer(self, transfer_id):
        snap = self.datastore.doc(engine.TRANSFERS, transfer_id).get()
        return snap.to_dict() if snap.exists else None

    def transfers_of(self, user_id, limit, cursor):
        ref = self.datastore.collection(engine.TRANSFERS)
        query = ref.where(filter=FieldFilter("parties", "array_contains", user_id))
        return paginate(query, ref, limit, cursor, order_by="created_at")

    def postings_of(self, account_id, limit, cursor):
        ref = self.datastore.collection(engine.POSTINGS)
        query = ref.where(filter=FieldFilter("account_id", "==", account_id))
        return paginate(query, ref, limit, cursor, order_by="seq")

    def all_accounts(self, limit, cursor):
        ref = self.datastore.collection(ACCOUNTS)
        return paginate(ref, ref, limit, cursor, order_by="created_at")

"""Firestore side of the ledger: the unit of work around one batch, and history queries."""

import datetime as dt
import logging
import threading
from collections import Counter

from google.cloud import firestore as gfs
from google.cloud.firestore_v1 import FieldFilter

from ..datastore import paginate
from ..kernel.audit import audit_write
from ..kernel.clock import utcnow
from ..kernel.collections import ACCOUNTS, POSTINGS, TRANSFERS
from ..kernel.commits import LostRace, Write
from ..kernel.directory import user_id_of
from ..kernel.ids import new_id
from . import engine
from .accounts import TREASURY_ID, new_account
from .wire import WireChannel, WireReads, WireWrites

log = logging.getLogger(__name__)

class LedgerStore:
    def __init__(self, datastore, idempotency_ttl_hours=48, currency="USD", fast_writes=True):
        self.datastore = datastore
        self.client = datastore.client
        self.idempotency_ttl = dt.timedelta(hours=idempotency_ttl_hours)
        self.currency = currency
        self._treasury_exists = False
        # LEDGER_FAST_WRITES: the raw-protobuf encoding of the writer's writes and reads (wire.py).
        self.wire_channel = WireChannel(self.client)
        self.wire = WireWrites(self.client, enabled=fast_writes, channel=self.wire_channel)
        self.wire_reads = WireReads(self.client, enabled=fast_writes, channel=self.wire_channel)
        # Firestore documents read and written by the ledger's write path, counted exactly
        # (production bills per document; a missing document asked for is a read too).
        self.counts = Counter()
        self._count_lock = threading.Lock()

    @property
    def fast_writes(self):
        return self.wire.enabled

    def close(self):
        """Closes the writer's channel (wire.py); the datastore closes its own client."""
        self.wire_channel.close()

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

        Run before an admin is created or promoted (registered in create_app as an
        admin prerequisite) and before each process's first deposit; a read never
        runs it. After its first run in a process it is a no-op there.
        """
        if self._treasury_exists:
            return
        try:
            self.datastore.commit([
                Write("create", ACCOUNTS, TREASURY_ID, new_account(None, "treasury", self.currency, kind="treasury")),
                audit_write("account.create", f"{ACCOUNTS}/{TREASURY_ID}", details={"kind": "treasury"}),
            ], {})
        except LostRace:
            pass  # already there
        self._treasury_exists = True

    # --- the optimistic write path (no transaction, no lock) -----------------------------

    def read(self, keys, transaction=None):
        """{(collection, id): ReadDoc} for keys, in one round trip (counted)."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        self.count(reads=len(keys), read_calls=1)
        if transaction is None and self.wire_reads.enabled:
            return self.wire_reads.read(keys)
        return self.datastore.read(keys, transaction)

    def commit(self, writes, docs):
        """Datastore.commit with the fast encoder (wire.py), counted: one atomic WriteBatch,
        creates with exists=false, updates with the update time read in `docs`; raises
        LostRace when another writer got there first. Returns {key: update_time}."""
        try:
            written = self.datastore.commit(writes, docs, add=self.wire.add, send=self.wire.commit,
                                            new_batch=self.wire.new_batch)
        except Exception:
            self.count(failed_commits=1, failed_writes=len(writes))
            raise
        checks = sum(write.method == "absent" for write in writes)  # preconditions, no document written
        self.count(commits=1, writes=len(writes) - checks, absent_checks=checks)
        return written

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
            docs = engine.read_set(ops, lambda keys: self.read(keys, transaction))
            plan = engine.plan_on(ops, docs, utcnow, new_id, self.idempotency_ttl)
            # The transaction read the keys' records: their absent writes would only repeat that.
            writes = [write for write in plan.writes if write.method != "absent"]
            for write in writes:
                self.wire.add(transaction, write)
            self.count(writes=len(writes))
            return plan.outcomes

        return unit_of_work(transaction)

    # --- reads -----------------------------------------------------------------

    def account_id_of(self, username):
        """The account id of the user who holds `username` (their user id), or None."""
        return user_id_of(self.datastore, username)

    def account(self, account_id):
        snap = self.datastore.doc(ACCOUNTS, account_id).get()
        return snap.to_dict() if snap.exists else None

    def transfer(self, transfer_id):
        snap = self.datastore.doc(TRANSFERS, transfer_id).get()
        return snap.to_dict() if snap.exists else None

    def transfers_of(self, user_id, limit, cursor):
        ref = self.datastore.collection(TRANSFERS)
        query = ref.where(filter=FieldFilter("parties", "array_contains", user_id))
        return paginate(query, ref, limit, cursor, order_by="created_at")

    def postings_of(self, account_id, limit, cursor):
        ref = self.datastore.collection(POSTINGS)
        query = ref.where(filter=FieldFilter("account_id", "==", account_id))
        return paginate(query, ref, limit, cursor, order_by="seq")

    def all_accounts(self, limit, cursor):
        ref = self.datastore.collection(ACCOUNTS)
        return paginate(ref, ref, limit, cursor, order_by="created_at")

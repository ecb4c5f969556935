"""Firestore side of the ledger: the unit of work around one batch, and history queries."""

import datetime as dt

from google.api_core import exceptions as gexc
from google.cloud import firestore as gfs
from google.cloud.firestore_v1 import FieldFilter

from ..common import new_id, paginate, utcnow
from . import engine
from .accounts import COLLECTION as ACCOUNTS
from .accounts import TREASURY_ID, new_account


class LedgerStore:
    def __init__(self, datastore, idempotency_ttl_hours=48, currency="USD"):
        self.datastore = datastore
        self.client = datastore.client
        self.idempotency_ttl = dt.timedelta(hours=idempotency_ttl_hours)
        self.currency = currency

    def new_treasury(self):
        return new_account(None, "treasury", self.currency, kind="treasury")

    def ensure_treasury(self):
        """Creates the treasury account if the first deposit has not already done so."""
        try:
            self.datastore.doc(ACCOUNTS, TREASURY_ID).create(self.new_treasury())
        except gexc.Conflict:
            pass  # already there

    def _read(self, collection, ids, transaction):
        refs = [self.datastore.doc(collection, i) for i in ids]
        docs = dict.fromkeys(ids)
        if refs:
            for snap in self.client.get_all(refs, transaction=transaction):
                if snap.exists:
                    docs[snap.id] = snap.to_dict()
        return docs

    def run_batch(self, ops, max_attempts=1):
        """One Firestore transaction for `ops`: read, plan, write, commit.

        Returns the outcomes. Raises ValueError (chained from Aborted) when
        the commit kept aborting after max_attempts, and the datastore's own
        exceptions otherwise; the caller decides whether to retry.
        """
        transaction = self.client.transaction(max_attempts=max_attempts)

        @gfs.transactional
        def unit_of_work(transaction):
            idem = self._read(engine.IDEMPOTENCY, sorted({op.idempotency_id for op in ops}), transaction)
            reversed_ids = sorted({op.reverses for op in ops if op.kind == "reverse"})
            transfers = self._read(engine.TRANSFERS, reversed_ids, transaction)
            accounts = self._read(ACCOUNTS, sorted(engine.accounts_needed(ops, transfers)), transaction)
            missing_treasury = TREASURY_ID in accounts and accounts[TREASURY_ID] is None
            if missing_treasury:
                accounts[TREASURY_ID] = self.new_treasury()
            plan = engine.plan_batch(ops, accounts, transfers, idem, utcnow, new_id, self.idempotency_ttl,
                                     new_accounts={TREASURY_ID} if missing_treasury else ())
            for method, collection, doc_id, data in plan.writes:
                getattr(transaction, method)(self.datastore.doc(collection, doc_id), data)
            return plan.outcomes

        return unit_of_work(transaction)

    # --- reads -----------------------------------------------------------------

    def account(self, account_id):
        snap = self.datastore.doc(ACCOUNTS, account_id).get()
        return snap.to_dict() if snap.exists else None

    def transfer(self, transfer_id):
        snap = self.datastore.doc(engine.TRANSFERS, transfer_id).get()
        return snap.to_dict() if snap.exists else None

    def transfers_of(self, user_id, limit, cursor):
        ref = self.datastore.collection(engine.TRANSFERS)
        query = (ref.where(filter=FieldFilter("parties", "array_contains", user_id))
                 .order_by("created_at", direction=gfs.Query.DESCENDING))
        return paginate(query, ref, limit, cursor)

    def postings_of(self, account_id, limit, cursor):
        ref = self.datastore.collection(engine.POSTINGS)
        query = (ref.where(filter=FieldFilter("account_id", "==", account_id))
                 .order_by("seq", direction=gfs.Query.DESCENDING))
        return paginate(query, ref, limit, cursor)

    def all_accounts(self, limit, cursor):
        self.ensure_treasury()
        ref = self.datastore.collection(ACCOUNTS)
        query = ref.order_by("created_at", direction=gfs.Query.DESCENDING)
        return paginate(query, ref, limit, cursor)

"""Firestore side of the ledger: the unit of work around one batch, and history queries."""

import datetime as dt
import logging
import re

from google.api_core import exceptions as gexc
from google.cloud import firestore as gfs
from google.cloud._helpers import _datetime_to_pb_timestamp
from google.cloud.firestore_v1 import FieldFilter
from google.cloud.firestore_v1 import _helpers as fs_helpers
from google.cloud.firestore_v1.types import write as write_types

from ..audit.events import write_event
from ..datastore import paginate
from ..kernel.clock import utcnow
from ..kernel.ids import new_id
from . import engine
from .accounts import COLLECTION as ACCOUNTS
from .accounts import TREASURY_ID, new_account

log = logging.getLogger(__name__)

_PLAIN_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WritePb = write_types.Write.pb()


class _Unsupported(TypeError):
    pass


def _set_value(value_pb, value):
    """Fills a raw Firestore Value protobuf in place, as the client library's encode_value would."""
    if value is None:
        value_pb.null_value = 0
    elif isinstance(value, bool):
        value_pb.boolean_value = value
    elif isinstance(value, int):
        value_pb.integer_value = value
    elif isinstance(value, str):
        value_pb.string_value = value
    elif isinstance(value, dt.datetime):
        value_pb.timestamp_value.CopyFrom(
            value.timestamp_pb() if hasattr(value, "timestamp_pb") else _datetime_to_pb_timestamp(value))
    elif isinstance(value, dict):
        fields = value_pb.map_value.fields
        if not value:
            value_pb.map_value.SetInParent()
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unsupported(key)
            _set_value(fields[key], item)
    elif isinstance(value, list | tuple):
        values = value_pb.array_value.values
        if not value:
            value_pb.array_value.SetInParent()
        for item in value:
            _set_value(values.add(), item)
    else:  # floats, bytes, references, sentinels...: leave them to the library
        raise _Unsupported(type(value))


def fast_write(method, document_path, data):
    """The Write of transaction.create / update, built on raw protobufs.

    The client library builds the same message through proto-plus wrappers,
    which costs most of the writer thread's time under load. Raises
    _Unsupported for anything but plain fields of plain values; the caller
    then falls back to the library.
    """
    pb = _WritePb()
    pb.update.name = document_path
    fields = pb.update.fields
    for key, value in data.items():
        if not _PLAIN_FIELD.match(key):
            raise _Unsupported(key)
        _set_value(fields[key], value)
    if method == "create":
        pb.current_document.exists = False
    elif method == "update":
        if not data:
            raise _Unsupported("empty update")
        pb.update_mask.field_paths.extend(sorted(data))
        pb.current_document.exists = True
    else:
        raise _Unsupported(method)
    return write_types.Write.wrap(pb)


def _library_write(method, document_path, data):
    if method == "create":
        return fs_helpers.pbs_for_create(document_path, data)[0]
    return fs_helpers.pbs_for_update(document_path, data, None)[0]


def fast_writes_agree():
    """Start-up self-check: the fast encoder builds exactly the library's messages."""
    at = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)
    sample = {"s": "x", "i": -3, "b": True, "n": None, "t": at, "l": ["a", "b"], "e": [],
              "m": {"k": "v", "z": 0, "d": {"t": at}, "empty": {}}}
    path = "projects/p/databases/(default)/documents/c/d"
    try:
        return all(fast_write(m, path, sample)._pb == _library_write(m, path, sample)._pb
                   for m in ("create", "update"))
    except Exception:  # any surprise from a library upgrade: use the library
        log.exception("fast Firestore write encoding disabled")
        return False


class LedgerStore:
    def __init__(self, datastore, idempotency_ttl_hours=48, currency="USD", fast_writes=True):
        self.datastore = datastore
        self.client = datastore.client
        self.idempotency_ttl = dt.timedelta(hours=idempotency_ttl_hours)
        self.currency = currency
        self._treasury_exists = False
        self.fast_writes = fast_writes and fast_writes_agree()
        if not self.fast_writes:
            log.warning("the fast Firestore write encoding differs from the library's; not using it")

    def ensure_treasury(self):
        """Creates the treasury account, with its audit event, unless a deposit already did."""
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
            for snap in self.client.get_all(refs, transaction=transaction):
                if snap.exists:
                    found[snap.reference.parent.id][snap.id] = snap.to_dict()
        return found

    def run_batch(self, ops, max_attempts=1):
        """One Firestore transaction for `ops`: read, plan, write, commit.

        Returns the outcomes. Raises ValueError (chained from Aborted) when
        the commit kept aborting after max_attempts, and the datastore's own
        exceptions otherwise; the caller decides whether to retry.
        """
        if any(op.from_account == TREASURY_ID for op in ops):
            self.ensure_treasury()  # once per process; a no-op after the first deposit
        transaction = self.client.transaction(max_attempts=max_attempts)

        @gfs.transactional
        def unit_of_work(transaction):
            # One round trip for the keys, the transfers being reversed and the accounts named
            # by the operations; a second only for accounts known once a reversed transfer is read.
            known_accounts = engine.accounts_needed(ops, {})
            docs = self._read({
                engine.IDEMPOTENCY: sorted({op.idempotency_id for op in ops}),
                engine.TRANSFERS: sorted({op.reverses for op in ops if op.kind == "reverse"}),
                ACCOUNTS: sorted(known_accounts),
            }, transaction)
            idem, transfers, accounts = docs[engine.IDEMPOTENCY], docs[engine.TRANSFERS], docs[ACCOUNTS]
            more = engine.accounts_needed(ops, transfers) - known_accounts
            if more:
                accounts.update(self._read({ACCOUNTS: sorted(more)}, transaction)[ACCOUNTS])
            plan = engine.plan_batch(ops, accounts, transfers, idem, utcnow, new_id, self.idempotency_ttl)
            self._add_writes(transaction, plan.writes)
            return plan.outcomes

        return unit_of_work(transaction)

    def _add_writes(self, transaction, writes):
        documents = f"{self.client._database_string}/documents"
        for method, collection, doc_id, data in writes:
            if self.fast_writes:
                try:
                    transaction._add_write_pbs([fast_write(method, f"{documents}/{collection}/{doc_id}", data)])
                    continue
                except _Unsupported:
                    pass
            getattr(transaction, method)(self.datastore.doc(collection, doc_id), data)

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

"""Reading the audit trail (the filtered list, the export stream, paged scans) and
the ledger's documents for the verifier.

Which composite index serves which list query: every query orders by `at`
descending and filters by equality on any subset of action, one actor field
(actor_id or actor_username) and target, plus an optional range on `at`.
firestore.indexes.json declares one index per non-empty subset, equality
fields ascending then `at` descending; with no equality filter the built-in
single-field index on `at` serves.
"""

import datetime as dt
import re
import threading
from dataclasses import dataclass, field

from google.cloud.firestore_v1 import FieldFilter, Query

from ..datastore import paginate
from ..kernel.clock import rfc3339, utcnow
from ..kernel.collections import ACCOUNTS, AUDIT, AUDIT_RUNS, IDEMPOTENCY, POSTINGS, TRANSFERS, USERS
from ..kernel.ids import is_doc_id
from ..kernel.views import lenient_view
from ..ledger.accounts import TREASURY_ID
from ..ledger.engine import posting_id
from .models import AuditEvent

# Every user id is uuid4().hex; anything else given as `actor` is a username.
_USER_ID = re.compile(r"^[0-9a-f]{32}$")


def jsonable(value):
    """Firestore values (timestamps, nested maps) as plain JSON values."""
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def event_view(event_id, doc):
    return lenient_view(AuditEvent, jsonable(doc), id=event_id, details=jsonable(doc.get("details") or {}))


def actor_filter(actor):
    """(field, value) for `actor`: a user id, or else a username (case-insensitive)."""
    if _USER_ID.fullmatch(actor):
        return "actor_id", actor
    return "actor_username", actor.lower()


def _time_range(query, since, until):
    if since is not None:
        query = query.where(filter=FieldFilter("at", ">=", since))
    if until is not None:
        query = query.where(filter=FieldFilter("at", "<", until))
    return query


def equality_filters(query):
    """[(field, value)] of an AuditQuery, in the field order of the declared indexes."""
    filters = [("action", query.action), actor_filter(query.actor) if query.actor else None,
               ("target", query.target)]
    return [f for f in filters if f is not None and f[1] is not None]


def _filtered(datastore, query):
    """The audit query of an AuditQuery's filters (not yet ordered)."""
    q = datastore.collection(AUDIT)
    for name, value in equality_filters(query):
        q = q.where(filter=FieldFilter(name, "==", value))
    return _time_range(q, query.since, query.until)


def list_events(datastore, query):
    """One page of events matching an AuditQuery, newest first: (snapshots, next_cursor)."""
    return paginate(_filtered(datastore, query), datastore.collection(AUDIT), query.limit, query.cursor,
                    order_by="at")


def export_filtered(datastore, query, page_size=500, query_size=10_000):
    """Every event an AuditQuery's filters match, newest first (the list's order, so its indexes
    serve), as event views, streamed page by page."""
    q = (_filtered(datastore, query).order_by("at", direction=Query.DESCENDING)
         .order_by("__name__", direction=Query.DESCENDING))
    for page in scan(q, page_size, query_size=query_size):
        for snap in page:
            yield event_view(snap.id, snap.to_dict())


def scan(query, page_size=500, read_time=None, query_size=None):
    """Pages (lists of at most page_size snapshots) of an ordered query.

    The collection is read by queries of query_size documents (default:
    page_size), each starting after the last snapshot of the one before and
    consumed as a stream, so memory holds one page whatever the size of the
    collection. Fewer, larger queries matter on the emulator, whose every
    query costs time in proportion to the whole collection. With read_time
    every query reads that one point in time (a consistent snapshot).
    """
    query_size = max(query_size or page_size, page_size)
    kwargs = {"read_time": read_time} if read_time is not None else {}
    last = None
    while True:
        batch_query = query.limit(query_size)
        if last is not None:
            batch_query = batch_query.start_after(last)
        seen, page = 0, []
        for snap in batch_query.stream(**kwargs):
            seen, last = seen + 1, snap
            page.append(snap)
            if len(page) == page_size:
                yield page
                page = []
        if page:
            yield page
        if seen < query_size:
            return


def export_events(datastore, since=None, until=None, page_size=500, query_size=10_000):
    """Every event in [since, until), oldest first, as event views, streamed page by page."""
    q = _time_range(datastore.collection(AUDIT), since, until)
    q = q.order_by("at").order_by("__name__")
    for page in scan(q, page_size, query_size=query_size):
        for snap in page:
            yield event_view(snap.id, snap.to_dict())


def plain_id(value):
    """The value when it is a valid document id, else None."""
    return value if is_doc_id(value) else None


def snapshot_time(client):
    """The datastore's own clock (a read's read_time), so a snapshot is never in its future."""
    snap = client.collection(ACCOUNTS).document(TREASURY_ID).get()
    return snap.read_time or utcnow()


@dataclass
class LedgerSnapshot:
    """Paged, projected reads of the ledger's documents at one point in time,
    shared by the verifier's passes (server/audit/verify.py)."""

    client: object
    page_size: int
    query_size: int
    read_time: object
    _progress: object
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def progress(self, phase, done, total, final):
        if self._progress:
            with self._lock:
                self._progress(phase, done, total, final)

    def _pages(self, query, phase, total=None):
        done = 0
        for page in scan(query, self.page_size, self.read_time, self.query_size):
            done += len(page)
            yield page
            self.progress(phase, done, total, False)
        self.progress(phase, done, total, True)

    def accounts(self):
        return self._pages(self.client.collection(ACCOUNTS).order_by("__name__"), "accounts")

    def postings_by_account(self, expected):
        """Postings in id order, i.e. each account's chain in sequence."""
        query = self.client.collection(POSTINGS).order_by("__name__")
        return self._pages(query, "postings (hash chains)", expected)

    def postings_by_transfer(self):
        query = self.client.collection(POSTINGS).select(["transfer_id", "account_id", "amount"]).order_by("transfer_id")
        return self._pages(query, "postings (by transfer)")

    def transfers(self, fields):
        return self._pages(self.client.collection(TRANSFERS).select(fields).order_by("__name__"), "transfers")

    def events_with_action(self, actions):
        query = (self.client.collection(AUDIT).select(["action", "target"])
                 .where(filter=FieldFilter("action", "in", actions)).order_by("__name__"))
        return self._pages(query, "audit events")

    def get_all(self, collection, ids, fields):
        """{id: document (only `fields`)} of those of `ids` that exist, read at the snapshot time."""
        ids = sorted({i for i in map(plain_id, ids) if i})
        if not ids:
            return {}
        refs = [self.client.collection(collection).document(i) for i in ids]
        snapshots = self.client.get_all(refs, field_paths=fields, read_time=self.read_time)
        return {snap.id: snap.to_dict() for snap in snapshots if snap.exists}


# ---- The dashboard's reads ------------------------------------------------------------

def events_between(datastore, since, until):
    """(action, at, details.amount) of every event in [since, until), oldest first, streamed;
    a projection, so only those fields travel."""
    q = (_time_range(datastore.collection(AUDIT), since, until)
         .select(["action", "at", "details.amount"]).order_by("at").order_by("__name__"))
    for page in scan(q, query_size=10_000):
        for snap in page:
            doc = snap.to_dict()
            yield doc.get("action"), doc.get("at"), (doc.get("details") or {}).get("amount")


def refusals_between(datastore, since, until):
    """(error code, created_at) of the refusals stored with their Idempotency-Key in [since, until)
    (insufficient funds, reversing twice): the ledger keeps them for replays, for IDEMPOTENCY_TTL_HOURS."""
    q = (datastore.collection(IDEMPOTENCY).where(filter=FieldFilter("created_at", ">=", since))
         .where(filter=FieldFilter("created_at", "<", until))
         .select(["created_at", "error"]).order_by("created_at").order_by("__name__"))
    for page in scan(q, query_size=10_000):
        for snap in page:
            doc = snap.to_dict()
            error = doc.get("error")
            if isinstance(error, list) and len(error) > 1:
                yield error[1], doc.get("created_at")


def _aggregate(aggregation):
    return aggregation.get()[0][0].value


def totals(datastore):
    """The books at this moment: the treasury's balance, the sum of all balances, and counts
    (aggregation queries: no document is read)."""
    accounts = datastore.collection(ACCOUNTS)
    treasury = datastore.doc(ACCOUNTS, TREASURY_ID).get()
    treasury_doc = treasury.to_dict() if treasury.exists else {}
    return {
        "treasury_balance": int(treasury_doc.get("balance") or 0),
        "all_balances": int(_aggregate(accounts.sum("balance")) or 0),
        "accounts": int(_aggregate(accounts.count())),
        "users": int(_aggregate(datastore.collection(USERS).count())),
        "currency": treasury_doc.get("currency"),
    }


# ---- The verifier's last run ----------------------------------------------------------

LAST_VERIFY_RUN = "verify_last"


def save_verify_run(datastore, run):
    datastore.doc(AUDIT_RUNS, LAST_VERIFY_RUN).set(run)


def last_verify_run(datastore):
    snap = datastore.doc(AUDIT_RUNS, LAST_VERIFY_RUN).get()
    return snap.to_dict() if snap.exists else None


# ---- An account's statement -----------------------------------------------------------

def account(datastore, account_id):
    snap = datastore.doc(ACCOUNTS, account_id).get()
    return snap.to_dict() if snap.exists else None


def postings_of_account(datastore, account_id, limit, cursor):
    """One page of an account's postings, newest first, and the posting just before the
    page's oldest (for its chain link): (snapshots, next_cursor, previous document or None)."""
    ref = datastore.collection(POSTINGS)
    query = ref.where(filter=FieldFilter("account_id", "==", account_id))
    snaps, next_cursor = paginate(query, ref, limit, cursor, order_by="seq")
    previous = None
    seq = snaps[-1].get("seq") if snaps else None
    if isinstance(seq, int) and seq > 1:
        before = datastore.doc(POSTINGS, posting_id(account_id, seq - 1)).get()
        previous = before.to_dict() if before.exists else None
    return snaps, next_cursor, previous


def documents(datastore, collection, ids):
    """{id: document} of those of `ids` that exist."""
    ids = sorted({i for i in map(plain_id, ids) if i})
    refs = [datastore.doc(collection, i) for i in ids]
    return {snap.id: snap.to_dict() for snap in datastore.client.get_all(refs) if snap.exists} if refs else {}

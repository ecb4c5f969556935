"""The ledger's rules, as pure functions over documents already read.

`read_set` names the documents a list of operations depends on (through a
read function it is given); `plan_batch` takes the operations and those
documents, applies the operations in order to an in-memory copy of the
touched accounts, and returns one outcome per operation plus the Writes that
commit all successful operations together. It does no I/O, so it is
unit-tested with plain dicts. The optimistic committer (optimistic.py, run by
the writer thread of writer.py) reads, plans and commits with it; so does
the naive baseline's transaction (store.py, LEDGER_MODE=naive).

Invariants kept here: every transfer has exactly two postings summing to
zero; no user account goes below zero (the treasury may); each posting
records balance_after and extends its account's hash chain; each transfer
carries its audit event; each idempotency key is recorded with its result.
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from ..kernel.audit import audit_document
from ..kernel.caller import Caller
from ..kernel.clock import rfc3339
from ..kernel.collections import ACCOUNTS, AUDIT, IDEMPOTENCY, POSTINGS, TRANSFERS
from ..kernel.commits import Write
from ..kernel.views import document_view
from .accounts import TREASURY_ID
from .models import Posting, Transfer

# Refusals that are a request's final answer, replayed like a success.
REMEMBERED_FAILURES = {"insufficient_funds", "conflict"}

ACTIONS = {"transfer": "transfer.create", "deposit": "deposit.create", "reverse": "transfer.reverse"}
KINDS = {"transfer": "transfer", "deposit": "deposit", "reverse": "reversal"}


@dataclass
class Operation:
    """One money-moving request, validated and with usernames resolved."""

    kind: str  # "transfer" | "deposit" | "reverse"
    caller: Caller  # its origin's request id goes into the transfer and its audit event
    idempotency_key: str
    request_hash: str
    from_account: str | None = None
    to_account: str | None = None
    amount: int | None = None
    memo: str | None = None
    reverses: str | None = None

    @property
    def idempotency_id(self):
        return idempotency_id(self.caller.id, self.idempotency_key)


@dataclass(frozen=True)
class Refusal:
    """Why an operation failed: the contract's status, code and message."""

    status: int
    code: str
    message: str


@dataclass
class Outcome:
    status: int
    body: dict | None = None
    error: Refusal | None = None  # when the operation failed
    replayed: bool = False


@dataclass
class Plan:
    outcomes: list
    writes: list[Write] = field(default_factory=list)
    accounts: dict = field(default_factory=dict)  # account id -> the document as this plan leaves it


def idempotency_id(caller_id, key):
    return hashlib.sha256(f"{caller_id}\n{key}".encode()).hexdigest()


def request_hash(kind, **fields):
    canonical = json.dumps({"kind": kind, **fields}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def posting_hash(posting):
    """Covers a posting's content and the previous posting's hash."""
    content = {
        "account_id": posting["account_id"],
        "seq": posting["seq"],
        "transfer_id": posting["transfer_id"],
        "amount": posting["amount"],
        "balance_after": posting["balance_after"],
        "created_at": rfc3339(posting["created_at"]),
        "prev_hash": posting["prev_hash"],
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def first_response(transfer_id, doc):
    """A transfer's creation response, as a replay of its key repeats it (status as it was then)."""
    return {"transfer": transfer_view(transfer_id, doc, status="posted")}


def posting_id(account_id, seq):
    return f"{account_id}_{seq:012d}"


def transfer_view(transfer_id, doc, **values):
    return document_view(Transfer, doc, id=transfer_id, **values)


def posting_view(posting_id_, doc):
    return document_view(Posting, doc, id=posting_id_)


class _Failure(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.outcome = Outcome(status, error=Refusal(status, code, message))


def _fail(status, code, message):
    raise _Failure(status, code, message)


class _BatchState:
    """The documents of one batch as the operations so far have left them."""

    def __init__(self, accounts, transfers, idempotency, now, new_id, ttl):
        # Shallow copies suffice: the plan only ever replaces top-level fields of these documents.
        self.accounts = {k: dict(v) for k, v in accounts.items() if v is not None}
        self.transfers = {k: dict(v) for k, v in transfers.items() if v is not None}
        self.idempotency = {k: v for k, v in idempotency.items() if v is not None}
        self.dirty_accounts = set()
        self.depends_on = set()  # accounts a stored refusal rests on, unchanged otherwise
        self.now = now
        self.new_id = new_id
        self.ttl = ttl
        self.writes = []
        self._last_time = None

    def timestamp(self):
        """Strictly increasing times, so history order is the commit order."""
        now = self.now()
        if self._last_time is not None and now <= self._last_time:
            now = self._last_time + dt.timedelta(microseconds=1)
        self._last_time = now
        return now

    def account(self, account_id, missing_message):
        account = self.accounts.get(account_id)
        if account is None:
            _fail(404, "not_found", missing_message)
        return account

    def post(self, account_id, transfer_id, amount, at):
        """Appends one posting to an account's chain; returns nothing, records the write."""
        account = self.accounts[account_id]
        seq = account["posting_count"] + 1
        posting = {
            "account_id": account_id,
            "owner_id": account.get("owner_id"),
            "transfer_id": transfer_id,
            "amount": amount,
            "balance_after": account["balance"] + amount,
            "seq": seq,
            "prev_hash": account["head_hash"],
            "created_at": at,
        }
        posting["hash"] = posting_hash(posting)
        account.update(balance=posting["balance_after"], head_hash=posting["hash"],
                       posting_count=seq, updated_at=at)
        self.dirty_accounts.add(account_id)
        # create(): a second writer that raced us to this seq fails instead of forking the chain.
        self.writes.append(Write("create", POSTINGS, posting_id(account_id, seq), posting))


def _debit_allowed(account_id, account, amount):
    return account_id == TREASURY_ID or account["balance"] - amount >= 0


def _replay(op, state):
    """The key's first result when it has one: a refusal record, or the transfer it created."""
    record = state.idempotency.get(op.idempotency_id)
    created = state.transfers.get(op.idempotency_id)
    if record is None and (created is None or "request_hash" not in created):
        return None
    if (record or created)["request_hash"] != op.request_hash:
        _fail(409, "idempotency_conflict", "This Idempotency-Key was used with a different request.")
    if record is None:
        return Outcome(201, body=first_response(op.idempotency_id, created), replayed=True)
    error = Refusal(*record["error"]) if record.get("error") else None
    return Outcome(record["status"], body=record["response"], error=error, replayed=True)


def _apply(op: Operation, state: _BatchState):
    """Applies one operation to `state`; returns its Outcome or raises _Failure.

    Every check comes before the first change, so a failed operation leaves
    the batch state exactly as it found it.
    """
    replay = _replay(op, state)
    if replay is not None:
        return replay

    original = None
    if op.kind == "reverse":
        original = state.transfers.get(op.reverses)
        if original is None:
            _fail(404, "not_found", "No such transfer.")
        if original["kind"] == "reversal":
            _fail(409, "conflict", "A reversal cannot itself be reversed.")
        if original["status"] != "posted":
            _fail(409, "conflict", "This transfer has already been reversed.")
        source_id, target_id, amount = original["to_account"], original["from_account"], original["amount"]
    else:
        source_id, target_id, amount = op.from_account, op.to_account, op.amount
    if source_id == target_id:
        _fail(422, "validation_error", "A transfer needs two different accounts.")
    source = state.account(source_id, "The paying account does not exist.")
    target = state.account(target_id, "The receiving account does not exist.")
    if not _debit_allowed(source_id, source, amount):
        # The refusal rests on this balance: commit it only if the account is still as read.
        state.depends_on.add(source_id)
        _fail(409, "insufficient_funds", "The balance is too low for this transfer; nothing changed.")

    at = state.timestamp()
    # Derived from (caller, key): the transfer document is also the key's record, created with
    # an exists=false precondition, so one key moves money at most once whichever process runs it.
    transfer_id = op.idempotency_id
    audit_id = state.new_id()
    transfer = {
        "from_account": source_id,
        "to_account": target_id,
        "from_username": source["username"],
        "to_username": target["username"],
        # Owners' user ids (never the treasury): the index behind "my transfers".
        "parties": sorted({o for o in (source.get("owner_id"), target.get("owner_id")) if o}),
        "amount": amount,
        "currency": source["currency"],
        "memo": op.memo,
        "kind": KINDS[op.kind],
        "status": "posted",
        "reverses": op.reverses,
        "reversed_by": None,
        "created_at": at,
        "created_by": op.caller.id,
        "audit_event_id": audit_id,
        "request_id": op.caller.origin.request_id,
        "request_hash": op.request_hash,
    }
    state.post(source_id, transfer_id, -amount, at)
    state.post(target_id, transfer_id, amount, at)
    state.transfers[transfer_id] = transfer
    state.writes.append(Write("create", TRANSFERS, transfer_id, transfer))
    if original is not None:
        original["status"] = "reversed"
        original["reversed_by"] = transfer_id
        state.writes.append(Write("update", TRANSFERS, op.reverses,
                             {"status": "reversed", "reversed_by": transfer_id}))
    state.writes.append(Write("create", AUDIT, audit_id, audit_document(
        ACTIONS[op.kind], f"{TRANSFERS}/{transfer_id}", actor=op.caller, at=at,
        details={"amount": amount, "from_account": source_id, "to_account": target_id,
                 "reverses": op.reverses, "memo": op.memo})))
    return Outcome(201, body={"transfer": transfer_view(transfer_id, transfer)})


KEY_RECORDS = (TRANSFERS, IDEMPOTENCY)  # the collections of a key's records, in _records_of's order


def _records_of(op, state):
    """The key's two records as the batch sees them: its transfer and its refusal record."""
    return state.transfers.get(op.idempotency_id), state.idempotency.get(op.idempotency_id)


def _still_absent(op, state):
    """A new key's answer rests on both its records being missing: the one not created must still
    be missing at the commit (an absent write), so the records may be assumed missing, not read,
    and a refusal and a transfer can never both be a key's first result."""
    for collection, record in zip(KEY_RECORDS, _records_of(op, state), strict=True):
        if record is None:
            state.writes.append(Write("absent", collection, op.idempotency_id))


def _remember(op, outcome, state, at, transfer_id=None):
    """Stores a refusal with its key, in the same commit, for replays (a success is its transfer)."""
    record = {
        "caller_id": op.caller.id,
        "key": op.idempotency_key,
        "request_hash": op.request_hash,
        "status": outcome.status,
        "response": outcome.body,
        # Stored as [status, code, message], as records always were.
        "error": [outcome.error.status, outcome.error.code, outcome.error.message] if outcome.error else None,
        "transfer_id": transfer_id,
        "created_at": at,
        # Firestore TTL policy field: the record is deleted some time after this.
        "expire_at": at + state.ttl,
    }
    state.idempotency[op.idempotency_id] = record
    state.writes.append(Write("create", IDEMPOTENCY, op.idempotency_id, record))


def plan_batch(ops, accounts, transfers, idempotency, now, new_id, idempotency_ttl):
    """Applies `ops` in order; a failed operation moves no money and does not affect others.

    Business refusals (insufficient funds, an already reversed transfer) are
    the first result of their Idempotency-Key and are stored with it, so a
    replay answers the same 409; invalid requests store nothing.

    accounts / transfers / idempotency map document ids to the documents read
    (None for a missing one). Returns a Plan whose writes include one update
    per touched account with its final balance and chain head, and for each new
    key an absent write of the record it did not create (_still_absent).
    """
    state = _BatchState(accounts, transfers, idempotency, now, new_id, idempotency_ttl)
    outcomes = []
    for op in ops:
        new_key = _records_of(op, state) == (None, None)
        try:
            outcomes.append(_apply(op, state))
        except _Failure as failure:
            if failure.outcome.error.code in REMEMBERED_FAILURES:
                _remember(op, failure.outcome, state, state.timestamp())
            outcomes.append(failure.outcome)
        if new_key:
            _still_absent(op, state)
    for account_id in sorted(state.dirty_accounts | state.depends_on):
        account = state.accounts[account_id]
        # A new version on every write, so even a write that changes no balance moves the
        # document's update time and fails every other writer's plan that read the old one.
        account["version"] = account.get("version", 0) + 1
        state.writes.append(Write("update", ACCOUNTS, account_id, {
            "balance": account["balance"],
            "head_hash": account["head_hash"],
            "posting_count": account["posting_count"],
            "updated_at": account["updated_at"],
            "version": account["version"],
        }))
    return Plan(outcomes, state.writes, state.accounts)


def key_records(op):
    """(collection, id) of the key's two possible records: its transfer and its refusal record."""
    return [(collection, op.idempotency_id) for collection in KEY_RECORDS]


def documents_of(op):
    """(collection, id) of every document an operation's outcome depends on, accounts aside."""
    docs = key_records(op)
    if op.kind == "reverse":
        docs.append((TRANSFERS, op.reverses))
    return docs


def read_set(ops, read):
    """{(collection, id): ReadDoc} of every document `ops` depend on, through read(keys).

    One call for the keys' records, the transfers being reversed and the accounts the
    operations name; a second only for accounts known once a reversed transfer is read.
    """
    known = accounts_needed(ops, {})
    keys = [key for op in ops for key in documents_of(op)]
    docs = dict(read(keys + [(ACCOUNTS, a) for a in sorted(known)]))
    more = accounts_needed(ops, documents_in(docs, TRANSFERS)) - known
    if more:
        docs.update(read([(ACCOUNTS, a) for a in sorted(more)]))
    return docs


def documents_in(docs, collection):
    """{id: data or None} of one collection's documents in {(collection, id): ReadDoc}."""
    return {doc_id: read.data for (c, doc_id), read in docs.items() if c == collection}


def plan_on(ops, docs, now, new_id, idempotency_ttl):
    """plan_batch over the documents of read_set."""
    return plan_batch(ops, documents_in(docs, ACCOUNTS), documents_in(docs, TRANSFERS),
                      documents_in(docs, IDEMPOTENCY), now, new_id, idempotency_ttl)


def accounts_needed(ops, transfers):
    """Account ids an operation list touches, given the transfers it reverses."""
    ids = set()
    for op in ops:
        if op.kind == "reverse":
            original = transfers.get(op.reverses)
            if original:
                ids.update((original["from_account"], original["to_account"]))
        else:
            ids.update((op.from_account, op.to_account))
    ids.discard(None)
    return ids

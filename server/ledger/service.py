"""Ledger use cases: turn validated requests into operations and outcomes into responses."""

import threading

from flask import current_app

from ..audit.events import current_request_id
from ..datastore import get_datastore
from ..kernel.directory import username_ref
from ..kernel.errors import DomainError, not_found, validation_error
from ..kernel.paging import page_response
from . import engine
from .accounts import TREASURY_ID, account_view
from .optimistic import OptimisticCommitter
from .store import LedgerStore
from .writer import DirectWriter, GroupCommitWriter

REPLAYED_HEADER = "Idempotent-Replayed"


class Ledger:
    """The ledger of one app: its store and its writer."""

    def __init__(self, store, writer):
        self.store = store
        self.writer = writer
        self._usernames = {}
        self._lock = threading.Lock()

    def account_id_of(self, username):
        """The account id of a username (usernames never change owner, so cached)."""
        account_id = self._usernames.get(username)
        if account_id is None:
            claim = username_ref(self.store.datastore, username).get()
            if not claim.exists:
                raise not_found(f"No user named {username!r}.")
            account_id = claim.get("user_id")
            with self._lock:
                if len(self._usernames) > 200_000:
                    self._usernames.clear()
                self._usernames[username] = account_id
        return account_id


def get_ledger() -> Ledger:
    return current_app.extensions["ledger"]


def _respond(outcome):
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else {}
    if outcome.error:
        status, code, message = outcome.error
        raise DomainError(status, code, message, headers=headers)
    return outcome.body, outcome.status, headers


def _submit(op):
    return _respond(get_ledger().writer.submit(op))


def create_transfer(caller, idempotency_key, body):
    to = body.to.lower()
    if to == caller["username"]:
        raise validation_error("You cannot send money to yourself.",
                               [{"field": "to", "message": "is the caller"}])
    ledger = get_ledger()
    return _submit(engine.Operation(
        kind="transfer", caller=caller, idempotency_key=idempotency_key,
        request_hash=engine.request_hash("transfer", to=to, amount=body.amount, memo=body.memo),
        from_account=caller["id"], to_account=ledger.account_id_of(to),
        amount=body.amount, memo=body.memo, request_id=current_request_id()))


def create_deposit(caller, idempotency_key, body):
    to = body.to.lower()
    ledger = get_ledger()
    return _submit(engine.Operation(
        kind="deposit", caller=caller, idempotency_key=idempotency_key,
        request_hash=engine.request_hash("deposit", to=to, amount=body.amount, memo=body.memo),
        from_account=TREASURY_ID, to_account=ledger.account_id_of(to),
        amount=body.amount, memo=body.memo, request_id=current_request_id()))


def reverse_transfer(caller, idempotency_key, transfer_id, reason):
    return _submit(engine.Operation(
        kind="reverse", caller=caller, idempotency_key=idempotency_key,
        request_hash=engine.request_hash("reverse", transfer=transfer_id, reason=reason),
        reverses=transfer_id, memo=reason, request_id=current_request_id()))


def my_account(caller):
    doc = get_ledger().store.account(caller["id"])
    if doc is None:
        raise not_found("You have no account.")
    return account_view(caller["id"], doc)


def get_transfer(caller, transfer_id):
    doc = get_ledger().store.transfer(transfer_id)
    if doc is None or (caller["role"] != "admin" and caller["id"] not in doc.get("parties", [])):
        raise not_found("No such transfer.")
    return {"transfer": engine.transfer_view(transfer_id, doc)}



def list_transfers(caller, query):
    return page_response(get_ledger().store.transfers_of(caller["id"], query.limit, query.cursor),
                 engine.transfer_view)


def list_postings(caller, query):
    return page_response(get_ledger().store.postings_of(caller["id"], query.limit, query.cursor),
                 engine.posting_view)


def list_accounts(query):
    return page_response(get_ledger().store.all_accounts(query.limit, query.cursor), account_view)


def init_app(app):
    config = app.config
    store = LedgerStore(get_datastore_for(app), config["IDEMPOTENCY_TTL_HOURS"], config["LEDGER_CURRENCY"],
                        fast_writes=config["LEDGER_FAST_WRITES"])
    if config["LEDGER_MODE"] == "naive":
        writer = DirectWriter(store)
    else:
        committer = OptimisticCommitter(store, split=config["LEDGER_SPLIT_CONFLICTS"],
                                        cache=config["LEDGER_ACCOUNT_CACHE"])
        writer = GroupCommitWriter(committer, batch_max=config["LEDGER_BATCH_MAX"],
                                   linger_ms=config["LEDGER_LINGER_MS"],
                                   max_attempts=config["LEDGER_MAX_ATTEMPTS"],
                                   conflict_seconds=config["LEDGER_CONFLICT_SECONDS"])
    app.extensions["ledger"] = Ledger(store, writer)
    app.extensions.setdefault("shutdown_hooks", []).append(writer.stop)


def get_datastore_for(app):
    with app.app_context():
        return get_datastore()

"""Ledger use cases: turn validated requests into operations, and return their outcomes.

No Flask here: the caller (with its request's origin) is passed in; each money call
returns the engine's Outcome (body, status, error, replayed), which
ledger/routes.py turns into the HTTP response (status, Idempotent-Replayed).
"""

from ..kernel.cache import BoundedCache
from ..kernel.caller import Caller
from ..kernel.errors import not_found, validation_error
from ..kernel.paging import page_response
from . import engine
from .accounts import TREASURY_ID, account_view


class Ledger:
    """The ledger of one app: its store, its writer and its use cases."""

    def __init__(self, store, writer):
        self.store = store
        self.writer = writer
        self._usernames = BoundedCache(200_000)

    def ensure_treasury(self):
        """The treasury account exists from now on (an admin prerequisite, see create_app)."""
        self.store.ensure_treasury()

    def stop(self):
        self.writer.stop()
        self.store.close()

    def bench_hook(self):
        """The documented bench hook (ledger/bench.py); nothing in the server calls it."""
        from .bench import LedgerBench

        return LedgerBench(self.store)

    def account_id_of(self, username):
        """The account id of a username (usernames never change owner, so cached)."""
        account_id = self._usernames.get(username)
        if account_id is None:
            account_id = self.store.account_id_of(username)
            if account_id is None:
                raise not_found(f"No user named {username!r}.")
            self._usernames[username] = account_id
        return account_id

    # --- money: each returns an engine.Outcome --------------------------------

    def create_transfer(self, caller: Caller, idempotency_key, body):
        to = body.to.lower()
        if to == caller.username:
            raise validation_error("You cannot send money to yourself.",
                                   [{"field": "to", "message": "is the caller"}])
        return self.writer.submit(engine.Operation(
            kind="transfer", caller=caller, idempotency_key=idempotency_key,
            request_hash=engine.request_hash("transfer", to=to, amount=body.amount, memo=body.memo),
            from_account=caller.id, to_account=self.account_id_of(to),
            amount=body.amount, memo=body.memo))

    def create_deposit(self, caller: Caller, idempotency_key, body):
        to = body.to.lower()
        return self.writer.submit(engine.Operation(
            kind="deposit", caller=caller, idempotency_key=idempotency_key,
            request_hash=engine.request_hash("deposit", to=to, amount=body.amount, memo=body.memo),
            from_account=TREASURY_ID, to_account=self.account_id_of(to),
            amount=body.amount, memo=body.memo))

    def reverse_transfer(self, caller: Caller, idempotency_key, transfer_id, reason):
        return self.writer.submit(engine.Operation(
            kind="reverse", caller=caller, idempotency_key=idempotency_key,
            request_hash=engine.request_hash("reverse", transfer=transfer_id, reason=reason),
            reverses=transfer_id, memo=reason))

    # --- reads -----------------------------------------------------------------

    def my_account(self, caller):
        doc = self.store.account(caller.id)
        if doc is None:
            raise not_found("You have no account.")
        return account_view(caller.id, doc)

    def get_transfer(self, caller, transfer_id):
        doc = self.store.transfer(transfer_id)
        if doc is None or (not caller.is_admin and caller.id not in doc.get("parties", [])):
            raise not_found("No such transfer.")
        return {"transfer": engine.transfer_view(transfer_id, doc)}

    def list_transfers(self, caller, query):
        return page_response(self.store.transfers_of(caller.id, query.limit, query.cursor), engine.transfer_view)

    def list_postings(self, caller, query):
        return page_response(self.store.postings_of(caller.id, query.limit, query.cursor), engine.posting_view)

    def list_accounts(self, query):
        return page_response(self.store.all_accounts(query.limit, query.cursor), account_view)

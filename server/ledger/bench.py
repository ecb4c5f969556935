"""The documented bench hook: what bench/ needs of the ledger below HTTP.

bench/ reaches the server only through public entry points (create_app, the
HTTP API, the CLI and this hook; tests/unit/test_architecture.py checks its
imports). `app.extensions["ledger"].bench_hook()` returns a LedgerBench:

- `seed_accounts(ids, balance)`: user accounts written directly, 400 a commit;
- `operation(kind, caller_id, source, target, amount)`: a validated transfer or
  deposit as the writer receives it;
- `committer()`: a fresh optimistic committer over the app's store (its `run(ops)`
  is one round of group commit, `stats` its counters), and `counts`, the store's
  document reads and writes;
- `posting_hash`, `posting_id`, GENESIS_HASH, TREASURY_ID: the chain's rules, for
  generators that write a valid ledger straight into Firestore (verify_speed.py).

Nothing in the server calls it.
"""

import uuid

from ..kernel.caller import Caller
from ..kernel.collections import ACCOUNTS
from ..kernel.commits import Write
from . import engine
from .accounts import GENESIS_HASH, TREASURY_ID, new_account
from .optimistic import OptimisticCommitter


class LedgerBench:
    GENESIS_HASH = GENESIS_HASH
    TREASURY_ID = TREASURY_ID
    posting_hash = staticmethod(engine.posting_hash)
    posting_id = staticmethod(engine.posting_id)

    def __init__(self, store):
        self.store = store

    @property
    def counts(self):
        return self.store.counts

    def seed_accounts(self, ids, balance=0, currency="USD"):
        ids = list(ids)
        for start in range(0, len(ids), 400):
            writes = []
            for account_id in ids[start:start + 400]:
                doc = new_account(account_id, account_id, currency)
                doc["balance"] = balance
                writes.append(Write("create", ACCOUNTS, account_id, doc))
            self.store.datastore.commit(writes, {})

    @staticmethod
    def operation(kind, caller_id, source, target, amount, role="user"):
        caller = Caller(caller_id, caller_id, role=role)
        return engine.Operation(kind=kind, caller=caller, idempotency_key=uuid.uuid4().hex,
                                request_hash=engine.request_hash(kind, to=target, amount=amount, memo=None),
                                from_account=source, to_account=target, amount=amount)

    def committer(self):
        return OptimisticCommitter(self.store)

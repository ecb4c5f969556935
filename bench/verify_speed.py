"""How long does the audit verifier take per 10,000 postings?

    .venv/bin/python -m bench.verify_speed [--postings 10000] [--accounts 100] [--page-size 500]
        [--query-size 10000] [--runs 2]

Writes a valid ledger straight into a fresh emulator project with the Admin
SDK (batches of 400 writes: deposits from the treasury, then random
transfers between users, each with its two hash-chained postings and its
audit event, then the account documents), and times verifier runs over
it. Uses FIRESTORE_EMULATOR_HOST when set, else starts an emulator on a free
port. Exits 1 if the verifier finds a problem (the generator would be wrong).
"""

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
import uuid

from bench.run import bench_app

BATCH_WRITES = 400
WRITES_PER_TRANSFER = 4  # two postings, the transfer, its audit event


class _Ledger:
    """In-memory account state while the generator writes."""

    def __init__(self, client, hook, accounts, start):
        self.client, self.hook = client, hook
        self.now = start
        treasury = hook.TREASURY_ID
        ids = [treasury] + [uuid.uuid4().hex for _ in range(accounts - 1)]
        self.accounts = {i: {"owner_id": None if i == treasury else i,
                             "username": i if i == treasury else f"u{i[:12]}",
                             "kind": "treasury" if i == treasury else "user", "currency": "USD",
                             "balance": 0, "head_hash": hook.GENESIS_HASH, "posting_count": 0,
                             "created_at": start, "updated_at": start} for i in ids}
        self.batch = client.batch()
        self.pending = 0

    def _write(self, collection, doc_id, data):
        self.batch.set(self.client.collection(collection).document(doc_id), data)
        self.pending += 1

    def flush(self):
        if self.pending:
            self.batch.commit()
            self.batch, self.pending = self.client.batch(), 0

    def _post(self, account_id, transfer_id, amount, at):
        account = self.accounts[account_id]
        posting = {"account_id": account_id, "owner_id": account["owner_id"], "transfer_id": transfer_id,
                   "amount": amount, "balance_after": account["balance"] + amount,
                   "seq": account["posting_count"] + 1, "prev_hash": account["head_hash"], "created_at": at}
        posting["hash"] = self.hook.posting_hash(posting)
        account.update(balance=posting["balance_after"], head_hash=posting["hash"],
                       posting_count=posting["seq"], updated_at=at)
        self._write("postings", self.hook.posting_id(account_id, posting["seq"]), posting)

    def transfer(self, kind, source, target, amount):
        if self.pending + WRITES_PER_TRANSFER > BATCH_WRITES:
            self.flush()
        self.now += dt.timedelta(microseconds=7)
        transfer_id, event_id = uuid.uuid4().hex, uuid.uuid4().hex
        self._post(source, transfer_id, -amount, self.now)
        self._post(target, transfer_id, amount, self.now)
        self._write("transfers", transfer_id, {
            "from_account": source, "to_account": target,
            "from_username": self.accounts[source]["username"], "to_username": self.accounts[target]["username"],
            "parties": sorted(a for a in (source, target) if a != self.hook.TREASURY_ID), "amount": amount,
            "currency": "USD", "memo": None, "kind": kind, "status": "posted", "reverses": None,
            "reversed_by": None, "created_at": self.now, "created_by": "bench", "audit_event_id": event_id,
            "request_id": None})
        self._write("audit", event_id, {
            "at": self.now, "actor_id": None, "actor_username": "bench",
            "action": "deposit.create" if kind == "deposit" else "transfer.create",
            "target": f"transfers/{transfer_id}", "request_id": None,
            "details": {"amount": amount, "from_account": source, "to_account": target}})

    def write_accounts(self):
        for account_id, account in self.accounts.items():
            if self.pending >= BATCH_WRITES:
                self.flush()
            self._write("accounts", account_id, account)
        self.flush()


def build_ledger(client, hook, postings, accounts=100, seed=1):
    """Writes about `postings` postings of valid transfers; returns (accounts, postings) written."""
    rng = random.Random(seed)
    ledger = _Ledger(client, hook, accounts, dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    treasury = hook.TREASURY_ID
    users = [i for i in ledger.accounts if i != treasury]
    transfers = max(postings // 2, len(users))
    for user in users:
        ledger.transfer("deposit", treasury, user, 1_000_000)
    for _ in range(transfers - len(users)):
        source, target = rng.sample(users, 2)
        amount = rng.randint(1, max(1, min(5_000, ledger.accounts[source]["balance"])))
        if ledger.accounts[source]["balance"] >= amount:
            ledger.transfer("transfer", source, target, amount)
        else:
            ledger.transfer("deposit", treasury, source, amount)
    ledger.write_accounts()
    return len(ledger.accounts), sum(a["posting_count"] for a in ledger.accounts.values())


def measure(client, emulator_host, project, postings, accounts=100, page_size=None, query_size=None, runs=2):
    """Builds the ledger and times `runs` verifier runs (the first on a cold emulator); returns a dict.

    The verifier runs as `flask audit verify` does: the audit service of the server's app."""
    config = {key: value for key, value in (("AUDIT_VERIFY_PAGE_SIZE", page_size),
                                            ("AUDIT_VERIFY_QUERY_SIZE", query_size)) if value}
    app = bench_app(emulator_host, project, **config)
    try:
        started = time.monotonic()
        _, written = build_ledger(client, app.extensions["ledger"].bench_hook(), postings, accounts)
        build_seconds = time.monotonic() - started
        seconds, reports = [], []
        for _ in range(runs):
            started = time.monotonic()
            reports.append(app.extensions["audit"].verify())
            seconds.append(time.monotonic() - started)
    finally:
        app.extensions["shutdown"]()
    return {"postings": written, "accounts": accounts, "page_size": page_size or "default",
            "query_size": query_size or "default",
            "build_seconds": round(build_seconds, 2), "verify_seconds": [round(s, 2) for s in seconds],
            "seconds_per_10000_postings": [round(s * 10_000 / written, 2) for s in seconds],
            "ok": all(r["ok"] for r in reports), "problem_kinds": reports[-1]["problem_kinds"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postings", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=None, help="default: the server's")
    parser.add_argument("--query-size", type=int, default=None, help="default: the server's")
    parser.add_argument("--runs", type=int, default=2, help="verifier runs; the first one warms the emulator up")
    args = parser.parse_args(argv)

    from google.cloud import firestore

    from devstack import emulator as harness
    emulator = harness.start(port=0)
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    project = f"demo-verify-bench-{uuid.uuid4().hex[:8]}"
    client = firestore.Client(project=project)
    try:
        result = measure(client, emulator.host, project, args.postings, args.accounts, args.page_size,
                         args.query_size, args.runs)
    finally:
        client.close()
        emulator.stop()
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Firestore documents read and written per transfer, counted at the client library.

    .venv/bin/python -m bench.cost [--accounts 1000] [--batch 15] [--batches 30]

Counts every document named in a BatchGetDocuments (`Client.get_all`, a
missing document included: production bills it as a read) and every write in
a commit (WriteBatch or transaction), by wrapping those two library calls, so
it measures any version of the ledger the same way. To measure the code of
another commit (one with the ledger's bench hook, server/ledger/bench.py),
run it with that tree first on the path, e.g.

    git archive main server | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before .venv/bin/python -m bench.cost

It drives the ledger's own write path (the bench hook's committer) with no
HTTP, one process, batches of
--batch transfers (the size our writer reaches under 32 clients), once with
sender and recipient uniform over --accounts and once with a hot account in
half the transfers, and prints reads and writes per transfer.
"""

import argparse
import random
import uuid
from collections import Counter

from google.cloud.firestore_v1 import batch as batch_module
from google.cloud.firestore_v1 import client as client_module
from google.cloud.firestore_v1 import transaction as transaction_module

from bench.run import bench_app
from devstack import emulator as harness

COUNTS = Counter()


def _count_calls():
    get_all = client_module.Client.get_all

    def counted_get_all(self, references, *args, **kwargs):
        references = list(references)
        COUNTS["reads"] += len(references)
        return get_all(self, references, *args, **kwargs)

    client_module.Client.get_all = counted_get_all
    for cls in (batch_module.WriteBatch, transaction_module.Transaction):
        original = cls.commit if cls is batch_module.WriteBatch else cls._commit

        def counted(self, *args, _original=original, **kwargs):
            writes = len(self._write_pbs)
            result = _original(self, *args, **kwargs)
            COUNTS["writes"] += writes
            return result

        if cls is batch_module.WriteBatch:
            cls.commit = counted
        else:
            cls._commit = counted


def run(hook, store_run, n_accounts, batch, batches, hot, rng):
    ids = [f"c{i:05d}" for i in range(n_accounts)]
    COUNTS.clear()
    done = 0
    for _ in range(batches):
        ops = []
        for _ in range(batch):
            if hot and rng.random() < 0.5:
                other = rng.choice(ids[1:])
                a, b = (ids[0], other) if rng.random() < 0.5 else (other, ids[0])
            else:
                a, b = rng.sample(ids[1:], 2)
            ops.append(hook.operation("transfer", a, a, b, rng.randint(1, 100)))
        outcomes = store_run(ops)
        done += sum(1 for o in outcomes if o is not None and o.status == 201)
    return COUNTS["reads"] / done, COUNTS["writes"] / done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=15)
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args(argv)

    _count_calls()
    emu = harness.start(port=0)
    try:
        app = bench_app(emu.host, f"demo-cost-{uuid.uuid4().hex[:6]}")
        hook = app.extensions["ledger"].bench_hook()
        hook.seed_accounts([f"c{i:05d}" for i in range(args.accounts)], balance=10**9)
        store_run, design = hook.committer().run, "optimistic batch, one process"
        rng = random.Random(7)
        run(hook, store_run, args.accounts, args.batch, 3, False, rng)  # warm the per-process cache
        print(f"design: {design}; {args.batch} transfers per batch, {args.accounts} accounts")
        for hot in (False, True):
            reads, writes = run(hook, store_run, args.accounts, args.batch, args.batches, hot, rng)
            print(f"{'hot' if hot else 'uniform'}: {reads:.2f} document reads and {writes:.2f} writes per transfer")
        app.extensions["shutdown"]()
    finally:
        emu.stop()


if __name__ == "__main__":
    main()

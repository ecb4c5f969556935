"""What the emulator does with 16 senders in one conversation, using the naive design.

Each sender runs firebase-admin's `@transactional` function: read the
conversation, create `messages/{seq}` with seq = message_count + 1, update
the counter. Pessimistic transactions take read locks on the conversation,
so concurrent senders wait on each other (FIRESTORE-EMULATOR.md). Prints
what committed, how long it took and how the failures looked.

    python -m bench.messages_naive [--threads 16] [--per-thread 25] [--time-limit 120]
"""

import argparse
import collections
import os
import threading
import time
import uuid

import google.auth.credentials
from google.cloud import firestore as gfs

from devstack import emulator as harness


def run(threads, per_thread, time_limit, max_attempts):
    emu = harness.start(port=0)
    try:
        # Firestore's own transactions, not the server's code: that is the baseline measured.
        os.environ["FIRESTORE_EMULATOR_HOST"] = emu.host
        store = gfs.Client(project=f"demo-naive-{uuid.uuid4().hex[:6]}",
                           credentials=google.auth.credentials.AnonymousCredentials())
        conv = store.collection("conversations").document("naive")
        conv.set({"message_count": 0})
        committed, failures = [0], collections.Counter()
        lock = threading.Lock()
        deadline = time.monotonic() + time_limit

        @gfs.transactional
        def send(transaction, body):
            snap = conv.get(transaction=transaction)
            seq = snap.get("message_count") + 1
            transaction.create(conv.collection("messages").document(f"{seq:010d}"), {"seq": seq, "body": body})
            transaction.update(conv, {"message_count": seq})

        def sender(n):
            for i in range(per_thread):
                if time.monotonic() > deadline:
                    with lock:
                        failures["stopped: time limit"] += per_thread - i
                    return
                try:
                    send(store.transaction(max_attempts=max_attempts), f"{n}-{i}")
                    with lock:
                        committed[0] += 1
                except Exception as exc:  # what we measure
                    cause = exc.__cause__ or exc
                    with lock:
                        failures[f"{type(exc).__name__}/{type(cause).__name__}: {str(cause)[:60]}"] += 1

        started = time.perf_counter()
        workers = [threading.Thread(target=sender, args=(n,)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - started
        seqs = sorted(int(s.id) for s in conv.collection("messages").select([]).stream())
        count = conv.get().get("message_count")
        print(f"threads={threads} per_thread={per_thread} max_attempts={max_attempts}")
        print(f"elapsed {elapsed:.1f} s; committed {committed[0]} of {threads * per_thread} "
              f"({committed[0] / elapsed:.1f}/s); message docs {len(seqs)}; message_count {count}; "
              f"gap-free {seqs == list(range(1, len(seqs) + 1))}")
        for what, n in failures.most_common():
            print(f"  {n:4d} x {what}")
        store.close()
    finally:
        emu.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--per-thread", type=int, default=25)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--max-attempts", type=int, default=5)
    args = parser.parse_args()
    run(args.threads, args.per_thread, args.time_limit, args.max_attempts)

"""Several group-commit rounds in flight at once (LEDGER_PIPELINE): they never share a document.

The claims (ledger/inflight.py) as pure bookkeeping, then the writer with two
rounds in flight over the shared fake, with the real committer.
"""

import threading
import time
from collections import Counter
from types import SimpleNamespace

from test_ledger_writer import FakeFirestore, check_books, committer, ledger_store, submit_all, transfer

from server.kernel.caller import Caller
from server.ledger import engine
from server.ledger.inflight import InFlight, documents_claimed
from server.ledger.writer import GroupCommitWriter


def queued(op):
    return SimpleNamespace(op=op, docs=documents_claimed(op))


def item(src, dst, key):
    return queued(transfer(src, dst, 1, key))


def reversal(transfer_id, key):
    return queued(engine.Operation(kind="reverse", caller=Caller("adm", "adm"), idempotency_key=key,
                                   request_hash="h", reverses=transfer_id, memo="oops"))


def fits(_item):
    return True


def test_an_operation_claims_its_key_records_and_both_accounts():
    docs = documents_claimed(transfer("a", "b", 1, "k"))
    assert ("accounts", "a") in docs and ("accounts", "b") in docs
    assert {c for c, _ in docs} == {"accounts", "transfers", "idempotency"}
    assert documents_claimed(reversal("t1", "r").op) is None  # accounts unknown before the read: alone


def test_an_operation_on_a_held_account_waits_and_later_ones_on_it_wait_behind_it():
    claims = InFlight()
    first, second = object(), object()
    assert claims.claim_or_defer(first, item("a", "b", "k1"))
    assert not claims.claim_or_defer(second, item("b", "c", "k2"))  # b is in flight
    assert not claims.claim_or_defer(second, item("c", "d", "k3"))  # c: behind k2
    assert claims.claim_or_defer(second, item("e", "f", "k4"))  # disjoint: goes now
    assert claims.take_deferred(second, fits) == []
    claims.release(first)
    assert [i.op.idempotency_key for i in claims.take_deferred(first, fits)] == ["k2", "k3"]


def test_an_operation_waits_only_behind_something_that_will_end():
    """What waited behind an operation since taken by a round must not wait for nothing: once
    that round is over, its owner's next take finds it (nobody else may be left to)."""
    claims = InFlight()
    first, second = object(), object()
    assert claims.claim_or_defer(first, item("a", "b", "k1"))
    assert not claims.claim_or_defer(second, item("b", "c", "k2"))  # waits for the first round
    claims.release(first)
    assert [i.op.idempotency_key for i in claims.take_deferred(first, fits)] == ["k2"]
    assert claims.claim_or_defer(second, item("c", "d", "k3")) is False  # c: the first round holds it
    claims.release(first)
    assert [i.op.idempotency_key for i in claims.take_deferred(first, fits)] == ["k3"]
    assert not claims.deferred


def test_a_retried_operation_keeps_its_claims_across_the_release():
    claims = InFlight()
    first, second = object(), object()
    retried = item("a", "b", "k1")
    assert claims.claim_or_defer(first, retried)
    claims.release(first, keep=[retried])
    assert not claims.claim_or_defer(second, item("a", "c", "k2"))


def test_a_reversal_runs_alone_and_nothing_overtakes_it():
    claims = InFlight()
    first, second = object(), object()
    assert claims.claim_or_defer(first, item("a", "b", "k1"))
    assert not claims.claim_or_defer(second, reversal("t1", "r1"))
    assert not claims.claim_or_defer(second, item("x", "y", "k2"))  # would overtake it
    claims.release(first)
    taken = claims.take_deferred(second, fits)
    assert [i.op.idempotency_key for i in taken] == ["r1", "k2"]  # one round: nothing else in flight
    assert not claims.claim_or_defer(first, item("p", "q", "k3"))  # none beside it
    claims.release(second)
    assert [i.op.idempotency_key for i in claims.take_deferred(first, fits)] == ["k3"]


def test_what_does_not_fit_waits_first_for_the_next_batch():
    claims = InFlight()
    owner = object()
    claims.wait_first(item("a", "b", "k2"))
    claims.wait_first(item("c", "d", "k1"))
    one = iter([True, False])
    assert [i.op.idempotency_key for i in claims.take_deferred(owner, lambda _i: next(one))] == ["k1"]
    assert [i.op.idempotency_key for i in claims.drain()] == ["k2"]


def test_what_does_not_fit_never_overtakes_an_older_operation_on_its_documents():
    claims = InFlight()
    first, second = object(), object()
    assert claims.claim_or_defer(second, item("x", "y", "k0"))
    assert not claims.claim_or_defer(first, item("x", "z", "k1"))  # waits for the second round
    claims.wait_first(item("x", "w", "k2"))  # did not fit the first's batch: still behind k1
    claims.wait_first(reversal("t1", "r"))  # a reversal: behind everything waiting
    claims.release(second)
    assert [i.op.idempotency_key for i in claims.take_deferred(first, fits)] == ["k1", "k2", "r"]


class OverlapRecordingCommitter:
    """Stands for the committer: records which documents the rounds in flight hold at once."""

    def __init__(self, delay):
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = []
        self.most_at_once = 0
        self.shared = []
        self.stats = Counter()
        self.accounts = {}

    def run(self, ops):
        docs = set().union(*(documents_claimed(op) for op in ops))
        with self.lock:
            for other in self.in_flight:
                self.shared.append(docs & other)
            self.in_flight.append(docs)
            self.most_at_once = max(self.most_at_once, len(self.in_flight))
        time.sleep(self.delay)
        with self.lock:
            self.in_flight.remove(docs)
        return [engine.Outcome(201, body={"key": op.idempotency_key}) for op in ops]


def test_two_rounds_in_flight_never_share_a_document():
    c = OverlapRecordingCommitter(delay=0.02)
    # Small batches over 40 accounts: a batch never holds every account, so the second
    # thread always finds work while the first round is in flight.
    writer = GroupCommitWriter(c, linger_ms=1, pipeline=2, batch_max=5)
    try:
        ops = [transfer(f"u{i % 40}", f"u{(i * 7 + 1) % 40}", 1, f"k{i}") for i in range(300)
               if i % 40 != (i * 7 + 1) % 40]
        results = submit_all(writer, ops)
    finally:
        writer.stop()
    assert [r.body["key"] for r in results] == [op.idempotency_key for op in ops]
    assert c.most_at_once == 2  # the pipeline was used
    assert not any(c.shared)


def test_two_rounds_in_flight_keep_the_books_with_no_conflict():
    """The real committer over the fake, commits slowed down so that rounds overlap; a
    reversal among the transfers; a key sent twice."""
    db = FakeFirestore()
    db.seed_accounts(**{f"u{i}": 1_000 for i in range(12)})
    slow = ledger_store(db, before_commit=lambda *_: time.sleep(0.005))
    c = committer(slow)
    writer = GroupCommitWriter(c, linger_ms=1, pipeline=2)
    try:
        ops = [transfer(f"u{i % 12}", f"u{(i + 1 + i // 12) % 12}", 1 + i % 30, f"k{i}")
               for i in range(240) if i % 12 != (i + 1 + i // 12) % 12]
        first = submit_all(writer, ops)
        original = first[0].body["transfer"]["id"]
        again = submit_all(writer, ops[:20] + [engine.Operation(
            kind="reverse", caller=Caller("adm", "adm"), idempotency_key="rev", request_hash="h",
            reverses=original, memo="oops")])
    finally:
        writer.stop()
    assert {r.status for r in first} <= {201, 409}
    assert [(r.status, r.replayed) for r in again[:20]] == [(r.status, True) for r in first[:20]], \
        [r.status for r in again]
    assert again[-1].status == 201
    assert c.stats["conflicts"] == 0
    assert writer.stats["rounds"] > 0
    check_books(db, 12_000)


def test_stop_answers_what_waits_and_every_round_thread_ends():
    c = OverlapRecordingCommitter(delay=0.05)
    writer = GroupCommitWriter(c, linger_ms=1, pipeline=2)
    futures = [writer.submit_async(transfer("a", "b", 1, f"k{i}")) for i in range(5)]  # one account pair
    writer.stop()
    assert all(f.done() for f in futures)
    assert {f.result().status for f in futures} <= {201, 503}
    assert not any(thread.is_alive() for thread in writer._threads)

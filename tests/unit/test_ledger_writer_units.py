"""The group-commit writer's hooks for the deployment writer, with a stand-in committer (no I/O)."""

from collections import Counter
from types import SimpleNamespace

from server.ledger.engine import Outcome
from server.ledger.writer import GroupCommitWriter


class RecordingCommitter:
    def __init__(self):
        self.accounts = {"a": ({"balance": 1}, None)}
        self.seen = []
        self.stats = Counter()

    def run(self, ops):
        self.seen.append(dict(self.accounts))
        return [Outcome(201, body={"n": op.n}) for op in ops]


def op(n):
    return SimpleNamespace(kind="transfer", from_account="a", to_account="b", idempotency_id=f"k{n}", n=n)


def test_a_new_writer_forgets_its_account_cache_before_its_next_round_not_during_one():
    committer = RecordingCommitter()
    writer = GroupCommitWriter(committer, linger_ms=0)
    try:
        assert writer.submit(op(1)).body == {"n": 1}
        writer.forget_accounts()
        assert committer.accounts  # nothing cleared from the caller's thread
        assert writer.submit_async(op(2)).result(timeout=10).body == {"n": 2}
        assert committer.seen == [{"a": ({"balance": 1}, None)}, {}]
    finally:
        writer.stop()
    assert writer.summary()["queue_wait_seconds"] >= 0


def test_wait_idle_answers_once_every_submitted_operation_is_answered():
    """What a writer that lost its lease waits for before its process may end (remote.py)."""
    import threading

    release = threading.Event()

    class HeldCommitter(RecordingCommitter):
        def run(self, ops):
            release.wait(10)
            return super().run(ops)

    writer = GroupCommitWriter(HeldCommitter(), linger_ms=0)
    try:
        assert writer.wait_idle(0.01)  # nothing submitted
        futures = [writer.submit_async(op(n)) for n in range(3)]
        assert not writer.wait_idle(0.05)  # a round is still running
        release.set()
        assert writer.wait_idle(10)
        assert all(f.done() for f in futures)
    finally:
        writer.stop()


def test_operations_queued_together_are_answered_in_order_and_refused_once_the_writer_stopped():
    """submit_many: the deployment writer's pump queues a whole take at once."""
    from server.ledger.writer import UNAVAILABLE

    committer = RecordingCommitter()
    writer = GroupCommitWriter(committer, linger_ms=0)
    try:
        futures = writer.submit_many([op(n) for n in range(5)])
        assert [f.result(timeout=10).body for f in futures] == [{"n": n} for n in range(5)]
        assert writer.wait_idle(10)
        assert writer.submit_many([]) == []
    finally:
        writer.stop()
    assert [f.result(timeout=1) for f in writer.submit_many([op(7), op(8)])] == [UNAVAILABLE, UNAVAILABLE]


def test_a_round_lingers_for_company_until_its_batch_holds_linger_operations():
    """Fewer commits for a few clients: two queued operations wait (up to the linger) for a third."""
    import time

    committer = RecordingCommitter()
    writer = GroupCommitWriter(committer, linger_ms=10_000, linger_operations=3)
    try:
        first = [writer.submit_async(op(n)) for n in range(2)]
        time.sleep(0.2)  # time enough for a round that did not linger
        assert not committer.seen and not any(f.done() for f in first)
        last = writer.submit_async(op(2))
        assert [f.result(timeout=5).body for f in [*first, last]] == [{"n": n} for n in range(3)]
        assert len(committer.seen) == 1  # one round, one commit
    finally:
        writer.stop()

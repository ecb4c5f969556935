"""Group commit: every ledger write of a process goes through its writer's rounds.

Request threads enqueue an operation and wait. A round takes whatever is
queued (waiting up to LEDGER_LINGER_MS for company while it holds fewer
than LEDGER_LINGER_OPERATIONS: each commit has a fixed cost), bounded so
that one commit stays well under Firestore's write and request-size limits,
runs one optimistic round for the batch (optimistic.OptimisticCommitter:
read without locks, plan, one WriteBatch with preconditions) and answers
every operation that round settled. LEDGER_PIPELINE rounds may be in flight
at once, each in its own thread, while one commit is on the wire the next
batch is read and sent; they never share a document (inflight.py), so a
process never contends with itself. Between processes a race costs the
loser one fast retry, never a lock wait.

Operations that met another writer's commit are retried after a short
random wait (full jitter), together with whatever arrived meanwhile.
Transient datastore errors are retried with a longer exponential backoff.
An operation is answered 503 (nothing of it was written; retry with the same
key) after LEDGER_MAX_ATTEMPTS transient errors, or when conflicts kept it
unsettled for LEDGER_CONFLICT_SECONDS: every conflict means another commit
went through, so the system as a whole always progresses, and a time budget
rather than a count keeps an unlucky operation trying while it is useful.
"""

import json
import logging
import queue
import random
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from google.api_core import exceptions as gexc

from ..datastore import TRANSIENT_ERRORS
from ..kernel.commits import jitter
from ..kernel.errors import UNAVAILABLE_MESSAGE
from ..observability import metrics
from .engine import Outcome, Refusal
from .inflight import InFlight, documents_claimed

log = logging.getLogger(__name__)

MAX_WRITES_PER_COMMIT = 450  # Firebase still advises modest commits; the request limit is 10 MiB
MAX_BYTES_PER_COMMIT = 4 * 1024 * 1024
WRITES_PER_OPERATION = 6  # transfer, 2 postings, audit, reversed original, the key's absent record
BYTES_PER_OPERATION = 6 * 1024  # generous: memos are at most 140 characters

# Worth retrying: contention, a datastore hiccup.
RETRYABLE = TRANSIENT_ERRORS + (gexc.Conflict, gexc.TooManyRequests)

UNAVAILABLE = Outcome(503, error=Refusal(503, "unavailable", UNAVAILABLE_MESSAGE))
INTERNAL = Outcome(500, error=Refusal(500, "internal", "Internal server error."))


def _is_retryable(exc):
    if isinstance(exc, RETRYABLE):
        return True
    # firestore's @transactional reports an aborted commit as ValueError from Aborted.
    return isinstance(exc, ValueError) and isinstance(exc.__cause__, gexc.Aborted)


@dataclass(eq=False)
class _Pending:
    op: object
    docs: object = None  # the documents its round claims (inflight.py)
    future: Future = field(default_factory=Future)
    attempts: int = 0
    transient_errors: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def transient(self):  # a commit of it failed in a way that may have applied it
        return self.transient_errors > 0


class _Bound:
    """What one commit may still take: Firestore's write bound and a request size well under 10 MiB."""

    def __init__(self):
        self.accounts, self.writes, self.operations = set(), 0, 0

    def fits(self, pending, count=True):
        """Whether `pending` fits (the first always does); counts it in if it does and `count`."""
        op = pending.op
        if op.kind == "reverse":
            # Its accounts are known only once the original is read: assume two new ones.
            cost, new_accounts = WRITES_PER_OPERATION + 2, set()
        else:
            new_accounts = {op.from_account, op.to_account} - self.accounts
            cost = WRITES_PER_OPERATION + len(new_accounts)
        if self.operations and (self.writes + cost > MAX_WRITES_PER_COMMIT or
                                (self.operations + 1) * BYTES_PER_OPERATION > MAX_BYTES_PER_COMMIT):
            return False
        if not count:
            return True
        self.writes += cost
        self.accounts |= new_accounts
        self.operations += 1
        return True


class _BatchQueue(queue.Queue):
    """queue.Queue with put_many, through the hook queue.Queue offers subclasses (_put)."""

    def put_many(self, items):
        with self.not_empty:  # the queue's one lock; unbounded: never waits for room
            for item in items:
                self._put(item)
            self.unfinished_tasks += len(items)
            self.not_empty.notify(len(items))


class GroupCommitWriter:
    def __init__(self, committer, batch_max=100, linger_ms=2.0, linger_operations=8, max_attempts=6,
                 backoff_base=0.05, conflict_backoff=0.004, turn_factor=1.0, conflict_seconds=20.0, pipeline=1):
        self.committer = committer
        self.batch_max = batch_max
        self.linger = linger_ms / 1000.0
        self.linger_operations = linger_operations
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.conflict_backoff = conflict_backoff
        self.turn_factor = turn_factor
        self.conflict_seconds = conflict_seconds
        # queue.Queue, not SimpleQueue: with several consumers (the pipeline) a SimpleQueue.get with a
        # timeout can wait for ever once another consumer took the item it woke up for.
        self._queue = _BatchQueue()
        self._stopped = threading.Event()
        self._last_round = 0.0
        self._forget_cache = False
        self.stats = {"rounds": 0, "operations": 0, "retried_operations": 0, "transient_errors": 0,
                      "unavailable": 0, "round_seconds": 0.0, "queue_wait_seconds": 0.0}
        self.inflight = InFlight()
        self._outstanding = 0  # operations queued and not yet answered (wait_idle)
        self._outstanding_lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"ledger-writer-{i}", daemon=True)
                         for i in range(max(1, pipeline))]
        for thread in self._threads:
            thread.start()

    def submit(self, op, timeout=60.0):
        """Blocks until the operation's batch committed (or failed); returns its Outcome."""
        try:
            return self.submit_async(op).result(timeout=timeout)
        except TimeoutError:
            return UNAVAILABLE

    def submit_async(self, op):
        """Queues the operation; a Future of its Outcome."""
        return self.submit_many([op])[0]

    def submit_many(self, ops):
        """Queues the operations in one go (the deployment writer's pump, a take of forwarded ones):
        one lock and one wake-up, where one put each cost the writer's process 5% of its CPU with 4
        processes (bench/RESULTS.md). Futures of their Outcomes, in order."""
        pendings = [_Pending(op, documents_claimed(op)) for op in ops]
        if self._stopped.is_set():
            for pending in pendings:
                metrics.ledger_answered(UNAVAILABLE.status)
                pending.future.set_result(UNAVAILABLE)
        else:
            with self._outstanding_lock:
                self._outstanding += len(pendings)
            for pending in pendings:
                pending.future.add_done_callback(self._answered)
            self._queue.put_many(pendings)
        return [pending.future for pending in pendings]

    def _answered(self, _future):
        with self._outstanding_lock:
            self._outstanding -= 1

    def wait_idle(self, timeout):
        """True once every operation submitted so far has its answer; False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self._outstanding and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._outstanding

    def stop(self, summary=None):
        """Answers what is queued, stops the threads and logs the counters (`summary`: whose)."""
        self._stopped.set()
        self._queue.put(None)
        deadline = time.monotonic() + 10
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for pending in self.inflight.drain():
            self._answer(pending, UNAVAILABLE)
        self._fail_pending()
        self._queue.put(None)  # a thread still in a round past the join stops after it
        counts = (summary or self.summary)()
        if counts.get("rounds") or counts.get("forwarded"):
            log.info("ledger writer: %s", json.dumps(counts, sort_keys=True))

    def expect_replays(self, ops):
        """Operations re-sent after a failover: likely committed already, so their keys are read."""
        mark = getattr(self.committer, "mark_known", None)
        if mark is not None:
            mark(op.idempotency_id for op in ops)

    def forget_accounts(self):
        """Before the next round, drop the committer's account cache (in the writer's own thread,
        never under a round that is using it): another writer may have moved any account."""
        self._forget_cache = True

    def summary(self):
        """Counters of this process's writer, committer and store (the benchmark sums them)."""
        counts = dict(self.stats)
        counts.update(self.committer.stats)
        counts.update(getattr(getattr(self.committer, "store", None), "counts", {}))
        return counts

    # --- the writer thread ------------------------------------------------------

    def _run(self):
        owner = object()  # this thread's rounds, in the in-flight claims
        retry = []
        while True:
            if retry:
                worst = max(retry, key=lambda p: p.attempts)
                time.sleep(jitter(worst.attempts, self.backoff_base if worst.transient else self.conflict_backoff))
                batch = self._collect(owner, retry, wait=False)
            else:
                batch = self._collect(owner, [], wait=True)
                if batch is None:  # _collect left the stop marker for the other rounds' threads
                    break
            try:
                retry = self._round(batch)
            except Exception:  # never let the writer thread die
                log.exception("ledger writer failed a batch")
                retry = []
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_result(INTERNAL)
            self.inflight.release(owner, keep=retry)
            if not retry and getattr(self.committer, "contended", False):
                # Our turn on an account other processes write too is over: leave them a
                # window about one round long (random) before we read it again.
                time.sleep(random.uniform(0, self.turn_factor * self._last_round))
        for pending in retry:
            self._answer(pending, UNAVAILABLE)

    def _collect(self, owner, batch, wait):
        """The next batch, within the commit bounds: `batch` (operations being retried, still
        claimed), then operations that waited for a document, then the queue's. Operations
        whose documents another round holds wait for it (inflight.py). With `wait`, blocks
        until there is one; None once the writer stops and this thread has nothing to do."""
        batch, bound = list(batch), _Bound()
        for pending in batch:
            bound.fits(pending)
        batch += self.inflight.take_deferred(owner, bound.fits)
        deadline = time.monotonic() + self.linger
        while len(batch) < self.batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                if not batch and wait:
                    item = self._queue.get()
                    deadline = time.monotonic() + self.linger
                else:
                    # Linger only while the batch is small: a commit's fixed cost (its RPC, the
                    # thread hand-offs) is shared by fewer operations, and a few closed-loop
                    # clients keep the batches small however the rounds run (bench/RESULTS.md).
                    remaining = deadline - time.monotonic()
                    if not wait or remaining <= 0 or len(batch) >= self.linger_operations:
                        break
                    try:
                        item = self._queue.get(timeout=remaining)
                    except queue.Empty:
                        break
            if item is None:
                self._queue.put(None)  # stop after this batch
                return batch or None
            if not bound.fits(item, count=False):  # never for the first: `batch` is not empty
                self.inflight.wait_first(item)  # the next batch's first
                break
            if self.inflight.claim_or_defer(owner, item):
                bound.fits(item)
                batch.append(item)
        return batch

    def _round(self, batch):
        """One optimistic round; answers what it settled and returns what must be retried."""
        ops = [p.op for p in batch]
        for pending in batch:
            if not pending.attempts:
                metrics.ledger_queued(time.monotonic() - pending.started)
        if self._forget_cache:
            self._forget_cache = False
            getattr(self.committer, "accounts", {}).clear()
        started = time.perf_counter()
        now = time.monotonic()
        self.stats["queue_wait_seconds"] += sum(now - p.started for p in batch if not p.attempts)
        transient = False
        try:
            outcomes = self.committer.run(ops)
        except Exception as exc:
            if not _is_retryable(exc):
                return self._isolate(batch, exc)
            log.warning("ledger batch of %d: %r; retrying", len(ops), exc)
            self.stats["transient_errors"] += 1
            self.committer.forget(ops)
            outcomes, transient = [None] * len(ops), True
        self._last_round = min(0.2, time.perf_counter() - started)
        self.stats["rounds"] += 1
        self.stats["round_seconds"] += self._last_round
        unsettled = outcomes.count(None)
        # Replays of keys assumed new (optimistic.py) are retried too, but met no other writer.
        replays = getattr(self.committer, "replays_found", frozenset)() if unsettled and not transient else ()
        conflicted = bool(unsettled) and not transient and any(
            outcome is None and op.idempotency_id not in replays for op, outcome in zip(ops, outcomes, strict=True))
        metrics.ledger_round(len(ops) - unsettled, conflicts=conflicted)
        retry = []
        for pending, outcome in zip(batch, outcomes, strict=True):
            if outcome is not None:
                if outcome.replayed and pending.transient:
                    # Its own earlier commit may have landed before the error: not a client's replay.
                    outcome = replace(outcome, replayed=False)
                self.stats["operations"] += 1
                self._answer(pending, outcome)
                continue
            pending.attempts += 1
            pending.transient_errors += transient
            if pending.transient_errors >= self.max_attempts or \
                    time.monotonic() - pending.started > self.conflict_seconds:
                log.warning("ledger operation unsettled after %d rounds; answered 503", pending.attempts)
                self.stats["unavailable"] += 1
                self._answer(pending, UNAVAILABLE)
            else:
                self.stats["retried_operations"] += 1
                metrics.ledger_retry("transient" if transient else
                                     "replay" if pending.op.idempotency_id in replays else "conflict")
                retry.append(pending)
        return retry

    @staticmethod
    def _answer(pending, outcome):
        metrics.ledger_answered(outcome.status)
        pending.future.set_result(outcome)

    def _isolate(self, batch, exc):
        """An unexpected error: run each operation alone so one bad request fails alone."""
        if len(batch) == 1:
            log.error("ledger operation failed: %r", exc, exc_info=exc)
            self._answer(batch[0], INTERNAL)
            return []
        retry = []
        for pending in batch:
            retry += self._round([pending])
        return retry

    def _fail_pending(self):
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._answer(item, UNAVAILABLE)


class DirectWriter:
    """The naive baseline: one firebase-admin transaction per request, in the request's thread.

    Kept only so the benchmark can measure what group commit buys
    (LEDGER_MODE=naive); firestore's own retry (5 attempts, no backoff).
    """

    def __init__(self, store, max_attempts=5):
        self.store = store
        self.max_attempts = max_attempts

    def submit(self, op, timeout=60.0):
        try:
            return self.store.run_batch([op], max_attempts=self.max_attempts)[0]
        except Exception as exc:
            if _is_retryable(exc):
                return UNAVAILABLE
            raise

    def stop(self):
        pass

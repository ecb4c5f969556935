"""Group commit: every ledger write of a process goes through one writer thread.

Request threads enqueue an operation and wait. The writer takes whatever is
queued (waiting up to LEDGER_LINGER_MS for company when alone), bounded so
that one commit stays under Firestore's 500-write and 10 MiB limits, runs
the batch as one transaction (store.run_batch), and answers every waiting
request with its own outcome. There is never more than one ledger
transaction in flight per process, so the process never contends with
itself for a hot account document. ABORTED and transient failures are
retried with exponential backoff; after LEDGER_MAX_ATTEMPTS the whole batch
is answered 503 and nothing of it was written.
"""

import logging
import queue
import random
import threading
import time
from concurrent.futures import Future

from google.api_core import exceptions as gexc

from ..errors import DATASTORE_UNAVAILABLE
from .engine import Outcome

log = logging.getLogger(__name__)

MAX_WRITES_PER_COMMIT = 450  # Firestore's bound is 500; keep headroom
MAX_BYTES_PER_COMMIT = 4 * 1024 * 1024  # the request limit is 10 MiB
WRITES_PER_OPERATION = 6  # transfer, 2 postings, audit, idempotency, reversed original
BYTES_PER_OPERATION = 6 * 1024  # generous: memos are at most 140 characters

# Worth retrying: contention, a lost create() race (now a replay), a datastore hiccup.
RETRYABLE = DATASTORE_UNAVAILABLE + (gexc.Conflict, gexc.TooManyRequests)

UNAVAILABLE = Outcome(503, error=(503, "unavailable",
                                  "The datastore is unavailable; retry with the same Idempotency-Key."))
INTERNAL = Outcome(500, error=(500, "internal", "Internal server error."))


def _is_retryable(exc):
    if isinstance(exc, RETRYABLE):
        return True
    # firestore's @transactional reports an aborted commit as ValueError from Aborted.
    return isinstance(exc, ValueError) and isinstance(exc.__cause__, gexc.Aborted)


class GroupCommitWriter:
    def __init__(self, store, batch_max=100, linger_ms=2.0, max_attempts=6, backoff_base=0.05):
        self.store = store
        self.batch_max = batch_max
        self.linger = linger_ms / 1000.0
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self._queue = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()
        self.stats = {"batches": 0, "operations": 0, "retries": 0, "commit_seconds": 0.0}

    def submit(self, op, timeout=60.0):
        """Blocks until the operation's batch committed (or failed); returns its Outcome."""
        if self._stopped.is_set():
            return UNAVAILABLE
        future = Future()
        self._queue.put((op, future))
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            return UNAVAILABLE

    def stop(self):
        self._stopped.set()
        self._queue.put(None)
        self._thread.join(timeout=10)
        stats = self.stats
        if stats["batches"]:
            log.info("ledger writer: %d operations in %d batches (%.1f per batch, %.1f ms per commit), "
                     "%d retries", stats["operations"], stats["batches"], stats["operations"] / stats["batches"],
                     1000 * stats["commit_seconds"] / stats["batches"], stats["retries"])

    # --- the writer thread ------------------------------------------------------

    def _run(self):
        carry = None
        while True:
            item = carry or self._queue.get()
            carry = None
            if item is None:
                break
            batch, carry = self._collect(item)
            try:
                self._commit(batch)
            except Exception:  # never let the writer thread die
                log.exception("ledger writer failed a batch")
                for _op, future in batch:
                    if not future.done():
                        future.set_result(INTERNAL)
        self._fail_pending()

    def _collect(self, first):
        """Drains the queue into one bounded batch; returns (batch, item that did not fit)."""
        batch, accounts = [first], set()
        writes, new_accounts = self._cost(first[0], accounts)
        accounts |= new_accounts
        deadline = time.monotonic() + self.linger
        while len(batch) < self.batch_max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                # Linger only while alone: under load the previous commit gathered company.
                remaining = deadline - time.monotonic()
                if remaining <= 0 or len(batch) > 1:
                    break
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
            if item is None:
                self._queue.put(None)  # stop after this batch
                break
            cost, new_accounts = self._cost(item[0], accounts)
            if writes + cost > MAX_WRITES_PER_COMMIT or \
                    (len(batch) + 1) * BYTES_PER_OPERATION > MAX_BYTES_PER_COMMIT:
                return batch, item
            writes += cost
            accounts |= new_accounts
            batch.append(item)
        return batch, None

    @staticmethod
    def _cost(op, accounts):
        """(writes the operation adds, accounts it adds to the batch)."""
        if op.kind == "reverse":
            # Its accounts are known only once the original is read: assume two new ones.
            return WRITES_PER_OPERATION + 2, set()
        new_accounts = {op.from_account, op.to_account} - accounts
        return WRITES_PER_OPERATION + len(new_accounts), new_accounts

    def _commit(self, batch):
        ops = [op for op, _future in batch]
        for attempt in range(1, self.max_attempts + 1):
            started = time.perf_counter()
            try:
                outcomes = self.store.run_batch(ops)
            except Exception as exc:
                if not _is_retryable(exc):
                    return self._isolate(batch, exc)
                if attempt == self.max_attempts:
                    log.warning("ledger batch of %d failed after %d attempts: %r", len(ops), attempt, exc)
                    for _op, future in batch:
                        future.set_result(UNAVAILABLE)
                    return
                self.stats["retries"] += 1
                time.sleep(min(2.0, self.backoff_base * 2 ** (attempt - 1)) * (0.5 + random.random()))
                continue
            self.stats["batches"] += 1
            self.stats["operations"] += len(ops)
            self.stats["commit_seconds"] += time.perf_counter() - started
            for (_op, future), outcome in zip(batch, outcomes, strict=True):
                future.set_result(outcome)
            return

    def _isolate(self, batch, exc):
        """An unexpected error: run each operation alone so one bad request fails alone."""
        if len(batch) == 1:
            log.error("ledger operation failed: %r", exc, exc_info=exc)
            batch[0][1].set_result(INTERNAL)
            return
        for item in batch:
            self._commit([item])

    def _fail_pending(self):
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[1].set_result(UNAVAILABLE)


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

"""One ledger writer for the whole deployment.

`DeploymentWriter` stands where a process's GroupCommitWriter stood (same
`submit`/`stop`). Every process of the deployment (gunicorn workers, other
instances) that moves money contends for the lease (lease.py); the one
holding it is the writer: it commits its own requests' operations through
its GroupCommitWriter as before, and a pump thread feeds it the operations
every other process hands over through the channel (channel.py), so one
group commit batches across the deployment, its account cache stays exact
(no other writer moves the accounts under it) and commits stop conflicting.

Another process sends its operation and waits for the answer. When the lease
changes hands while it waits (the writer died: kill -9, a crash, or it lost
the lease while stalled), it takes its operation back if no writer took it,
else re-sends it marked `resent`, to go first to the new writer: the
idempotency key makes a second run of an operation the dead writer may have
committed a replay, answered as the first answer (`replayed` is cleared for
a re-sent operation, as the writer does after a transient error). So a
client sees a slower answer, not an error, while the failover takes less than
LEDGER_CONFLICT_SECONDS.

Contending starts with a process's first ledger operation, so a CLI command or
a process that never moves money never becomes the writer.
"""

import logging
import queue
import threading
import time
from dataclasses import replace

import redis

from .channel import Channel, decode_op, encode_op
from .lease import LeaseKeeper
from .writer import MAX_WRITES_PER_COMMIT, UNAVAILABLE, WRITES_PER_OPERATION

log = logging.getLogger(__name__)

CHANNEL_SCHEMES = ("redis://", "rediss://", "unix://")


def channel_url(config):
    """The redis of the writer's channel (LEDGER_CHANNEL_URI, else the rate limits' store), or None."""
    url = config.get("LEDGER_CHANNEL_URI") or config.get("RATELIMIT_STORAGE_URI") or ""
    return url if url.startswith(CHANNEL_SCHEMES) else None


class DeploymentWriter:
    def __init__(self, local, url, prefix, lease_seconds=3.0, conflict_seconds=20.0, take_max=None, role=None):
        self.local = local  # this process's GroupCommitWriter: commits while this process is the writer
        self.lease_seconds = lease_seconds
        self.conflict_seconds = conflict_seconds
        self.take_max = take_max or MAX_WRITES_PER_COMMIT // WRITES_PER_OPERATION
        # Sockets wait a little longer than any blocking command asks the server to.
        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=lease_seconds + 10,
                                           health_check_interval=30)
        self.channel = Channel(self.client, prefix)
        self.role = role  # kernel/roles.py: the front gives HTTP up in the writer's process (or not)
        self._role_lock = threading.Lock()
        self.keeper = LeaseKeeper(self.client, prefix, lease_seconds, on_gain=self._gained, on_loss=self._lost)
        self.stats = {"forwarded": 0, "resent": 0, "withdrawn": 0, "served": 0, "channel_wait_seconds": 0.0,
                      "forward_unavailable": 0, "takes": 0}
        self._start_lock = threading.Lock()
        self._started = False
        self._stopped = threading.Event()
        self._replies = queue.SimpleQueue()
        self._threads = []

    # --- every process ------------------------------------------------------------

    def _ensure_started(self):
        if self._started:
            return
        with self._start_lock:
            if self._started:
                return
            try:
                self.keeper.start()
            except redis.RedisError as exc:  # the thread keeps trying
                log.warning("ledger lease: %r", exc)
            for target, name in ((self._pump, "ledger-pump"), (self._answer_loop, "ledger-replies")):
                thread = threading.Thread(target=target, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)
            self._started = True

    def submit(self, op, timeout=60.0):
        self._ensure_started()
        if self._stopped.is_set():
            return UNAVAILABLE
        if self.keeper.held():
            return self.local.submit(op, timeout)
        try:
            return self._forward(op)
        except redis.RedisError as exc:
            log.warning("ledger operation not handed to the writer: %r", exc)
            self.stats["forward_unavailable"] += 1
            return UNAVAILABLE

    def _forward(self, op):
        reply_id = self.channel.new_reply_id()
        payload = encode_op(op, reply_id)
        epoch = self.keeper.epoch
        self.stats["forwarded"] += 1
        resent = False
        # The writer itself answers 503 after LEDGER_CONFLICT_SECONDS; wait a little longer than that.
        deadline = time.monotonic() + self.conflict_seconds + self.lease_seconds + 5
        outcome = self.channel.send(payload, reply_id, self.lease_seconds / 2)  # one round trip
        while outcome is None:
            if time.monotonic() >= deadline:
                self.stats["forward_unavailable"] += 1
                log.warning("ledger operation unanswered by the writer; answered 503")
                return UNAVAILABLE
            if self.keeper.epoch != epoch:
                # A new writer: what the old one took and did not answer goes to the new one, first.
                epoch = self.keeper.epoch
                if self.channel.withdraw(payload):
                    self.stats["withdrawn"] += 1
                else:
                    resent = True
                    payload = encode_op(op, reply_id, resent=True)
                    self.stats["resent"] += 1
                self.channel.send_first(payload)
                deadline = time.monotonic() + self.conflict_seconds + self.lease_seconds + 5
            outcome = self.channel.wait_reply(reply_id, min(self.lease_seconds / 2, deadline - time.monotonic()))
        # A re-sent operation the dead writer committed comes back as a replay: not the client's.
        return replace(outcome, replayed=False) if resent and outcome.replayed else outcome

    # --- the writer ---------------------------------------------------------------------

    def _gained(self, _epoch):
        # Another writer may have moved any account since this process last wrote it.
        self.local.forget_accounts()
        if self.role is not None:
            with self._role_lock:
                self.role.gained()

    def _lost(self):
        if self.role is not None:  # not from the lease's thread: it must keep renewing meanwhile
            threading.Thread(target=self._give_role_back, name="ledger-role", daemon=True).start()

    def _give_role_back(self):
        """Once the local group commit has settled what this process took as the writer (the pump
        takes nothing more while the lease is not held; the answers still queued are sent by stop()),
        unless it holds the lease again by then: the front may end this process only then."""
        self.local.wait_idle(self.conflict_seconds)
        with self._role_lock:  # never "lost" after a gain that came in between
            if not self.keeper.held():
                self.role.lost()

    def _pump(self):
        """While this process holds the lease: forwarded operations into the local group commit."""
        while not self._stopped.is_set():
            if not self.keeper.held():
                self.keeper.wait_for_change(self.keeper.epoch, self.lease_seconds / 3)
                continue
            try:
                payloads = self.channel.take(min(0.5, self.lease_seconds / 3), self.take_max)
            except redis.RedisError as exc:
                log.warning("ledger channel: %r", exc)
                self._stopped.wait(0.2)
                continue
            if not payloads:
                continue
            self.stats["takes"] += 1
            taken = [decode_op(payload) for payload in payloads]
            for _op, _reply_id, waited, resent in taken:
                self.stats["served"] += 1
                self.stats["channel_wait_seconds"] += waited
                self.stats["resent_served"] = self.stats.get("resent_served", 0) + resent
            self.local.expect_replays([op for op, _reply_id, _waited, resent in taken if resent])
            futures = self.local.submit_many([op for op, *_rest in taken])
            for (_op, reply_id, *_rest), future in zip(taken, futures, strict=True):
                future.add_done_callback(lambda f, r=reply_id: self._replies.put((r, f.result())))

    def _answer_loop(self):
        while True:
            item = self._replies.get()
            if item is None:
                return
            batch = [item]
            while True:
                try:
                    more = self._replies.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._replies.put(None)
                    break
                batch.append(more)
            try:
                self.channel.answer(batch)
            except redis.RedisError as exc:  # the senders re-send when a new writer comes
                log.warning("ledger answers lost: %r", exc)
            except Exception:  # never let the thread die: every later answer would be lost too
                log.exception("ledger answers could not be encoded")

    # --- both -----------------------------------------------------------------------------

    def summary(self):
        counts = self.local.summary()
        counts.update(self.stats)
        counts.update(self.keeper.stats)
        return counts

    def stop(self):
        """Hands the lease back, answers what was taken, stops the threads."""
        self._stopped.set()
        self.keeper.stop()
        for thread in self._threads[:1]:  # the pump: nothing more is taken after this
            thread.join(timeout=5)
        self.local.stop(summary=self.summary)
        self._replies.put(None)
        for thread in self._threads[1:]:
            thread.join(timeout=5)
        self.client.close()

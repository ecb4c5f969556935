"""The ledger writer's lease: one process of the deployment holds it at a time.

A redis key `{prefix}:lease` holds the holder's token with an expiry of
LEDGER_LEASE_SECONDS; `{prefix}:epoch` counts acquisitions (the fencing token:
a new holder always has a higher epoch than every holder before it). One Lua
script takes a free lease (SET NX PX + INCR) or renews one already held
(PEXPIRE), atomically, so there is no window between "is it free?" and "take
it". Every contending process runs `LeaseKeeper`'s thread: the holder renews
every third of the lease, the others try to take it just as often, so a dead
holder is replaced within about 1.3 leases.

The lease is an optimisation, never a guarantee: a holder that stalls past
its expiry (a long GC pause, a frozen VM) may still commit after another took
over. Every commit keeps its Firestore preconditions (optimistic.py), so two
writers at once only conflict; `held()` is local and pessimistic (it ends a
tenth of a lease before redis would expire the key) so the overlap is rare.
"""

import logging
import os
import socket
import threading
import time
import uuid

import redis

log = logging.getLogger(__name__)

# KEYS: lease, epoch; ARGV: token, ttl ms -> {held (0/1), epoch, holder token}
ACQUIRE_OR_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0'), holder}
end
if holder then
  return {0, tonumber(redis.call('GET', KEYS[2]) or '0'), holder}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, redis.call('INCR', KEYS[2]), ARGV[1]}
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def new_token():
    """host:pid:random: unique, and it says which process holds the lease (tests kill it by pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def pid_of(token):
    return int(token.split(":")[-2])


class LeaseKeeper:
    """Contends for the lease in a thread; on_gain(epoch) and on_loss() run in that thread."""

    def __init__(self, client: redis.Redis, prefix, seconds=3.0, on_gain=None, on_loss=None):
        self.client = client
        self.key, self.epoch_key = f"{prefix}:lease", f"{prefix}:epoch"
        self.seconds = seconds
        self.token = new_token()
        self.on_gain, self.on_loss = on_gain, on_loss
        self.epoch = 0  # the newest epoch this process has seen
        self.holder = None  # the newest holder token this process has seen
        self._held_until = 0.0
        self._holding = False
        self._script = client.register_script(ACQUIRE_OR_RENEW)
        self._release = client.register_script(RELEASE)
        self._stopped = threading.Event()
        self._changed = threading.Condition()
        self._thread = None
        self.stats = {"lease_gains": 0, "lease_losses": 0}

    def start(self):
        """One attempt now (so a lone process writes at once), then the contending thread."""
        self.tick()
        self._thread = threading.Thread(target=self._run, name="ledger-lease", daemon=True)
        self._thread.start()

    def held(self):
        return time.monotonic() < self._held_until

    def tick(self):
        """One acquire-or-renew; updates what this process knows of the lease."""
        started = time.monotonic()
        try:
            held, epoch, holder = self._script(keys=[self.key, self.epoch_key],
                                               args=[self.token, int(self.seconds * 1000)])
        except redis.RedisError as exc:
            log.warning("ledger lease: %r", exc)
            if self._holding and self.held():
                return  # one failed renewal is no loss yet: held() ends by itself, the next tick decides
            held, epoch, holder = 0, self.epoch, self.holder
        if held:
            # Counted from before the call: redis started the expiry later than that.
            self._held_until = started + 0.9 * self.seconds
        with self._changed:
            self.epoch, self.holder = int(epoch), holder.decode() if isinstance(holder, bytes) else holder
            self._changed.notify_all()
        if held and not self._holding:
            self._holding = True
            self.stats["lease_gains"] += 1
            log.info("ledger lease: this process (%s) took it, epoch %s", self.token, self.epoch)
            if self.on_gain:
                self.on_gain(self.epoch)
        elif not held and self._holding:
            self._holding = False
            self._held_until = 0.0
            self.stats["lease_losses"] += 1
            log.warning("ledger lease: this process lost it (now %s, epoch %s)", self.holder, self.epoch)
            if self.on_loss:
                self.on_loss()

    def wait_for_change(self, epoch, timeout):
        """Blocks until an epoch other than `epoch` is seen, or `timeout`; returns the current epoch."""
        with self._changed:
            self._changed.wait_for(lambda: self.epoch != epoch, timeout=timeout)
            return self.epoch

    def _run(self):
        while not self._stopped.wait(self.seconds / 3):
            self.tick()

    def stop(self):
        """Stops contending and hands the lease back at once, so another process need not wait out its expiry."""
        self._stopped.set()
        if self._thread:
            self._thread.join(timeout=5)
        if self._holding:
            self._held_until = 0.0
            self._holding = False
            try:
                self._release(keys=[self.key], args=[self.token])
            except redis.RedisError as exc:
                log.warning("ledger lease not released: %r", exc)

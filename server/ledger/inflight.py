"""Which documents the rounds now in flight hold, so that concurrent rounds never share one.

The group-commit writer (writer.py) may run several rounds at once (its
`pipeline`): while one commit is on the wire the next batch is read, planned
and sent. Two rounds in flight must never touch the same document, or the
second would meet the first's commit as a conflict (and take it for another
writer). So each operation claims, before its round, the documents it names:
its key's records and the two accounts it moves (computed once, when it is
submitted: `documents_claimed`, kept as the queued item's `docs`). An
operation whose documents another round holds waits in `deferred` until that
round is over; a later operation on a document a waiting one needs waits
behind it. Order: a request answered before another is sent is always
applied before it; two requests in the queue at the same moment (which no
client can order) may be taken by two threads in either order.

A reversal names its accounts only once the transfer it reverses is read, so
it runs alone: it waits until no other round is in flight, and no other round
starts while it is.

Pure bookkeeping under one lock: no I/O, no waiting (writer.py waits).
"""

import threading
from collections import Counter, deque

from ..kernel.collections import ACCOUNTS
from . import engine


def documents_claimed(op):
    """The documents an operation's round holds; None for one that must run alone (a reversal)."""
    if op.kind == "reverse":
        return None
    docs = set(engine.documents_of(op))
    docs.update((ACCOUNTS, a) for a in (op.from_account, op.to_account) if a)
    return docs


EVERYTHING = ("*", "*")  # what a waiting reversal blocks: nothing else may start before it


class InFlight:
    """Claims of the rounds in flight, each round an `owner`; the items are the writer's queued
    operations, each with its `docs`. Every method holds the one lock throughout, and an
    operation waits only behind a round in flight (whose thread, its round over, takes what
    waited in its next collection: writer.py) or behind an older waiting operation: nothing
    waits for nothing."""

    def __init__(self):
        self.lock = threading.Lock()
        self.holder = {}  # document -> the owner holding it
        self.held = {}  # owner -> documents it holds
        self.alone = None  # the owner running a reversal, during which nothing else starts
        self.deferred = deque()  # operations that found a document held, in arrival order
        self.waiting = Counter()  # documents of the deferred operations

    def claim_or_defer(self, owner, item):
        """Claims `item`'s documents for `owner`, or queues it in `deferred` when a document
        is held by another round or needed by an operation waiting before it. True if claimed."""
        with self.lock:
            if self._free(owner, item, self.waiting):
                self._hold(owner, item)
                return True
            self._wait(item)
            return False

    def take_deferred(self, owner, fits):
        """The waiting operations that `owner` may now claim, oldest first, while `fits(item)`
        (the commit's bound, counting each in) says they fit."""
        taken, full = [], False
        with self.lock:
            waiting, self.deferred, self.waiting = self.deferred, deque(), Counter()
            for item in waiting:
                if not full and self._free(owner, item, self.waiting):
                    full = not fits(item)
                    if not full:
                        self._hold(owner, item)
                        taken.append(item)
                        continue
                self._wait(item)
        return taken

    def wait_first(self, item):
        """An operation that did not fit in its round's batch: the first to wait for the next,
        unless an older waiting operation shares a document with it (then behind that one)."""
        with self.lock:
            docs = self._docs(item)
            if any(self.waiting[doc] for doc in docs) or (item.docs is None and self.deferred):
                self._wait(item)
                return
            self.deferred.appendleft(item)
            self.waiting.update(docs)

    def release(self, owner, keep=()):
        """The round is over: frees its documents but those of `keep` (operations it retries)."""
        with self.lock:
            for doc in self.held.pop(owner, ()):
                if self.holder.get(doc) == owner:
                    del self.holder[doc]
            if self.alone == owner:
                self.alone = None
            for item in keep:
                self._hold(owner, item)

    def drain(self):
        """Every waiting operation (at stop)."""
        with self.lock:
            items, self.deferred, self.waiting = list(self.deferred), deque(), Counter()
        return items

    def _free(self, owner, item, waiting):
        if self.alone not in (None, owner) or waiting[EVERYTHING]:
            return False
        docs = item.docs
        if docs is None:  # a reversal: alone, and after everything waiting before it
            return not +waiting and all(other == owner for other in self.held)
        return not any(waiting[doc] for doc in docs) and \
            all(self.holder.get(doc, owner) == owner for doc in docs)

    def _hold(self, owner, item):
        docs = item.docs
        if docs is None:
            self.alone = owner
            docs = ()
        for doc in docs:
            self.holder[doc] = owner
        self.held.setdefault(owner, set()).update(docs)

    def _wait(self, item):
        self.deferred.append(item)
        self.waiting.update(self._docs(item))

    @staticmethod
    def _docs(item):
        return item.docs if item.docs is not None else (EVERYTHING,)

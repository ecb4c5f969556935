"""One committer per conversation per process, batching whatever queued up meanwhile.

Every send of a conversation queues in that conversation's lane. When the
lane is idle, the sender becomes its committer: it takes everything queued
(its own message first, at most `batch_max`), commits it with one call of
`commit(key, items)` and answers every waiting sender. If more arrived
during the commit, the committer hands the lane to the oldest waiting
sender, whose message is at the head of the next batch, and returns: no
request commits more than one batch, and there are no background threads.

So a process never has two commits of one conversation in flight (it never
contends with itself), while other conversations go on in parallel.
"""

import threading
from dataclasses import dataclass, field


@dataclass
class _Ticket:
    item: object
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to commit the next batch rather than with a result
    result: object = None
    error: BaseException | None = None


@dataclass
class _Lane:
    waiting: list = field(default_factory=list)
    busy: bool = False


class Funnel:
    def __init__(self, commit, batch_max=50):
        self._commit = commit
        self.batch_max = batch_max
        self._lock = threading.Lock()
        self._lanes = {}
        self.stats = {"commits": 0, "items": 0}

    def submit(self, key, item):
        """Blocks until `item` was committed; returns its result or raises its error."""
        ticket = _Ticket(item)
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            lane.waiting.append(ticket)
            leads = not lane.busy
            lane.busy = True
        while not leads:
            ticket.done.wait()
            if not ticket.lead:
                break
            ticket.lead, leads = False, True
            ticket.done.clear()
        if leads:
            self._run_batch(key, lane)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result

    def _run_batch(self, key, lane):
        with self._lock:
            batch = lane.waiting[:self.batch_max]
            del lane.waiting[:self.batch_max]
        try:
            results = self._commit(key, [t.item for t in batch])
        except BaseException as exc:  # every waiter learns the batch's fate
            for ticket in batch:
                ticket.error = exc
        else:
            self.stats["commits"] += 1
            self.stats["items"] += len(batch)
            for ticket, result in zip(batch, results, strict=True):
                ticket.result = result
        with self._lock:
            if lane.waiting:
                successor = lane.waiting[0]
                successor.lead = True
                successor.done.set()
            else:
                lane.busy = False
                del self._lanes[key]
        for ticket in batch:
            ticket.done.set()

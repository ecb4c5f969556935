"""What a guarded commit is made of, with no Firestore in it.

The product's one way of changing documents (server/datastore.py runs it):
read the documents with their update times in one round trip, decide with
pure rules, commit one batch in which every created document must not exist
and every updated or deleted document that was read must still carry the
update time it was read at. A commit that loses such a race raises LostRace
and nothing of it is written; `guarded` reads again and decides again after
a full-jitter wait, until its RetryBudget is spent.

Keys are (collection, document id); a collection may be a path such as
`conversations/{id}/messages`.
"""

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .errors import unavailable

METHODS = ("create", "update", "set", "delete", "absent")


class LostRace(Exception):
    """A commit's precondition failed: another writer changed, created or deleted one of its
    documents since our read. Nothing of the commit was written."""


@dataclass(frozen=True, slots=True)
class ReadDoc:
    """A document as read: its data (None when missing) and its update time (None when missing)."""

    data: dict | None
    update_time: Any = None

    @property
    def exists(self):
        return self.data is not None


MISSING = ReadDoc(None, None)


@dataclass(frozen=True, slots=True)
class Write:
    """One write of a commit. create: the document must not exist; update / delete of a
    document that was read: it must still have the update time read; set: no precondition;
    absent: writes nothing, the commit only requires that the document does not exist
    (a delete with an exists=false precondition), so a decision taken on a document
    assumed missing, never read, holds only if it really is."""

    method: str
    collection: str
    doc_id: str
    data: dict | None = None

    @property
    def key(self):
        return (self.collection, self.doc_id)


@dataclass
class Plan:
    """What `decide` returns: the writes to commit together and the caller's result.

    `refusal`, when set, is raised once the writes committed (a refusal that leaves a
    record, e.g. the audit event of a failed password check). `reads` holds documents
    `decide` read itself once it knew their keys (e.g. a post's photos): their update
    times guard the writes to them like those of the documents read first."""

    writes: list = field(default_factory=list)
    result: Any = None
    refusal: Exception | None = None
    reads: dict = field(default_factory=dict)


def jitter(attempt, base, cap=1.0):
    """Full jitter: a random wait up to base * 2^(attempt-1), so racing processes fall out of step."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class RetryBudget:
    """How long a lost race is retried: at most `attempts` commits, `base`/`cap` for the jitter.

    `exhausted()` is the error once it is spent (503 unavailable unless told otherwise)."""

    attempts: int = 10
    base: float = 0.01
    cap: float = 0.5
    message: str = "The data kept changing; try again."
    exhausted_error: Any = None

    def exhausted(self):
        return self.exhausted_error() if self.exhausted_error else unavailable(self.message)


def guarded(read, commit, keys, decide, budget: RetryBudget, stats=None, sleep=time.sleep):
    """Reads `keys` (read(keys) -> {key: ReadDoc}), plans with decide(docs) -> Plan, commits
    the plan's writes (commit(writes, docs), raising LostRace); retries lost races with full
    jitter until `budget` is spent, then raises budget.exhausted(). Returns plan.result.

    `stats`, a Counter when given, counts "commits" and "lost_races"."""
    stats = Counter() if stats is None else stats
    for attempt in range(1, budget.attempts + 1):
        docs = read(keys)
        plan = decide(docs)
        if plan.writes:
            try:
                commit(plan.writes, {**docs, **plan.reads} if plan.reads else docs)
                stats["commits"] += 1
            except LostRace:
                stats["lost_races"] += 1
                if attempt < budget.attempts:
                    sleep(jitter(attempt, budget.base, budget.cap))
                continue
        if plan.refusal is not None:
            raise plan.refusal
        return plan.result
    raise budget.exhausted()

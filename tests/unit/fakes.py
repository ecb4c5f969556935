"""The one in-memory Firestore of the unit tests: the guarded commit's preconditions, enforced.

FakeDatastore has the Datastore interface the stores' write paths use
(read, commit, guarded): documents carry an update time; a commit applies
atomically only when every precondition holds, as Firestore does (create: the
document must not exist; update / delete of a document that was read: the
update time as read; update: the document exists), else it raises LostRace and
writes nothing. `process()` gives another server process over the same
documents, optionally with a hook run just before each of its commits (to
slip a rival write in).
"""

import itertools
import threading
from collections import Counter

from server.kernel.commits import MISSING, LostRace, ReadDoc, guarded


class FakeDatastore:
    client = None  # no Firestore client: LedgerStore(..., fast_writes=False) never touches it

    def __init__(self):
        self.docs = {}  # (collection, id) -> ReadDoc
        self.clock = itertools.count(1)
        self.lock = threading.Lock()
        self.before_commit = None
        self.counts = Counter()

    def process(self, before_commit=None):
        """Another process over the same documents."""
        other = FakeDatastore.__new__(FakeDatastore)
        other.__dict__.update(self.__dict__)
        other.before_commit, other.counts = before_commit, Counter()
        return other

    def put(self, collection, doc_id, data):
        """Seeds a document (outside any commit)."""
        with self.lock:
            self.docs[(collection, doc_id)] = ReadDoc(dict(data), next(self.clock))

    def get(self, collection, doc_id):
        return self.docs.get((collection, doc_id), MISSING).data

    def in_collection(self, collection):
        return {doc_id: read.data for (c, doc_id), read in self.docs.items() if c == collection}

    # --- the Datastore interface ---------------------------------------------------------

    def read(self, keys, transaction=None):
        keys = list(dict.fromkeys(keys))
        with self.lock:
            return {key: self.docs.get(key, MISSING) for key in keys}

    def commit(self, writes, docs, add=None, send=None, new_batch=None):
        if self.before_commit:
            self.before_commit()
        with self.lock:
            for write in writes:
                current = self.docs.get(write.key)
                read = docs.get(write.key)
                if write.method in ("create", "absent") and current is not None:
                    raise LostRace(f"{write.key} exists")
                if write.method == "update" and current is None:
                    raise LostRace(f"{write.key} is gone")
                if write.method in ("update", "delete") and read is not None and read.update_time is not None \
                        and (current is None or current.update_time != read.update_time):
                    raise LostRace(f"{write.key} changed")
            stamp = next(self.clock)
            for write in writes:
                if write.method in ("delete", "absent"):  # absent: a delete of a missing document
                    self.docs.pop(write.key, None)
                    continue
                base = dict(self.docs[write.key].data) if write.method == "update" else {}
                base.update(write.data)
                self.docs[write.key] = ReadDoc(base, stamp)
        self.counts.update(commits=1, writes=len(writes))
        return {write.key: stamp for write in writes}

    def guarded(self, keys, decide, budget, stats=None):
        return guarded(self.read, self.commit, keys, decide, budget, stats, sleep=lambda _seconds: None)

"""One round of optimistic group commit: read without locks, plan, commit with preconditions.

`OptimisticCommitter.run(ops)` is called by the writer thread (writer.py)
with a batch of operations. It reads the documents the batch depends on in
one `get_all` round trip outside any transaction (accounts this process
holds fresh in its cache are not read again, and a key's two records are
assumed missing: the plan creates one with exists=false and names the other
in an absent write, so the commit fails if either exists; a key this process
committed or read is answered from the records it kept, or read when it
kept none), plans the batch with the pure
rules (engine.plan_batch) and commits ONE WriteBatch in which every created
document carries exists=false and every updated document the update time it
was read at. Firestore applies such a batch atomically or not at all and
takes no lock, so two processes never wait for each other: the loser of a
race gets LostRace (FAILED_PRECONDITION / ALREADY_EXISTS) at once. This is the
guarded commit of kernel/commits.py and Datastore.commit, kept as its own loop
for the batching: many operations, one read, one commit.

On such a conflict the batch's documents are read again (one round trip);
those whose update time moved tell which operations met another writer.
The others, the batch's clean part, are re-planned on the fresh documents
and committed at once; the contended ones come back as None and the writer
retries them, with jitter, together with whatever arrived meanwhile (reading
the accounts again just before, so the window in which another commit can
slip in stays one read and one commit long).

The account cache: while this process is the only writer it has seen, the
accounts it committed last are exact (their update times come back from the
commit), so a batch reads only the keys' records and any account new to it.
Once a conflict shows another process writing accounts, the cache is not
trusted for `shared_seconds` and every batch reads its accounts (in the same
round trip as the keys): with several writers a stale cache would turn most
commits into conflicts. While other writers are about, the writer pauses
briefly after each successful round (writer.py), so processes contending for
the same accounts take turns instead of the fastest one starving the others.
An account that keeps conflicting is "hot": operations on it commit apart
from the rest of their batch, so the rest is never dragged into its retries.

Why the guarantees hold without a transaction: every decision rests on
documents the commit names with a precondition (the accounts debited or
credited, an account whose balance refused a transfer, a transfer being
reversed), or on documents that never change once written (transfers as
idempotency records, refusal records); postings `{account}_{seq}`,
transfers `{sha256(caller, key)}` and refusal records are created with
exists=false, so a hash chain cannot fork and a key moves money at most once
whichever process runs it.
"""

import threading
import time
from collections import Counter
from typing import NamedTuple

from ..kernel.cache import BoundedCache
from ..kernel.clock import utcnow
from ..kernel.collections import ACCOUNTS, TRANSFERS
from ..kernel.commits import MISSING, LostRace, ReadDoc
from ..kernel.ids import new_id
from . import engine


class OptimisticCommitter:
    def __init__(self, store, split=True, cache=True, shared_seconds=30.0, cache_max=100_000,
                 hot_conflicts=3, hot_seconds=2.0, known_keys_max=20_000,
                 clock=time.monotonic, now=utcnow, make_id=new_id):
        self.store = store
        self.split = split
        self.cache = cache
        # Idempotency id -> its two records as this process committed or read them ({key: ReadDoc}),
        # or True where they may exist and must be read (met in a conflict, an unsettled commit).
        self.known_keys = BoundedCache(known_keys_max)
        self.shared_seconds = shared_seconds
        self.cache_max = cache_max
        self.clock, self.now, self.make_id = clock, now, make_id
        self.accounts = BoundedCache(cache_max)  # account id -> ReadDoc as this process last saw it
        self.others_until = 0.0  # clock time until which another writer is assumed: no cache trust
        self.hot_conflicts, self.hot_seconds = hot_conflicts, hot_seconds
        self.heat = BoundedCache(cache_max)  # account id -> _Heat of recent conflicts on it
        self.contended = False  # were other writers about in the last round?
        self._round = threading.local()  # per round thread: the keys whose records its last run met
        self.stats = Counter()

    # --- reads -------------------------------------------------------------------

    def _trusted(self, account_id, now):
        return self.cache and now >= self.others_until and account_id in self.accounts

    def _hot(self, account_id, now):
        heat = self.heat.get(account_id, _COLD)
        return heat.count >= self.hot_conflicts and now - heat.last < self.hot_seconds

    def _gather(self, keys, now, given):
        """{key: ReadDoc} of `keys`: accounts from the trusted cache, key records `given`, the rest in one read."""
        found, wanted = {}, []
        for key in keys:
            collection, doc_id = key
            cached = given.get(key)
            if cached is None and collection == ACCOUNTS and self._trusted(doc_id, now):
                cached = self.accounts.get(doc_id)
            if cached is not None:
                found[key] = cached
            else:
                wanted.append(key)
        fresh = self.store.read(wanted)
        self._remember(fresh)
        found.update(fresh)
        return found

    def _remember(self, docs):
        for (collection, doc_id), read in docs.items():
            if collection == ACCOUNTS and read.exists:
                self.accounts[doc_id] = read

    def _key_records_given(self, ops):
        """{key: ReadDoc} of the key records not read. A new key's are assumed missing: a key is
        new almost always (a replay is a client's retry), and the commit checks it (the plan's
        create or absent write of each). A key this process committed or read is answered from
        the records it kept: a replay's answer rests only on what never changes once written
        (the request hash, the first response; engine._replay), and records are never deleted
        but for a refusal's past its expiry, when it is read again. Neither for a transfer being
        reversed (its absence would answer 404 unchecked, its status is about to change), nor for
        a key whose records may exist unseen (True in known_keys): those are read."""
        reversed_ids = {op.reverses for op in ops if op.kind == "reverse"}
        given, now = {}, self.now()
        for op in ops:
            if op.idempotency_id in reversed_ids:
                continue
            kept = self.known_keys.get(op.idempotency_id)
            if kept is None:
                given.update(dict.fromkeys(engine.key_records(op), MISSING))
            elif kept is not True and not _expired(kept, now):
                given.update(kept)
        return given

    def _keep_records(self, ops, view):
        """Keeps each key's records as `view` holds them, settled: read, or checked by the commit."""
        for op in ops:
            keys = engine.key_records(op)
            self.known_keys[op.idempotency_id] = {key: view[key] for key in keys}

    def mark_known(self, key_ids):
        """These keys' records are read from now on (e.g. operations re-sent after a failover)."""
        for key_id in key_ids:
            self.known_keys[key_id] = True

    def _read(self, ops):
        """{(collection, id): ReadDoc} of everything the batch depends on (engine.read_set)."""
        now = self.clock()
        given = self._key_records_given(ops)
        view = engine.read_set(ops, lambda keys: self._gather(keys, now, given))
        # With other writers about, every writer pauses after its turn (writer.py): the one
        # that happens to be fastest must not take every turn and starve the others.
        self.contended = now < self.others_until
        return view

    def forget(self, ops):
        """Drops cached accounts of a batch whose commit may or may not have happened; its keys
        are read from now on (their records may exist)."""
        for account_id in engine.accounts_needed(ops, {}):
            self.accounts.pop(account_id, None)
        self.mark_known(op.idempotency_id for op in ops)

    # --- one round -----------------------------------------------------------------

    def run(self, ops):
        """Outcomes of `ops`, with None for each operation that met another writer or, assumed
        new, a record of its key (retry it; replays_found() tells which)."""
        self._round.found = set()
        self.store.ensure_treasury_for(ops)
        view = self._read(ops)
        now = self.clock()
        hot = [i for i, op in enumerate(ops)
               if any(self._hot(a, now) for c, a in _keys_of(op, view) if c == ACCOUNTS)]
        if self.split and 0 < len(hot) < len(ops):
            return self._hot_apart(ops, view, hot)
        try:
            return self._plan_and_commit(ops, view)
        except LostRace:
            pass
        fresh, changed = self._who_changed(ops, view)
        if any(c == ACCOUNTS for c, _i in changed):
            self.others_until = self.clock() + self.shared_seconds
        self._heat_up({doc_id for c, doc_id in changed if c == ACCOUNTS})
        outcomes = [None] * len(ops)
        clean = [i for i, op in enumerate(ops) if not changed & _keys_of(op, fresh)]
        if not self.split or not changed or not clean or len(clean) == len(ops):
            return outcomes
        try:
            done = self._plan_and_commit([ops[i] for i in clean], fresh)
        except LostRace:
            self.stats["conflicts"] += 1
            return outcomes
        self.stats["split_commits"] += 1
        for i, outcome in zip(clean, done, strict=True):
            outcomes[i] = outcome
        return outcomes

    def _who_changed(self, ops, view):
        """After a lost race: `view`'s documents read again (one round trip), and which changed.
        A key's record found where it was assumed missing is a replay, not another writer: it
        is counted apart, and the key is read from now on."""
        fresh = self.store.read(list(view))
        self._remember(fresh)
        changed = {key for key in view if fresh[key].update_time != view[key].update_time}
        key_ids = {op.idempotency_id for op in ops}
        found = {(c, doc_id) for c, doc_id in changed if c in engine.KEY_RECORDS and doc_id in key_ids}
        self.stats["replays_found" if changed and found == changed else "conflicts"] += 1
        records = {doc_id for _c, doc_id in found}
        self.mark_known(records)
        self._round.found |= records
        return fresh, changed

    def replays_found(self):
        """Idempotency ids of the calling thread's last run whose records it met (a replay, not a conflict)."""
        return getattr(self._round, "found", frozenset())

    def _hot_apart(self, ops, view, hot):
        """Operations on hot accounts commit apart from the rest, first (right after their read).

        The rest then never fails for the hot account's sake; a conflict of the hot part
        marks its accounts hotter and leaves its operations to the next round.
        """
        outcomes, lost = [None] * len(ops), []
        rest = [i for i in range(len(ops)) if i not in set(hot)]
        for part in (hot, rest):
            try:
                done = self._plan_and_commit([ops[i] for i in part], view)
            except LostRace:
                lost.append(part)
                continue
            for i, outcome in zip(part, done, strict=True):
                outcomes[i] = outcome
        for part in lost:  # once the other part committed: a replay, or another writer?
            part_keys = {key for i in part for key in _keys_of(ops[i], view) if key in view}
            _fresh, changed = self._who_changed([ops[i] for i in part], {key: view[key] for key in part_keys})
            if any(c == ACCOUNTS for c, _a in changed):
                self.others_until = self.clock() + self.shared_seconds
                self._heat_up({a for i in part for c, a in _keys_of(ops[i], view) if c == ACCOUNTS
                               and self._hot(a, self.clock())})
        self.stats["hot_apart_rounds"] += 1
        return outcomes

    def _heat_up(self, account_ids):
        now = self.clock()
        for account_id in account_ids:
            heat = self.heat.get(account_id, _COLD)
            self.heat[account_id] = _Heat(heat.count + 1 if now - heat.last < self.hot_seconds else 1, now)

    def _plan_and_commit(self, ops, view):
        """Plans `ops` on `view` and commits; on success `view` holds what was written."""
        plan = engine.plan_on(ops, view, self.now, self.make_id, self.store.idempotency_ttl)
        if plan.writes:
            written = self.store.commit(plan.writes, view)
            for write in plan.writes:
                if write.key in view and write.method != "absent":
                    data = write.data if write.method == "create" else {**view[write.key].data, **write.data}
                    view[write.key] = ReadDoc(data, written[write.key])
            for account_id, doc in plan.accounts.items():
                update_time = written.get((ACCOUNTS, account_id))
                if update_time is not None:
                    self.accounts[account_id] = ReadDoc(doc, update_time)
        self._keep_records(ops, view)
        return plan.outcomes


class _Heat(NamedTuple):
    count: int  # recent conflicts on an account
    last: float  # clock time of the last


_COLD = _Heat(0, 0.0)


def _expired(records, now):
    """Whether a kept refusal record is past its expire_at (Firestore's TTL may delete it then)."""
    return any(read.exists and "expire_at" in read.data and read.data["expire_at"] <= now
               for read in records.values())


def _keys_of(op, view):
    keys = set(engine.documents_of(op))
    keys.update((ACCOUNTS, a) for a in engine.accounts_needed([op], engine.documents_in(view, TRANSFERS)))
    return keys

"""Unit tests of the optimistic group commit (writer + committer) over the shared fake (fakes.py).

The fake keeps documents with an update time and applies a commit atomically
only when every precondition holds (exists=false for creates, the update time
as read for updates), as Firestore does; two committers over one fake, each
with its own LedgerStore, are two server processes.
"""

import datetime as dt
import itertools
import threading
import time
from collections import Counter

import grpc
import pytest
from fakes import FakeDatastore
from google.api_core import exceptions as gexc

from server.datastore import CommitUnsettled
from server.kernel.caller import Caller
from server.kernel.commits import Write
from server.ledger import engine
from server.ledger.accounts import new_account
from server.ledger.engine import Operation
from server.ledger.optimistic import OptimisticCommitter
from server.ledger.store import LedgerStore
from server.ledger.writer import GroupCommitWriter

TTL = dt.timedelta(hours=48)


class FakeFirestore(FakeDatastore):
    """The shared fake with opening balances (no posting behind them) for check_books."""

    def __init__(self):
        super().__init__()
        self.seeded = {}  # account id -> opening balance

    def seed_accounts(self, **balances):
        for name, balance in balances.items():
            doc = new_account(name, name, "USD")
            doc["balance"] = balance
            self.seeded[name] = balance
            self.put("accounts", name, doc)


def ledger_store(db, before_commit=None):
    """The real LedgerStore over one process of the fake."""
    return LedgerStore(db.process(before_commit), fast_writes=False)


def transfer(src, dst, amount, key):
    return Operation(kind="transfer", caller=Caller(src, src), idempotency_key=key,
                     request_hash=engine.request_hash("transfer", to=dst, amount=amount, memo=None),
                     from_account=src, to_account=dst, amount=amount)


def committer(store, **kwargs):
    return OptimisticCommitter(store, **kwargs)


def rival_transfer(db, src, dst, amount, key):
    """Another process's committer moving money between the same accounts."""
    return committer(ledger_store(db)).run([transfer(src, dst, amount, key)])


def check_books(db, total):
    balances = {i: d["balance"] for i, d in db.in_collection("accounts").items()}
    assert sum(balances.values()) == total
    assert all(b >= 0 for b in balances.values())
    for account_id, balance in balances.items():
        postings = sorted((d for d in db.in_collection("postings").values() if d["account_id"] == account_id),
                          key=lambda p: p["seq"])
        assert [p["seq"] for p in postings] == list(range(1, len(postings) + 1))
        assert db.seeded[account_id] + sum(p["amount"] for p in postings) == balance
        for before, after in itertools.pairwise(postings):
            assert after["prev_hash"] == before["hash"]  # one chain, never forked


# --- the committer -----------------------------------------------------------------------


def test_one_round_reads_once_and_commits_one_batch_with_four_documents_per_transfer():
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0, c=0)
    store = ledger_store(db)
    outcomes = committer(store).run([transfer("a", "b", 10, "k1"), transfer("a", "c", 5, "k2")])
    assert [o.status for o in outcomes] == [201, 201]
    # 3 accounts read, the keys' records assumed missing; 2 x (transfer, 2 postings, audit) + 3 accounts
    # written, and 2 absent checks (each key's refusal record).
    assert store.counts == Counter(reads=3, read_calls=1, commits=1, writes=11, absent_checks=2)
    check_books(db, 100)


def test_cached_accounts_are_not_read_again_by_the_process_that_wrote_them():
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0)
    store = ledger_store(db)
    c = committer(store)
    c.run([transfer("a", "b", 1, "k1")])
    store.counts.clear()
    c.run([transfer("a", "b", 1, "k2")])
    # Nothing: the accounts are cached and the key's records assumed missing (the commit checks them).
    assert (store.counts["read_calls"], store.counts["commits"]) == (0, 1)
    check_books(db, 100)


def test_a_replayed_key_assumed_new_costs_one_failed_commit_and_answers_its_first_result():
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0, c=0)
    first = committer(ledger_store(db)).run([transfer("a", "b", 10, "k")])  # another process
    c = committer(ledger_store(db))
    # The replay, batched with a new operation: the commit that assumed "k" new fails on its
    # transfer; the new operation commits at once (the clean part), the replay reads its key next.
    outcomes = c.run([transfer("a", "b", 10, "k"), transfer("a", "c", 5, "new")])
    assert outcomes[0] is None and outcomes[1].status == 201
    assert (c.stats["replays_found"], c.stats["conflicts"]) == (1, 0)
    replay, = c.run([transfer("a", "b", 10, "k")])
    assert replay.replayed and replay.body == first[0].body
    check_books(db, 100)
    assert db.get("accounts", "b")["balance"] == 10


def test_a_key_this_process_committed_is_answered_from_its_records_without_a_read():
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0)
    store = ledger_store(db)
    c = committer(store)
    first, = c.run([transfer("a", "b", 10, "k")])
    store.counts.clear()
    replay, = c.run([transfer("a", "b", 10, "k")])
    assert replay.replayed and replay.body == first.body
    assert (store.counts["read_calls"], store.counts["commits"], c.stats["replays_found"]) == (0, 0, 0)
    other, = c.run([transfer("a", "b", 11, "k")])  # the same key with another request
    assert (other.status, other.error.code) == (409, "idempotency_conflict")
    assert db.get("accounts", "b")["balance"] == 10


def test_a_kept_transfer_reversed_elsewhere_still_replays_its_first_answer_and_is_read_to_be_reversed():
    """A replay's answer rests on what never changes (it says "posted", as the first did); a
    reversal rests on the status, which another process may have changed: it is read."""
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0)
    store = ledger_store(db)
    c = committer(store)
    first, = c.run([transfer("a", "b", 10, "k")])
    transfer_id = first.body["transfer"]["id"]

    def reversal(key):
        return Operation(kind="reverse", caller=Caller("adm", "adm"), idempotency_key=key,
                         request_hash=engine.request_hash("reverse", transfer=transfer_id), reverses=transfer_id)

    assert committer(ledger_store(db)).run([reversal("r1")])[0].status == 201  # another process
    store.counts.clear()
    replay, = c.run([transfer("a", "b", 10, "k")])
    assert replay.replayed and replay.body == first.body and store.counts["read_calls"] == 0
    replay, again = c.run([transfer("a", "b", 10, "k"), reversal("r2")])  # one batch
    assert replay.replayed and replay.body == first.body
    assert (again.status, again.error.code) == (409, "conflict")  # "already reversed", as read
    check_books(db, 100)


def test_a_kept_refusal_past_its_expiry_is_read_again():
    db = FakeFirestore()
    db.seed_accounts(a=5, b=0)
    store = ledger_store(db)
    clock = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    c = committer(store, now=lambda: clock[0])
    refused, = c.run([transfer("a", "b", 10, "k")])
    assert refused.error.code == "insufficient_funds"
    store.counts.clear()
    assert c.run([transfer("a", "b", 10, "k")])[0].replayed and store.counts["reads"] == 0
    clock[0] += TTL
    assert c.run([transfer("a", "b", 10, "k")])[0].replayed and store.counts["reads"] == 2


def test_a_key_refused_elsewhere_never_moves_money_though_assumed_new():
    db = FakeFirestore()
    db.seed_accounts(a=5, b=0)
    refused, = committer(ledger_store(db)).run([transfer("a", "b", 10, "k")])  # another process
    assert refused.error.code == "insufficient_funds"
    db.seed_accounts(a=100)  # the money is there now; this process has never seen the key
    c = committer(ledger_store(db))
    assert c.run([transfer("a", "b", 10, "k")]) == [None]  # its absent check of the record failed
    again, = c.run([transfer("a", "b", 10, "k")])
    assert again.replayed and again.error.code == "insufficient_funds"
    assert db.get("accounts", "b")["balance"] == 0


def test_a_rival_commit_costs_one_retry_and_no_money():
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0)
    c = committer(ledger_store(db))
    c.run([transfer("a", "b", 1, "warm")])  # a and b now cached
    rival_transfer(db, "b", "a", 1, "rival")  # another process moves both accounts on
    outcomes = c.run([transfer("a", "b", 50, "k")])
    assert outcomes == [None]  # conflict: retry later
    assert c.stats["conflicts"] == 1
    assert outcomes_of(c.run([transfer("a", "b", 50, "k")])) == [201]
    check_books(db, 100)
    assert db.get("accounts", "a")["balance"] == 50


def outcomes_of(outcomes):
    return [o.status if o else None for o in outcomes]


class Rivals:
    """A before_commit hook: another process moves z -> hot just before our commit, once per key queued."""

    def __init__(self, db, *keys):
        self.db, self.keys = db, list(keys)

    def __call__(self):
        if self.keys:
            rival_transfer(self.db, "z", "hot", 1, self.keys.pop())


def hot_and_cold_round(c, hot_key):
    """A batch of one hot and one cold transfer: the cold one commits, the hot one is left to retry."""
    assert outcomes_of(c.run([transfer("hot", "y", 5, hot_key), transfer("x", "y", 5, "cold")])) == [None, 201]


def hot_retry_commits(c, db, hot_key):
    assert outcomes_of(c.run([transfer("hot", "y", 5, hot_key)])) == [201]
    check_books(db, 1200)


def test_a_conflicting_batch_commits_its_clean_part_at_once():
    db = FakeFirestore()
    db.seed_accounts(hot=1000, x=100, y=0, z=100, w=0)
    c = committer(ledger_store(db, before_commit=Rivals(db, "rival")))
    hot_and_cold_round(c, "h")
    assert c.stats["split_commits"] == 1
    hot_retry_commits(c, db, "h")


def test_operations_on_a_hot_account_commit_apart_from_the_rest():
    db = FakeFirestore()
    db.seed_accounts(hot=1000, x=100, y=0, z=100)
    rivals = Rivals(db, "r1")
    store = ledger_store(db, before_commit=rivals)
    c = committer(store, hot_conflicts=1)
    assert c.run([transfer("hot", "y", 5, "h1")]) == [None]  # the hot account meets a rival: now hot
    rivals.keys.append("r2")
    store.counts.clear()
    hot_and_cold_round(c, "h2")
    # The hot part lost again; the cold part committed on its own, with no re-read between; then
    # the hot part's documents were read again: its account moved, another writer, not a replay.
    assert store.counts["read_calls"] == 2 and store.counts["commits"] == 1
    assert c.stats["hot_apart_rounds"] == 1 and c.stats["conflicts"] == 2 and not c.stats["replays_found"]
    hot_retry_commits(c, db, "h2")


def test_without_split_the_whole_batch_is_retried():
    db = FakeFirestore()
    db.seed_accounts(hot=1000, x=100, y=0, z=100)
    c = committer(ledger_store(db, before_commit=Rivals(db, "rival")), split=False)
    assert c.run([transfer("hot", "y", 5, "h"), transfer("x", "y", 5, "clean")]) == [None, None]


def test_same_key_in_two_processes_moves_money_once():
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0)
    op = transfer("a", "b", 60, "same")
    second = committer(ledger_store(db))
    state = {"other": True}

    def other_process_first():
        if state.pop("other", False):
            assert outcomes_of(second.run([op])) == [201]

    first = committer(ledger_store(db, before_commit=other_process_first))
    assert first.run([op]) == [None]  # lost the race: its exists=false transfer is there
    again = first.run([op])[0]
    assert again.status == 201 and again.replayed
    assert db.get("accounts", "a")["balance"] == 40
    check_books(db, 100)


def test_a_refusal_and_a_success_of_one_key_cannot_both_commit():
    """Process 1 reads a low balance and refuses; meanwhile a deposit and process 2's success land."""
    db = FakeFirestore()
    db.seed_accounts(a=10, b=0, t=1000)
    op = transfer("a", "b", 50, "k")
    state = {"race": True}

    def deposit_and_success():
        if state.pop("race", False):
            rival_transfer(db, "t", "a", 100, "deposit")
            assert outcomes_of(committer(ledger_store(db)).run([op])) == [201]

    p1 = committer(ledger_store(db, before_commit=deposit_and_success))
    assert p1.run([op]) == [None]  # its refusal rested on a's old balance
    replay = p1.run([op])[0]
    assert (replay.status, replay.replayed) == (201, True)  # the key's one answer
    assert db.get("idempotency", op.idempotency_id) is None
    check_books(db, 1010)


def test_stale_cache_never_forks_a_chain():
    db = FakeFirestore()
    db.seed_accounts(a=1000, b=1000)
    p1, p2 = committer(ledger_store(db)), committer(ledger_store(db))
    for i in range(30):
        for c, (src, dst) in ((p1, ("a", "b")), (p2, ("b", "a"))):
            key = f"{id(c)}-{i}"
            while (outcome := c.run([transfer(src, dst, i + 1, key)])[0]) is None:
                pass
            assert outcome.status == 201
    check_books(db, 2000)
    assert db.get("accounts", "a")["posting_count"] == 60


# --- the writer thread ------------------------------------------------------------------


class ScriptedCommitter:
    """Answers 201 after scripted results: an exception to raise, or 'conflict' (None outcomes)."""

    def __init__(self, script=(), delay=0.0):
        self.script = list(script)
        self.delay = delay
        self.batches = []
        self.forgotten = 0
        self.stats = Counter()

    def run(self, ops):
        time.sleep(self.delay)
        if self.script:
            step = self.script.pop(0)
            if step == "conflict":
                return [None] * len(ops)
            raise step
        self.batches.append(len(ops))
        return [engine.Outcome(201, body={"key": op.idempotency_key}) for op in ops]

    def forget(self, ops):
        self.forgotten += 1


def submit_all(writer, ops):
    results = [None] * len(ops)

    def run(i):
        results[i] = writer.submit(ops[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ops))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def make_writer():
    writers = []

    def make(committer_, **kwargs):
        writers.append(GroupCommitWriter(committer_, **kwargs))
        return writers[-1]

    yield make
    for w in writers:
        w.stop()


def test_writer_groups_concurrent_operations_and_answers_each_its_own(make_writer):
    c = ScriptedCommitter(delay=0.02)
    writer = make_writer(c, batch_max=100, linger_ms=1)
    results = submit_all(writer, [transfer(f"u{i}", "bob", 1, f"k{i}") for i in range(60)])
    assert [r.body["key"] for r in results] == [f"k{i}" for i in range(60)]
    assert sum(c.batches) == 60
    assert len(c.batches) < 60  # grouped


def test_writer_keeps_each_commit_under_the_write_limit(make_writer):
    c = ScriptedCommitter(delay=0.05)
    writer = make_writer(c, batch_max=1000, linger_ms=1)
    submit_all(writer, [transfer(f"a{i}", f"b{i}", 1, f"k{i}") for i in range(200)])
    # 5 writes per transfer plus its two new accounts must stay under 450 per commit.
    assert max(c.batches) * 7 <= 450


def test_writer_retries_conflicts_and_transient_errors(make_writer):
    c = ScriptedCommitter(["conflict", gexc.ServiceUnavailable("blip"), "conflict"])
    writer = make_writer(c, backoff_base=0.001, conflict_backoff=0.001)
    assert writer.submit(transfer("a", "b", 1, "k")).status == 201
    assert c.forgotten == 1  # the transient error dropped the batch's cached accounts


def test_writer_answers_503_after_max_attempts(make_writer):
    c = ScriptedCommitter([gexc.ServiceUnavailable("down")] * 10)
    writer = make_writer(c, max_attempts=3, backoff_base=0.001)
    outcome = writer.submit(transfer("a", "b", 1, "k"))
    assert (outcome.error.status, outcome.error.code) == (503, "unavailable")
    assert c.batches == []


def test_writer_keeps_retrying_conflicts_for_its_time_budget_then_503(make_writer):
    c = ScriptedCommitter(["conflict"] * 1000)
    writer = make_writer(c, conflict_backoff=0.001, conflict_seconds=0.3)
    outcome = writer.submit(transfer("a", "b", 1, "k"))
    assert (outcome.error.status, outcome.error.code) == (503, "unavailable")
    assert len(c.script) < 1000 - 6  # far more rounds than the transient-error bound


def test_writer_isolates_an_operation_that_breaks_its_batch(make_writer):
    class Poisoned(ScriptedCommitter):
        def run(self, ops):
            if any(op.idempotency_key == "poison" for op in ops):
                raise RuntimeError("bad document")
            return super().run(ops)

    writer = make_writer(Poisoned(delay=0.01), linger_ms=20)
    results = submit_all(writer, [transfer("a", "b", 1, "poison")] +
                         [transfer("a", "b", 1, f"ok{i}") for i in range(5)])
    assert results[0].status == 500
    assert all(r.status == 201 for r in results[1:])


def test_two_writers_over_one_store_keep_the_books_under_contention(make_writer):
    """Two processes, a hot account in every transfer, retried keys: exact books, no 503."""
    db = FakeFirestore()
    db.seed_accounts(hot=10_000, **{f"u{i}": 1_000 for i in range(6)})
    writers = [make_writer(committer(ledger_store(db)), conflict_backoff=0.0005) for _ in range(2)]
    ops = []
    for i in range(200):
        other = f"u{i % 6}"
        src, dst = ("hot", other) if i % 2 else (other, "hot")
        ops.append(transfer(src, dst, 1 + i % 50, f"k{i}"))
    ops += ops[:40]  # the same keys again, to the other writer

    results = [None] * len(ops)

    def send(i):
        results[i] = writers[i % 2].submit(ops[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(ops))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {(r.status, r.error.code if r.error else None) for r in results} <= \
        {(201, None), (409, "insufficient_funds")}
    check_books(db, 16_000)
    posted = list(db.in_collection("transfers").values())
    assert len(posted) == sum(r.status == 201 and not r.replayed for r in results)
    assert len(posted) == len({op.idempotency_id for op, r in zip(ops, results, strict=True) if r.status == 201})


# --- the private-API adapter -------------------------------------------------------------


@pytest.fixture
def firestore_client():
    import google.auth.credentials
    from google.cloud import firestore

    client = firestore.Client(project="demo-wire", credentials=google.auth.credentials.AnonymousCredentials())
    yield client
    client.close()


def _pbs(batch):
    return [w._pb for w in batch._write_pbs]


def test_fast_writes_pass_their_self_check_and_equal_the_library(firestore_client):
    from server.ledger.wire import WireWrites

    fast, slow = WireWrites(firestore_client), WireWrites(firestore_client, enabled=False)
    assert fast.enabled and not slow.enabled
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    batches = []
    for wire in (fast, slow):
        batch = firestore_client.batch()
        wire.add(batch, Write("create", "postings", "a_1", {"amount": -5, "at": at, "tags": ["x"]}))
        wire.add(batch, Write("update", "accounts", "a", {"balance": 5, "version": 2}), update_time=at)
        wire.add(batch, Write("update", "transfers", "t", {"status": "reversed"}))
        wire.add(batch, Write("create", "odd", "x", {"ratio": 0.5}))  # a float: fast path falls back per write
        batches.append(_pbs(batch))
    assert batches[0] == batches[1]
    assert batches[0][1].current_document.update_time.seconds == int(at.timestamp())


@pytest.mark.parametrize("value", [
    dt.datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 2, 3, 4, 5, 7),  # naive: UTC, as the library reads it
    dt.datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=-7, minutes=-30))),
    dt.datetime(1970, 1, 1, tzinfo=dt.UTC),  # all zero: still a timestamp, not an empty value
    dt.datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=dt.UTC),  # before the epoch: nanos stay positive
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    True, False, 0, -(2 ** 63), 2 ** 63 - 1, "", "ü😀", None,
    {}, {"a": {"b": [1, "x", None, {}]}}, [], [dt.datetime(2030, 6, 1, tzinfo=dt.UTC), [1]],
])
def test_each_value_the_fast_path_encodes_equals_the_library(firestore_client, value):
    from server.ledger.wire import WireWrites

    fast, slow = WireWrites(firestore_client), WireWrites(firestore_client, enabled=False)
    assert fast.enabled  # else both would be the library's
    batches = []
    for wire in (fast, slow):
        batch = firestore_client.batch()
        wire.add(batch, Write("create", "c", "d", {"v": value, "nested": {"v": value}}))
        batches.append(_pbs(batch))
    assert batches[0] == batches[1]


@pytest.mark.parametrize("owner,name", [
    ("google.cloud.firestore_v1.client.Client", "_database_string"),
    ("google.cloud.firestore_v1.base_batch.BaseWriteBatch", "_add_write_pbs"),
    ("google.cloud.firestore_v1.base_batch.BaseWriteBatch", "_write_pbs"),
    ("google.cloud.firestore_v1._helpers", "pbs_for_create"),
    ("google.cloud.firestore_v1.base_batch.BaseWriteBatch", "_prep_commit"),
    ("google.cloud.firestore_v1.client.Client", "_firestore_api"),
    ("google.cloud.firestore_v1.client.Client", "_rpc_metadata"),
    ("google.cloud.firestore_v1.client.Client", "_target"),  # the commits' channel is made as the library's
])
def test_any_private_name_gone_turns_fast_writes_off_and_writes_still_work(firestore_client, monkeypatch,
                                                                           owner, name):
    import importlib

    from server.ledger.wire import WireWrites

    module_name, _, attr = owner.rpartition(".")
    target = importlib.import_module(owner) if name == "pbs_for_create" else \
        getattr(importlib.import_module(module_name), attr)
    monkeypatch.setattr(target, name, property(lambda self: 1 / 0) if name.startswith("_") and
                        name != "_add_write_pbs" else _broken, raising=False)
    wire = WireWrites(firestore_client)
    assert not wire.enabled
    monkeypatch.undo()
    batch = firestore_client.batch()
    wire.add(batch, Write("update", "accounts", "a", {"balance": 1}),
             update_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert len(_pbs(batch)) == 1 and _pbs(batch)[0].current_document.HasField("update_time")


def _broken(*args, **kwargs):
    raise AttributeError("gone in this version")


class _Refused(grpc.RpcError):
    """What a gRPC call raises: api_core reads its code(), details() and trailing_metadata()."""

    def __init__(self, code):
        self._code = code

    def code(self):
        return self._code

    def details(self):
        return f"refused: {self._code.name}"

    def trailing_metadata(self):
        return None


class _Channel:
    """WireChannel's interface over a scripted Commit: each call takes the next answer or error."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), 0

    def method(self, kind, name, request_pb_type, response_pb_type):
        assert (kind, name) == ("unary_unary", "/google.firestore.v1.Firestore/Commit")

        def call(request, timeout, metadata):
            self.calls += 1
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return call, ()

    def can_be_made(self):
        return True


@pytest.mark.parametrize("code,retried", [(grpc.StatusCode.UNAVAILABLE, True),
                                          (grpc.StatusCode.RESOURCE_EXHAUSTED, True),
                                          (grpc.StatusCode.FAILED_PRECONDITION, False),
                                          (grpc.StatusCode.ALREADY_EXISTS, False)])
def test_a_fast_commit_retries_as_the_library_s_commit_and_raises_its_errors(firestore_client, code, retried):
    """UNAVAILABLE and RESOURCE_EXHAUSTED are retried (the library's default for Commit); a failed
    precondition is raised at once, as the library's exception (Datastore.commit's LostRace)."""
    from google.api_core import exceptions
    from google.cloud.firestore_v1.types import firestore as firestore_types

    from server.ledger.wire import WireWrites

    answer = firestore_types.CommitResponse.pb()()
    answer.write_results.add().update_time.seconds = 1714979289
    channel = _Channel(_Refused(code), answer)
    wire = WireWrites(firestore_client, channel=channel)
    assert wire.enabled
    batch = wire.new_batch()
    wire.add(batch, Write("create", "c", "d", {"n": 1}))
    if retried:
        assert wire.commit(batch) == [dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)]
        assert channel.calls == 2
    else:
        with pytest.raises(exceptions.from_grpc_status(code, "").__class__):
            wire.commit(batch)
        assert channel.calls == 1


@pytest.mark.parametrize("code", [grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS])
def test_a_precondition_failed_on_a_retry_is_an_unsettled_commit_not_a_lost_race(firestore_client, code):
    """The first attempt's UNAVAILABLE may have come after it landed: its retry then fails on
    its own writes, so the outcome is unknown (CommitUnsettled), not another writer's."""
    from server.datastore import LOST_RACE_ERRORS, CommitUnsettled
    from server.ledger.wire import WireWrites

    channel = _Channel(_Refused(grpc.StatusCode.UNAVAILABLE), _Refused(code))
    wire = WireWrites(firestore_client, channel=channel)
    batch = wire.new_batch()
    wire.add(batch, Write("create", "c", "d", {"n": 1}))
    with pytest.raises(CommitUnsettled) as raised:
        wire.commit(batch)
    assert channel.calls == 2 and not isinstance(raised.value, LOST_RACE_ERRORS)


def test_a_commit_that_landed_though_it_failed_is_answered_once_as_done_not_as_a_replay():
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0)
    store = ledger_store(db)
    commit, failed = store.commit, []

    def commit_then_lose_the_answer(writes, docs):
        written = commit(writes, docs)
        if not failed:
            failed.append(writes)
            raise CommitUnsettled("a retried commit failed its preconditions")
        return written

    store.commit = commit_then_lose_the_answer
    writer = GroupCommitWriter(committer(store), linger_ms=1)
    try:
        outcome = writer.submit(transfer("a", "b", 10, "k"), timeout=5)
    finally:
        writer.stop()
    assert failed and outcome.status == 201 and not outcome.replayed
    assert db.get("accounts", "b")["balance"] == 10
    check_books(db, 100)


def test_threads_that_race_on_a_method_s_first_call_share_one_callable(firestore_client, monkeypatch):
    """The writer's threads (its pipeline's rounds) may ask for Commit at the same moment: one callable is made."""
    from google.cloud.firestore_v1.types import firestore as firestore_types

    from server.ledger import wire

    made, request_pb, response_pb = [], firestore_types.CommitRequest.pb(), firestore_types.CommitResponse.pb()

    class SlowChannel:
        def unary_unary(self, name, request_serializer, response_deserializer):
            time.sleep(0.05)  # the others arrive while the first one makes it
            made.append(name)
            return object()

    monkeypatch.setattr(wire, "_channel_for", lambda client: SlowChannel())
    channel, start, calls = wire.WireChannel(firestore_client), threading.Barrier(4), []

    def first_call():
        start.wait()
        calls.append(channel.method("unary_unary", wire.COMMIT_METHOD, request_pb, response_pb)[0])

    threads = [threading.Thread(target=first_call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == [wire.COMMIT_METHOD] and len(calls) == 4 and len(set(map(id, calls))) == 1


# --- the writer's raw reads (wire.WireReads) ----------------------------------------------


def _answer(firestore_client, data, seconds=1714979289, nanos=123456789):
    """A raw BatchGetDocumentsResponse that found `data` (encoded by the library itself)."""
    from google.cloud.firestore_v1.types import firestore as firestore_types

    batch = firestore_client.batch()
    batch.create(firestore_client.collection("c").document("d"), data)
    document = _pbs(batch)[0].update
    document.update_time.seconds, document.update_time.nanos = seconds, nanos
    return firestore_types.BatchGetDocumentsResponse.pb()(found=document)


@pytest.mark.parametrize("value", [
    dt.datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=dt.UTC), dt.datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=dt.UTC),
    True, 0, -(2 ** 63), "ü😀", None, {}, {"a": {"b": [1, "x", None, {}]}}, [], 0.5, b"\x00bytes",
])
def test_each_value_the_fast_reads_decode_equals_the_library(firestore_client, value):
    from google.cloud.firestore_v1 import base_client
    from google.cloud.firestore_v1.types import firestore as firestore_types

    from server.ledger.wire import WireReads

    reads = WireReads(firestore_client)
    assert reads.enabled
    raw = _answer(firestore_client, {"v": value, "nested": {"v": value}})
    ref = firestore_client.collection("c").document("d")
    snap = base_client._parse_batch_get(firestore_types.BatchGetDocumentsResponse.wrap(raw),
                                        {ref._document_path: ref}, firestore_client)
    ours = reads.decode(raw)
    assert ours.data == snap.to_dict() == {"v": value, "nested": {"v": value}}
    assert ours.update_time == snap.update_time and ours.update_time.nanosecond == 123456789  # preconditions


def test_a_missing_document_decodes_as_missing(firestore_client):
    from google.cloud.firestore_v1.types import firestore as firestore_types

    from server.kernel.commits import MISSING
    from server.ledger.wire import WireReads

    raw = firestore_types.BatchGetDocumentsResponse.pb()(missing="projects/demo-wire/databases/(default)/documents/c/d")
    assert WireReads(firestore_client).decode(raw) is MISSING


@pytest.mark.parametrize("owner,name", [
    ("google.cloud.firestore_v1.client.Client", "_prep_get_all"),
    ("google.cloud.firestore_v1.base_client", "_parse_batch_get"),
    ("google.cloud.firestore_v1._helpers", "decode_dict"),
    ("google.cloud.firestore_v1.client.Client", "_firestore_api"),
    ("google.cloud.firestore_v1.client.Client", "_database_string"),
    ("google.cloud.firestore_v1.base_document.BaseDocumentReference", "_document_path"),
    ("google.cloud.firestore_v1.client.Client", "_target"),  # the read channel is made as the library's
    ("google.cloud.firestore_v1.client.Client", "_emulator_host"),
    ("google.cloud.firestore_v1.base_client", "_DEFAULT_CHANNEL_OPTIONS"),
    ("google.cloud.firestore_v1.base_client", "_GRPC_MSG_SIZE_OPTIONS"),
])
def test_any_private_read_name_gone_turns_fast_reads_off_and_the_store_reads_through_get_all(
        firestore_client, monkeypatch, owner, name):
    import importlib

    from server.ledger.store import LedgerStore
    from server.ledger.wire import WireReads

    module_name, _, attr = owner.rpartition(".")
    module = importlib.import_module(owner) if owner.endswith(("base_client", "_helpers")) else None
    target = module or getattr(importlib.import_module(module_name), attr)
    monkeypatch.setattr(target, name, _broken if module else property(lambda self: 1 / 0), raising=False)
    assert not WireReads(firestore_client).enabled

    class Datastore:  # what LedgerStore falls back to: Datastore.read
        client = firestore_client

        def __init__(self):
            self.calls = []

        def read(self, keys, transaction=None):
            self.calls.append(keys)
            return {}

    datastore = Datastore()
    store = LedgerStore(datastore)  # its self-check runs with the name broken
    monkeypatch.undo()
    assert not store.wire_reads.enabled
    store.read([("accounts", "a"), ("accounts", "a")])
    assert datastore.calls == [[("accounts", "a")]]


def test_fast_reads_gather_the_streamed_answers_by_key(firestore_client):
    from google.cloud.firestore_v1.types import firestore as firestore_types

    from server.kernel.commits import MISSING
    from server.ledger.wire import WireReads

    reads = WireReads(firestore_client)
    keys = [("accounts", "a"), ("transfers", "t"), ("accounts", "b")]
    names = reads._names(keys)
    found = _answer(firestore_client, {"balance": 5})
    found.found.name = next(name for name, key in names.items() if key == ("accounts", "b"))
    answers = [found, firestore_types.BatchGetDocumentsResponse.pb()(missing=list(names)[0]),
               firestore_types.BatchGetDocumentsResponse.pb()(transaction=b"tx")]  # an answer with no document
    gathered = reads._gather(keys, names, answers)
    assert list(gathered) == keys
    assert gathered[("accounts", "b")].data == {"balance": 5}
    assert gathered[("accounts", "a")] is MISSING and gathered[("transfers", "t")] is MISSING


def test_a_reversal_in_a_batch_with_its_transfer_s_replay_reads_that_transfer():
    """A transfer being reversed is never assumed missing, even when the batch also holds its own
    key's replay: assumed, the reversal would answer 404 on a part of the batch that commits."""
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0)
    first, = committer(ledger_store(db)).run([transfer("a", "b", 10, "k")])  # another process
    transfer_id = first.body["transfer"]["id"]
    reversal = Operation(kind="reverse", caller=Caller("adm", "adm"), idempotency_key="r",
                         request_hash=engine.request_hash("reverse", transfer=transfer_id), reverses=transfer_id)
    c = committer(ledger_store(db))
    replay, reversed_ = c.run([transfer("a", "b", 10, "k"), reversal])
    assert replay.replayed and replay.body == first.body
    assert reversed_.status == 201
    assert db.get("accounts", "b")["balance"] == 0
    check_books(db, 100)


def test_a_replay_in_the_hot_part_is_not_taken_for_another_writer():
    db = FakeFirestore()
    db.seed_accounts(hot=1000, x=100, y=0, z=100)
    committer(ledger_store(db)).run([transfer("hot", "y", 5, "h")])  # another process, before
    c = committer(ledger_store(db, before_commit=Rivals(db, "r1")), hot_conflicts=1)
    assert c.run([transfer("hot", "y", 5, "warm")]) == [None]  # the hot account meets a rival: now hot
    conflicts = c.stats["conflicts"]
    hot_and_cold_round(c, "h")  # "h" is a replay, assumed new: its hot part fails on the record
    assert (c.stats["conflicts"], c.stats["replays_found"]) == (conflicts, 1)
    assert c.replays_found() == {transfer("hot", "y", 5, "h").idempotency_id}
    replay, = c.run([transfer("hot", "y", 5, "h")])
    assert replay.replayed


def test_operations_re_sent_after_a_failover_read_their_keys():
    db = FakeFirestore()
    db.seed_accounts(a=100, b=0)
    first, = committer(ledger_store(db)).run([transfer("a", "b", 10, "k")])  # the writer that died
    store = ledger_store(db)
    writer = GroupCommitWriter(committer(store), linger_ms=1)
    try:
        writer.expect_replays([transfer("a", "b", 10, "k")])
        again = writer.submit(transfer("a", "b", 10, "k"), timeout=5)
    finally:
        writer.stop()
    assert again.replayed and again.body == first.body
    assert store.counts["failed_commits"] == 0  # read, not assumed new

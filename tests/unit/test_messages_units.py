"""Pure rules of messages, without Firestore: conversation ids, seq planning, the per-conversation funnel."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fakes import FakeDatastore

from server.kernel.caller import Caller
from server.kernel.commits import RetryBudget, jitter
from server.kernel.errors import DomainError
from server.kernel.ids import is_doc_id
from server.messages.funnel import Funnel
from server.messages.service import conversation_id, new_conversation
from server.messages.store import Gone, decide_messages, message_id, plan_messages


def test_conversation_id_is_the_same_whoever_starts_it():
    a, b, c = "a" * 32, "b" * 32, "c" * 32
    assert conversation_id(a, b) == conversation_id(b, a)
    assert len({conversation_id(a, b), conversation_id(a, c), conversation_id(b, c)}) == 3
    # Firebase uids are up to 128 characters: the id stays a short valid document id.
    long_uid = "Z" * 128
    assert is_doc_id(conversation_id(long_uid, a)) and len(conversation_id(long_uid, a)) == 40
    # No ambiguity from concatenation.
    assert conversation_id("ab", "c") != conversation_id("a", "bc")


def test_new_conversation_orders_members_by_id():
    doc = new_conversation([("zz", "zed"), ("aa", "amy")])
    assert doc["member_ids"] == ["aa", "zz"] and doc["members"] == ["amy", "zed"]
    assert doc["message_count"] == 0 and doc["last_message_at"] is None
    assert doc["activity_at"] == doc["created_at"]


def test_plan_messages_continues_after_the_count_in_order():
    drafts = [{"author": Caller(f"u{i}", f"n{i}"), "body": f"b{i}"}
              for i in range(3)]
    planned = plan_messages("c1", 41, drafts, "NOW")
    assert [seq for seq, _ in planned] == [42, 43, 44]
    assert planned[0][1] == {"conversation_id": "c1", "seq": 42, "author_id": "u0", "author_username": "n0",
                             "body": "b0", "created_at": "NOW"}
    assert "request_id" not in planned[0][1]


def test_message_ids_sort_like_seq():
    ids = [message_id(n) for n in (1, 2, 10, 99, 100, 9_999_999_999)]
    assert ids == sorted(ids) and ids[0] == "0000000001"


def test_backoff_is_jittered_and_capped():
    values = [jitter(attempt, 0.01, 0.5) for attempt in range(1, 21) for _ in range(20)]
    assert all(0 <= v <= 0.5 for v in values)
    assert len(set(values)) > 100


def _send(db, conv_id, author, body, rival=None):
    """One guarded send over the shared fake; `rival` commits just before our first commit."""
    budget = RetryBudget(attempts=3)
    process = db.process(before_commit=rival)
    return process.guarded([("conversations", conv_id)],
                           decide_messages(conv_id, [{"author": author, "body": body}], lambda: "NOW"), budget)


def test_a_send_that_loses_the_race_reads_again_and_takes_the_next_seq():
    db = FakeDatastore()
    db.put("conversations", "c1", new_conversation([("aa", "amy"), ("zz", "zed")]))
    amy, zed = Caller("aa", "amy"), Caller("zz", "zed")
    state = {"rival": True}

    def rival():
        if state.pop("rival", False):
            assert _send(db, "c1", zed, "first") == [(1, db.get("conversations/c1/messages", "0000000001"))]

    [(seq, doc)] = _send(db, "c1", amy, "second", rival=rival)
    assert seq == 2 and doc["body"] == "second"
    assert db.get("conversations", "c1")["message_count"] == 2
    assert sorted(db.in_collection("conversations/c1/messages")) == ["0000000001", "0000000002"]
    assert len(db.in_collection("audit")) == 2


def test_a_send_that_keeps_losing_is_a_503_and_writes_nothing():
    db = FakeDatastore()
    db.put("conversations", "c1", new_conversation([("aa", "amy"), ("zz", "zed")]))
    amy = Caller("aa", "amy")

    def rival():  # another process always commits first
        db.put("conversations", "c1", dict(db.get("conversations", "c1")))

    with pytest.raises(DomainError) as refused:
        _send(db, "c1", amy, "hello", rival=rival)
    assert refused.value.status == 503
    assert db.in_collection("conversations/c1/messages") == {} and db.in_collection("audit") == {}


def test_a_send_to_a_missing_conversation_is_gone():
    with pytest.raises(Gone):
        _send(FakeDatastore(), "nope", Caller("aa", "amy"), "hello")


class FakeStore:
    """Commits take a while; records batches and the most commits of one key in flight at once."""

    def __init__(self, delay=0.01):
        self.delay = delay
        self.batches = []
        self.in_flight = {}
        self.max_in_flight = {}
        self.lock = threading.Lock()
        self.count = {}

    def commit(self, key, items):
        with self.lock:
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.max_in_flight[key] = max(self.max_in_flight.get(key, 0), self.in_flight[key])
        time.sleep(self.delay)
        with self.lock:
            self.in_flight[key] -= 1
            start = self.count.get(key, 0)
            self.count[key] = start + len(items)
            self.batches.append((key, list(items)))
        return [(start + i, item) for i, item in enumerate(items, start=1)]


def test_funnel_commits_one_batch_per_key_at_a_time_and_batches_the_queue():
    store = FakeStore()
    funnel = Funnel(store.commit, batch_max=8)

    def send(i):
        key = "hot" if i % 4 else "cold"
        return key, funnel.submit(key, f"m{i}")

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, range(200)))
    for key, total in (("hot", 150), ("cold", 50)):
        seqs = sorted(seq for k, (seq, _item) in results if k == key)
        assert seqs == list(range(1, total + 1))
        assert store.max_in_flight[key] == 1
    assert all(item == f"m{i}" for i, (_k, (_seq, item)) in enumerate(results))
    assert len(store.batches) < 200  # waiting sends went out together
    assert max(len(items) for _k, items in store.batches) <= 8
    assert funnel._lanes == {}  # idle lanes are dropped


def test_funnel_gives_every_sender_of_a_failed_batch_the_error_and_goes_on():
    calls = []

    def commit(key, items):
        calls.append(list(items))
        if "bad" in items:
            raise RuntimeError("boom")
        return [item.upper() for item in items]

    funnel = Funnel(commit)
    with pytest.raises(RuntimeError):
        funnel.submit("k", "bad")
    assert funnel.submit("k", "good") == "GOOD"


def test_keys_do_not_wait_for_each_other():
    release = threading.Event()

    def commit(key, items):
        if key == "slow":
            release.wait(5)
        return items

    funnel = Funnel(commit)
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(funnel.submit, "slow", "x")
        time.sleep(0.05)
        assert funnel.submit("fast", "y") == "y"  # while "slow" is still committing
        assert not slow.done()
        release.set()
        assert slow.result(5) == "x"

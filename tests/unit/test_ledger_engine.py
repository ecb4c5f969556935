"""Unit tests of the ledger's pure rules (the writer's are in tests/unit/test_ledger_writer.py)."""

import datetime as dt
import itertools

import pytest

from server.kernel.caller import Caller
from server.kernel.commits import Write
from server.ledger import engine
from server.ledger.accounts import GENESIS_HASH, TREASURY_ID, new_account
from server.ledger.engine import Operation, plan_batch

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TTL = dt.timedelta(hours=48)


def clock():
    ticks = itertools.count()
    return lambda: T0 + dt.timedelta(seconds=next(ticks))


def ids():
    counter = itertools.count(1)
    return lambda: f"id{next(counter)}"


def accounts(**balances):
    docs = {}
    for name, balance in balances.items():
        doc = new_account(None if name == TREASURY_ID else name, name, "USD",
                          kind="treasury" if name == TREASURY_ID else "user")
        doc["balance"] = balance
        docs[name] = doc
    return docs


def transfer(src, dst, amount, key=None, memo=None):
    return Operation(kind="transfer", caller=Caller(src, src),
                     idempotency_key=key or f"{src}-{dst}-{amount}",
                     request_hash=engine.request_hash("transfer", to=dst, amount=amount, memo=memo),
                     from_account=src, to_account=dst, amount=amount, memo=memo)


def plan(ops, accts, transfers=None, idem=None):
    return plan_batch(ops, accts, transfers or {}, idem or {}, clock(), ids(), TTL)


def writes_of(result, collection, method=None):
    return [w for w in result.writes if w.collection == collection and (method is None or w.method == method)]


def test_transfer_writes_two_postings_summing_to_zero_and_its_audit_event():
    result = plan([transfer("alice", "bob", 300)], accounts(alice=1000, bob=0))
    outcome, = result.outcomes
    assert outcome.status == 201 and not outcome.replayed
    postings = [w.data for w in writes_of(result, "postings", "create")]
    assert sorted(p["amount"] for p in postings) == [-300, 300]
    assert {p["account_id"]: p["balance_after"] for p in postings} == {"alice": 700, "bob": 300}
    assert all(p["prev_hash"] == GENESIS_HASH and p["seq"] == 1 for p in postings)
    transfer_doc = writes_of(result, "transfers", "create")[0].data
    audit = writes_of(result, "audit", "create")[0]
    audit_id, audit_doc = audit.doc_id, audit.data
    assert transfer_doc["audit_event_id"] == audit_id
    assert audit_doc["action"] == "transfer.create"
    # The transfer is its key's record: its id comes from (caller, key), no separate record.
    assert writes_of(result, "transfers", "create")[0].doc_id == transfer("alice", "bob", 300).idempotency_id
    assert transfer_doc["request_hash"] == transfer("alice", "bob", 300).request_hash
    # The key's other record: not written, but the commit requires it to be missing still.
    assert [(w.method, w.doc_id) for w in writes_of(result, "idempotency")] == [
        ("absent", transfer("alice", "bob", 300).idempotency_id)]
    updates = {w.doc_id: w.data for w in writes_of(result, "accounts", "update")}
    assert updates["alice"]["balance"] == 700 and updates["bob"]["balance"] == 300
    assert updates["alice"]["head_hash"] == [p for p in postings if p["account_id"] == "alice"][0]["hash"]


def test_chain_links_across_operations_in_one_batch():
    result = plan([transfer("alice", "bob", 100, key="a"), transfer("alice", "bob", 200, key="b")],
                  accounts(alice=1000, bob=0))
    alice = [w.data for w in writes_of(result, "postings") if w.data["account_id"] == "alice"]
    assert [p["seq"] for p in alice] == [1, 2]
    assert alice[1]["prev_hash"] == alice[0]["hash"]
    assert alice[1]["hash"] == engine.posting_hash(alice[1])
    assert [p["balance_after"] for p in alice] == [900, 700]


def test_insufficient_funds_writes_nothing_and_spares_the_rest_of_the_batch():
    result = plan([transfer("alice", "bob", 5000, key="big"), transfer("alice", "bob", 10, key="small")],
                  accounts(alice=100, bob=0))
    failed, ok = result.outcomes
    assert (failed.error.status, failed.error.code) == (409, "insufficient_funds")
    assert ok.status == 201
    assert len(writes_of(result, "transfers", "create")) == 1
    assert len(writes_of(result, "postings")) == 2
    assert {w.doc_id: w.data["balance"] for w in writes_of(result, "accounts")} == {"alice": 90, "bob": 10}


def test_insufficient_funds_is_remembered_and_replayed():
    op = transfer("alice", "bob", 5000, key="k")
    first = plan([op], accounts(alice=100, bob=0))
    remembered, unused, touch = first.writes
    assert remembered == Write("create", "idempotency", op.idempotency_id, remembered.data)
    # The first result rests on the key having no transfer either: the commit requires it still.
    assert unused == Write("absent", "transfers", op.idempotency_id)
    doc_id, record = remembered.doc_id, remembered.data
    # The refusal rests on alice's balance: the commit rewrites her account (same balance, new
    # version) so that it carries her update-time precondition and races a concurrent success.
    assert (touch.method, touch.collection, touch.doc_id) == ("update", "accounts", "alice")
    assert touch.data["balance"] == 100 and touch.data["version"] == 1
    replay = plan([op], accounts(alice=10_000, bob=0), idem={doc_id: record})
    assert replay.outcomes[0].replayed
    assert (replay.outcomes[0].error.status, replay.outcomes[0].error.code) == (409, "insufficient_funds")
    assert replay.writes == []  # money is there now, but the key's answer stands


def test_exact_balance_can_be_spent_but_not_one_cent_more():
    ok = plan([transfer("alice", "bob", 100)], accounts(alice=100, bob=0)).outcomes[0]
    short = plan([transfer("alice", "bob", 101)], accounts(alice=100, bob=0)).outcomes[0]
    assert ok.status == 201
    assert short.error.code == "insufficient_funds"


def test_treasury_may_go_negative():
    deposit = Operation(kind="deposit", caller=Caller("adm", "adm"), idempotency_key="d",
                        request_hash="h", from_account=TREASURY_ID, to_account="bob", amount=500)
    result = plan([deposit], accounts(treasury=0, bob=0))
    assert result.outcomes[0].status == 201
    assert {w.doc_id: w.data["balance"] for w in writes_of(result, "accounts")} == {TREASURY_ID: -500, "bob": 500}


def test_same_key_in_one_batch_replays_or_conflicts():
    first = transfer("alice", "bob", 100, key="k")
    same = transfer("alice", "bob", 100, key="k")
    different = transfer("alice", "bob", 999, key="k")
    result = plan([first, same, different], accounts(alice=1000, bob=0))
    a, b, c = result.outcomes
    assert a.status == 201 and b.status == 201 and b.replayed
    assert b.body == a.body
    assert c.error.code == "idempotency_conflict"
    assert len(writes_of(result, "transfers")) == 1


def test_stored_key_replays_without_moving_money():
    op = transfer("alice", "bob", 100, key="k")
    stored = {"request_hash": op.request_hash, "status": 201, "response": {"transfer": {"id": "t1"}}}
    result = plan([op], accounts(alice=1000, bob=0), idem={op.idempotency_id: stored})
    assert result.outcomes[0].replayed and result.outcomes[0].body == {"transfer": {"id": "t1"}}
    assert result.writes == []


def test_keys_are_scoped_to_the_caller():
    assert engine.idempotency_id("alice", "k") != engine.idempotency_id("bob", "k")


def test_a_created_transfer_replays_its_first_response_even_after_a_reversal():
    op = transfer("alice", "bob", 100, key="k")
    first = plan([op], accounts(alice=1000, bob=0))
    doc = dict(writes_of(first, "transfers")[0].data, status="reversed", reversed_by="r1")
    replay = plan([op], accounts(alice=900, bob=100), transfers={op.idempotency_id: doc})
    assert replay.outcomes[0].replayed and replay.writes == []
    assert replay.outcomes[0].body == first.outcomes[0].body
    other = transfer("alice", "bob", 999, key="k")
    conflict = plan([other], accounts(alice=900, bob=100), transfers={op.idempotency_id: doc})
    assert conflict.outcomes[0].error.code == "idempotency_conflict"


def test_every_account_write_moves_its_version():
    first = plan([transfer("alice", "bob", 1, key="a")], accounts(alice=10, bob=0))
    assert {w.doc_id: w.data["version"] for w in writes_of(first, "accounts")} == {"alice": 1, "bob": 1}
    assert first.accounts["alice"]["balance"] == 9


def _original(amount=300, status="posted", kind="transfer"):
    return {"from_account": "alice", "to_account": "bob", "amount": amount, "status": status, "kind": kind}


def reverse(transfer_id="t1", key="r"):
    return Operation(kind="reverse", caller=Caller("adm", "adm"), idempotency_key=key,
                     request_hash=engine.request_hash("reverse", transfer=transfer_id, key=key),
                     reverses=transfer_id, memo="oops")


def test_reversal_moves_money_back_and_marks_the_original():
    result = plan([reverse()], accounts(alice=700, bob=300), transfers={"t1": _original()})
    assert result.outcomes[0].status == 201
    body = result.outcomes[0].body["transfer"]
    assert (body["kind"], body["from_account"], body["to_account"], body["reverses"]) == \
        ("reversal", "bob", "alice", "t1")
    assert Write("update", "transfers", "t1", {"status": "reversed", "reversed_by": body["id"]}) in result.writes


def test_double_reversal_in_one_batch_conflicts():
    result = plan([reverse(key="r1"), reverse(key="r2")], accounts(alice=700, bob=300),
                  transfers={"t1": _original()})
    assert result.outcomes[0].status == 201
    assert (result.outcomes[1].error.status, result.outcomes[1].error.code) == (409, "conflict")


@pytest.mark.parametrize("original,code", [
    (_original(status="reversed"), "conflict"),
    (_original(kind="reversal"), "conflict"),
    (_original(amount=5000), "insufficient_funds"),
    (None, "not_found"),
])
def test_reversal_refusals(original, code):
    transfers = {"t1": original} if original else {}
    result = plan([reverse()], accounts(alice=700, bob=300), transfers=transfers)
    assert result.outcomes[0].error.code == code
    # Business refusals are remembered with their key; a refusal for funds also touches
    # (version only) the account whose balance it rests on; nothing else is written.
    expected = {"not_found": set(), "conflict": {"idempotency"}, "insufficient_funds": {"idempotency", "accounts"}}
    assert {w.collection for w in result.writes if w.method != "absent"} == expected[code]
    # Whichever of the key's records was not created must still be missing at the commit.
    unused = {"transfers", "idempotency"} - expected[code]
    assert {w.collection for w in result.writes if w.method == "absent"} == unused


def test_unknown_account_is_404():
    result = plan([transfer("alice", "ghost", 1)], accounts(alice=100))
    assert (result.outcomes[0].error.status, result.outcomes[0].error.code) == (404, "not_found")


def test_transfers_name_their_parties_and_postings_their_owner():
    """The live-read rules rely on `uid in transfer.parties` and `posting.owner_id == uid`."""
    result = plan([transfer("alice", "bob", 10)], accounts(alice=100, bob=0))
    assert writes_of(result, "transfers")[0].data["parties"] == ["alice", "bob"]
    assert {w.data["account_id"]: w.data["owner_id"] for w in writes_of(result, "postings")} == \
        {"alice": "alice", "bob": "bob"}
    deposit = Operation(kind="deposit", caller=Caller("adm", "adm"), idempotency_key="d",
                        request_hash="h", from_account=TREASURY_ID, to_account="bob", amount=5)
    result = plan([deposit], accounts(treasury=0, bob=0))
    assert writes_of(result, "transfers")[0].data["parties"] == ["bob"]  # never the treasury

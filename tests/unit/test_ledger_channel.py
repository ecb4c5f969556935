"""What crosses the redis channel between a process and the ledger writer: operations and outcomes
come back as they went in (server/ledger/channel.py)."""

import datetime as dt
import os

from server.kernel.caller import Caller, Origin
from server.ledger import engine
from server.ledger.channel import decode_op, decode_outcome, encode_op, encode_outcome
from server.ledger.lease import new_token, pid_of


def test_an_operation_and_its_caller_cross_the_channel_unchanged():
    caller = Caller(id="u1", username="alice", role="admin", sid="s1",
                    created_at=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
                    origin=Origin(request_id="r-1", client_address="10.0.0.1"))
    for op in (engine.Operation(kind="transfer", caller=caller, idempotency_key="k1", request_hash="h",
                                from_account="a", to_account="b", amount=5, memo="ünïcode"),
               engine.Operation(kind="reverse", caller=Caller(id=None, username="cli"), idempotency_key="k2",
                                request_hash="h2", reverses="t1", memo=None)):
        decoded, reply, waited, resent = decode_op(encode_op(op, "reply-1", resent=True))
        assert decoded == op and decoded.idempotency_id == op.idempotency_id
        assert (reply, resent) == ("reply-1", True) and 0 <= waited < 5


def test_outcomes_cross_the_channel_unchanged():
    for outcome in (engine.Outcome(201, body={"transfer": {"id": "t", "amount": 5}}, replayed=True),
                    engine.Outcome(409, error=engine.Refusal(409, "insufficient_funds", "The balance is too low."))):
        assert decode_outcome(encode_outcome(outcome)) == outcome


def test_a_lease_token_names_its_process():
    assert pid_of(new_token()) == os.getpid()

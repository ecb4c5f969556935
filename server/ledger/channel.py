"""The channel between the processes of a deployment and its ledger writer: redis lists.

`{prefix}:ops` is the one queue of operations handed to the writer: senders
LPUSH, the writer takes the oldest, up to a batch, with one BLMPOP (FIFO;
redis 7, else BRPOP and then RPOP for the rest). Each
operation names its reply list `{prefix}:reply:{id}`; the writer RPUSHes the
outcome there (pipelined for a whole batch, with a short expiry so an answer
nobody waits for any more disappears) and the sender BLPOPs it. Each round trip is
packed and read on one pooled connection (`_round_trip`), not by redis-py's pipeline. Payloads are
JSON: an operation is plain data (engine.Operation and its Caller).

Nothing here decides anything: remote.py says when to send, re-send and
answer; the writer's commit decides what an operation does.
"""

import datetime as dt
import json
import logging
import time
import uuid

from redis.exceptions import NoPermissionError, ResponseError

from ..kernel.caller import Caller, Origin
from .engine import Operation, Outcome, Refusal

log = logging.getLogger(__name__)

REPLY_TTL_MS = 120_000
# One encoder for every payload: json.dumps with separators builds a new one each call.
_encode = json.JSONEncoder(separators=(",", ":")).encode


def encode_op(op: Operation, reply_id, resent=False):
    caller = op.caller
    return _encode({
        "reply": reply_id, "sent": time.time(), "resent": resent,
        "op": [op.kind, op.idempotency_key, op.request_hash, op.from_account, op.to_account, op.amount,
               op.memo, op.reverses],
        "caller": [caller.id, caller.username, caller.role, caller.sid,
                   caller.created_at.isoformat() if caller.created_at else None,
                   caller.origin.request_id, caller.origin.client_address],
    })


def decode_op(payload):
    """(Operation, reply id, seconds since it was sent, resent) of a payload."""
    data = json.loads(payload)
    kind, key, request_hash, from_account, to_account, amount, memo, reverses = data["op"]
    cid, username, role, sid, created_at, request_id, address = data["caller"]
    caller = Caller(id=cid, username=username, role=role, sid=sid,
                    created_at=dt.datetime.fromisoformat(created_at) if created_at else None,
                    origin=Origin(request_id=request_id, client_address=address))
    op = Operation(kind=kind, caller=caller, idempotency_key=key, request_hash=request_hash,
                   from_account=from_account, to_account=to_account, amount=amount, memo=memo, reverses=reverses)
    return op, data["reply"], max(0.0, time.time() - data["sent"]), data["resent"]


def encode_outcome(outcome: Outcome):
    error = outcome.error
    refusal = [error.status, error.code, error.message] if error is not None else None
    return _encode([outcome.status, outcome.body, refusal, outcome.replayed])


def decode_outcome(payload):
    status, body, error, replayed = json.loads(payload)
    return Outcome(status, body=body, error=Refusal(*error) if error else None, replayed=replayed)


def _refused_command(exc):
    """A redis older than 7 does not know the command; an ACL may forbid it. Any other error
    (READONLY during a failover, ...) is the pump's to log and retry, not a reason to give up BLMPOP."""
    return isinstance(exc, NoPermissionError) or "unknown command" in str(exc).lower()


class Channel:
    def __init__(self, client, prefix):
        self.client = client
        self.prefix = prefix
        self.ops_key = f"{prefix}:ops"
        self._one_round_trip_take = True  # BLMPOP, until the server refuses it

    def new_reply_id(self):
        return uuid.uuid4().hex

    def reply_key(self, reply_id):
        return f"{self.prefix}:reply:{reply_id}"

    # --- senders ---------------------------------------------------------------------

    def send(self, payload, reply_id=None, timeout=None):
        """Queues the payload; with reply_id, also waits up to `timeout` for the answer in the same
        round trip (LPUSH and BLPOP pipelined) and returns it, or None."""
        if reply_id is None:
            self.client.lpush(self.ops_key, payload)
            return None
        found = self._round_trip([("LPUSH", self.ops_key, payload),
                                  ("BLPOP", self.reply_key(reply_id), max(0.01, timeout))])[1]
        return decode_outcome(found[1]) if found else None

    def withdraw(self, payload):
        """True when the payload was still queued (no writer took it), now removed."""
        return bool(self.client.lrem(self.ops_key, 1, payload))

    def send_first(self, payload):
        """Queued where the writer takes next: an operation whose writer died goes before new ones."""
        self.client.rpush(self.ops_key, payload)

    def wait_reply(self, reply_id, timeout):
        """The outcome, or None after `timeout` seconds."""
        found = self.client.blpop([self.reply_key(reply_id)], timeout=max(0.01, timeout))
        return decode_outcome(found[1]) if found else None

    # --- the writer ------------------------------------------------------------------------

    def take(self, timeout, most):
        """Up to `most` payloads, oldest first, waiting up to `timeout` for the first.

        One BLMPOP: a take costs the writer about half the client CPU of BRPOP then RPOP, or less
        (bench/RESULTS.md). A redis older than 7, or one whose ACL refuses BLMPOP, gets those two.
        """
        if self._one_round_trip_take:
            try:
                found = self._round_trip([("BLMPOP", timeout, 1, self.ops_key, "RIGHT", "COUNT", most)])[0]
            except ResponseError as exc:
                if not _refused_command(exc):
                    raise
                log.warning("ledger channel: BLMPOP refused (%s); taking with BRPOP and RPOP", exc)
                self._one_round_trip_take = False
            else:
                return found[1] if found else []
        first = self.client.brpop([self.ops_key], timeout=timeout)
        if not first:
            return []
        more = self.client.rpop(self.ops_key, most - 1) if most > 1 else None
        return [first[1], *(more or [])]

    def answer(self, replies):
        """[(reply id, Outcome)], in one round trip."""
        commands = []
        for reply_id, outcome in replies:
            key = self.reply_key(reply_id)
            commands += (("RPUSH", key, encode_outcome(outcome)), ("PEXPIRE", key, REPLY_TTL_MS))
        self._round_trip(commands)

    # --- the wire ---------------------------------------------------------------------------

    def _round_trip(self, commands):
        """The replies to `commands`, sent together on one pooled connection: a pipeline without
        redis-py 8's per-pipeline work (command stack, observability hooks), which was a third or more
        of what handing an operation over cost its sender (bench/RESULTS.md). A dropped connection is
        retried as the client's retry policy says, like a pipeline; after any other error the
        connection is closed, so no unread reply stays on a pooled socket."""
        pool = self.client.connection_pool
        conn = pool.get_connection()
        try:
            return conn.retry.call_with_retry(lambda: _exchange(conn, commands), lambda _error: conn.disconnect())
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)


def _exchange(conn, commands):
    conn.send_packed_command(conn.pack_commands(commands))
    return [conn.read_response() for _command in commands]

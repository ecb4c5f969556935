"""Firestore side of conversations and messages: documents, commits with their audit events, queries.

Documents:
- `conversations/{id}`: the two members, `message_count`, `last_message_at`
  and `activity_at` (last message, else creation: the list's sort key).
- `conversations/{id}/messages/{seq:010d}`: one message; the document id IS
  its seq, zero-padded so ids sort like numbers.

No transactions (no read locks), per FIRESTORE-EMULATOR.md: pessimistic
transactions on one hot conversation document deadlock in the emulator
until its lock timeout (bench/messages_naive.py measures it).

Sending is optimistic: read the conversation (message_count n and its
update_time), then one batch creates messages n+1..n+k with exists=False,
sets message_count = n+k with a last_update_time precondition on the
conversation, and writes one audit event per message. A concurrent commit
(another process) makes ours fail at once with FAILED_PRECONDITION (or
ALREADY_EXISTS on a message id); we re-read and retry after a jittered
backoff, a bounded number of times. Hence message n+1 commits in the same
commit that moves the counter from n, which only exists once message n
committed: a reader that sees seq m has every seq < m visible too.
Inside one process the Funnel makes sure one commit per conversation is in
flight at a time, so processes contend only with other processes.
"""

import random
import time

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter

from ..datastore import paginate
from ..kernel.audit import write_event
from ..kernel.clock import utcnow
from ..kernel.directory import username_ref
from ..kernel.errors import unavailable

CONVERSATIONS = "conversations"
MESSAGES = "messages"
SEQ_DIGITS = 10

# A lost race: someone else committed to the conversation since our read.
LOST_RACE = (gexc.FailedPrecondition, gexc.Conflict, gexc.Aborted)


class Gone(Exception):
    """The conversation does not exist (any more)."""


def message_id(seq: int) -> str:
    return f"{seq:0{SEQ_DIGITS}d}"


def plan_messages(conversation_id, message_count, drafts, now):
    """The message documents a batch of drafts becomes after `message_count` messages.

    Pure: seqs are message_count+1, +2... in the drafts' order; every draft is
    a dict with its "author" (the sending Caller) and "body".
    """
    return [(message_count + i, {
        "conversation_id": conversation_id, "seq": message_count + i,
        "author_id": d["author"].id, "author_username": d["author"].username,
        "body": d["body"], "created_at": now,
    }) for i, d in enumerate(drafts, start=1)]


def backoff_seconds(attempt, base=0.01, cap=0.5):
    """Full jitter: processes that collided do not collide again in lockstep."""
    return random.uniform(0, min(cap, base * 2 ** attempt))


class MessageStore:
    def __init__(self, datastore, max_attempts=30):
        self.datastore = datastore
        self.client = datastore.client
        self.max_attempts = max_attempts
        self.stats = {"commits": 0, "lost_races": 0}

    def _conversation_ref(self, conversation_id):
        return self.datastore.doc(CONVERSATIONS, conversation_id)

    def _message_ref(self, conversation_id, seq):
        return self._conversation_ref(conversation_id).collection(MESSAGES).document(message_id(seq))

    def user_id_of(self, username):
        """The user id behind a username, or None."""
        claim = username_ref(self.datastore, username).get()
        return claim.get("user_id") if claim.exists else None

    def conversation(self, conversation_id):
        snap = self._conversation_ref(conversation_id).get()
        return snap.to_dict() if snap.exists else None

    def create_conversation(self, conversation_id, doc, actor):
        """Creates it with its audit event; False when it already existed (nothing written)."""
        batch = self.datastore.batch()
        batch.create(self._conversation_ref(conversation_id), doc)
        write_event(batch, self.datastore, "conversation.create", f"{CONVERSATIONS}/{conversation_id}",
                    actor=actor, details={"member_ids": doc["member_ids"]})
        try:
            batch.commit()
        except gexc.Conflict:  # ALREADY_EXISTS: the pair's conversation is there (maybe a racing start)
            return False
        return True

    def append_messages(self, conversation_id, drafts):
        """Commits drafts as the next messages, in order; returns their (seq, doc). Raises Gone."""
        ref = self._conversation_ref(conversation_id)
        for attempt in range(self.max_attempts):
            snap = ref.get()
            if not snap.exists:
                raise Gone(conversation_id)
            planned = plan_messages(conversation_id, snap.get("message_count"), drafts, utcnow())
            batch = self.datastore.batch()
            for (seq, doc), draft in zip(planned, drafts, strict=True):
                batch.create(self._message_ref(conversation_id, seq), doc)
                write_event(batch, self.datastore, "message.create",
                            f"{CONVERSATIONS}/{conversation_id}/{MESSAGES}/{message_id(seq)}",
                            actor=draft["author"],
                            details={"conversation_id": conversation_id, "seq": seq,
                                     "body_length": len(doc["body"])},
                            at=doc["created_at"])
            last_seq, last_doc = planned[-1]
            batch.update(ref, {"message_count": last_seq, "last_message_at": last_doc["created_at"],
                               "activity_at": last_doc["created_at"]},
                         option=self.client.write_option(last_update_time=snap.update_time))
            try:
                batch.commit()
            except gexc.NotFound as exc:
                raise Gone(conversation_id) from exc
            except LOST_RACE:
                self.stats["lost_races"] += 1
                time.sleep(backoff_seconds(attempt))
                continue
            self.stats["commits"] += 1
            return planned
        raise unavailable("The conversation is too busy right now; try again.")

    # --- queries -----------------------------------------------------------------

    def conversations_of(self, user_id, limit, cursor):
        """(member_ids CONTAINS, activity_at DESC): most recent activity first; a composite index."""
        ref = self.datastore.collection(CONVERSATIONS)
        query = ref.where(filter=FieldFilter("member_ids", "array_contains", user_id))
        return paginate(query, ref, limit, cursor, order_by="activity_at")

    def messages_after(self, conversation_id, after, limit, cursor):
        """seq > after, oldest first: one field, so Firestore's built-in index serves it."""
        ref = self._conversation_ref(conversation_id).collection(MESSAGES)
        query = ref.where(filter=FieldFilter("seq", ">", after))
        return paginate(query, ref, limit, cursor, order_by="seq", descending=False)

"""Firestore side of conversations and messages: documents, commits with their audit events, queries.

Documents:
- `conversations/{id}`: the two members, `message_count`, `last_message_at`
  and `activity_at` (last message, else creation: the list's sort key).
- `conversations/{id}/messages/{seq:010d}`: one message; the document id IS
  its seq, zero-padded so ids sort like numbers.

No transactions (no read locks), per FIRESTORE-EMULATOR.md: pessimistic
transactions on one hot conversation document deadlock in the emulator
until its lock timeout (bench/messages_naive.py measures it).

Sending is one guarded commit (kernel/commits.py, Datastore.guarded): read
the conversation (message_count n and its update_time), then one batch
creates messages n+1..n+k with exists=False, sets message_count = n+k with a
last_update_time precondition on the conversation, and writes one audit event
per message. A concurrent commit (another process) makes ours lose the race
at once; guarded reads again and retries after a full-jitter wait, within
the store's RetryBudget, then answers 503. Hence message n+1 commits in the same
commit that moves the counter from n, which only exists once message n
committed: a reader that sees seq m has every seq < m visible too.
Inside one process the Funnel makes sure one commit per conversation is in
flight at a time, so processes contend only with other processes.
"""

from collections import Counter

from google.cloud.firestore_v1 import FieldFilter

from ..datastore import paginate
from ..kernel.audit import audit_write
from ..kernel.clock import utcnow
from ..kernel.collections import CONVERSATIONS, MESSAGES
from ..kernel.commits import LostRace, Plan, RetryBudget, Write
from ..kernel.directory import user_id_of

SEQ_DIGITS = 10


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


def decide_messages(conversation_id, drafts, now):
    """decide() of sending `drafts`: the messages after the conversation's count, their
    audit events and the conversation's new count, as one Plan whose result is [(seq, doc)]."""
    key = (CONVERSATIONS, conversation_id)
    messages = f"{CONVERSATIONS}/{conversation_id}/{MESSAGES}"

    def decide(docs):
        conversation = docs[key]
        if not conversation.exists:
            raise Gone(conversation_id)
        planned = plan_messages(conversation_id, conversation.data["message_count"], drafts, now())
        writes = []
        for (seq, doc), draft in zip(planned, drafts, strict=True):
            writes.append(Write("create", messages, message_id(seq), doc))
            writes.append(audit_write("message.create", f"{messages}/{message_id(seq)}", actor=draft["author"],
                                      details={"conversation_id": conversation_id, "seq": seq,
                                               "body_length": len(doc["body"])},
                                      at=doc["created_at"]))
        last_seq, last_doc = planned[-1]
        writes.append(Write("update", CONVERSATIONS, conversation_id, {
            "message_count": last_seq, "last_message_at": last_doc["created_at"],
            "activity_at": last_doc["created_at"]}))
        return Plan(writes, result=planned)

    return decide


class MessageStore:
    def __init__(self, datastore, max_attempts=30):
        self.datastore = datastore
        self.budget = RetryBudget(attempts=max_attempts, base=0.01, cap=0.5,
                                  message="The conversation is too busy right now; try again.")
        self.stats = Counter()  # commits and lost races of sends

    def _conversation_ref(self, conversation_id):
        return self.datastore.doc(CONVERSATIONS, conversation_id)

    def user_id_of(self, username):
        """The user id behind a username, or None."""
        return user_id_of(self.datastore, username)

    def conversation(self, conversation_id):
        snap = self._conversation_ref(conversation_id).get()
        return snap.to_dict() if snap.exists else None

    def create_conversation(self, conversation_id, doc, actor):
        """Creates it with its audit event; False when it already existed (nothing written)."""
        try:
            self.datastore.commit([
                Write("create", CONVERSATIONS, conversation_id, doc),
                audit_write("conversation.create", f"{CONVERSATIONS}/{conversation_id}", actor=actor,
                            details={"member_ids": doc["member_ids"]}),
            ], {})
        except LostRace:  # ALREADY_EXISTS: the pair's conversation is there (maybe a racing start)
            return False
        return True

    def append_messages(self, conversation_id, drafts):
        """Commits drafts as the next messages, in order; returns their (seq, doc). Raises Gone."""
        return self.datastore.guarded([(CONVERSATIONS, conversation_id)],
                                      decide_messages(conversation_id, drafts, utcnow), self.budget, self.stats)

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

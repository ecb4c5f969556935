"""Direct conversations between two users and their messages: who may see and do what.

Only the two members may see a conversation or post to it; everyone else
gets 404 (never 403), so its existence does not leak. A pair has exactly
one conversation: its id is derived from the sorted pair of user ids and
it is created with an exists=False precondition, so two users starting it
at once end up with the same one (201 for the creator, 200 for the other).
"""

import hashlib

from ..kernel.cache import BoundedCache
from ..kernel.clock import utcnow
from ..kernel.errors import not_found, validation_error
from ..kernel.paging import page_response
from ..kernel.views import document_view
from .funnel import Funnel
from .models import Conversation, Message
from .store import Gone, MessageStore, message_id

NO_CONVERSATION = "No such conversation."


def conversation_id(user_a: str, user_b: str) -> str:
    """The same id for a pair whoever starts it: a hash of the sorted user ids (fixed length, a valid doc id)."""
    first, second = sorted((user_a, user_b))
    return hashlib.sha256(f"{first}\n{second}".encode()).hexdigest()[:40]


def new_conversation(members):
    """The document of a fresh conversation; `members` is [(user_id, username)] of both."""
    members = sorted(members)
    now = utcnow()
    return {"member_ids": [uid for uid, _ in members], "members": [name for _, name in members],
            "created_at": now, "last_message_at": None, "activity_at": now, "message_count": 0}


def conversation_view(conv_id, doc):
    return document_view(Conversation, doc, id=conv_id)


def message_view(_doc_id, doc):
    return document_view(Message, doc, id=message_id(doc["seq"]))


class MessageService:
    """The messages of one app: its store and its per-conversation funnel."""

    def __init__(self, store: MessageStore, batch_max=50):
        self.store = store
        self.funnel = Funnel(self._commit, batch_max=batch_max)
        # Conversations are never deleted and their members never change: cache who they are.
        self._members = BoundedCache(100_000)

    def start_conversation(self, caller, with_username):
        """({"conversation"}, 201) when created, (..., 200) when it existed."""
        if with_username == caller.username:
            raise validation_error("You cannot start a conversation with yourself.",
                                   [{"field": "with", "message": "is the caller"}])
        other_id = self.store.user_id_of(with_username)
        if other_id is None or other_id == caller.id:
            raise not_found(f"No user named {with_username!r}.")
        conv_id = conversation_id(caller.id, other_id)
        existing = self.store.conversation(conv_id)
        if existing is None:
            doc = new_conversation([(caller.id, caller.username), (other_id, with_username)])
            if self.store.create_conversation(conv_id, doc, caller):
                return {"conversation": conversation_view(conv_id, doc)}, 201
            existing = self.store.conversation(conv_id)  # the other member won the race
        return {"conversation": conversation_view(conv_id, existing)}, 200

    def list_conversations(self, caller, query):
        return page_response(self.store.conversations_of(caller.id, query.limit, query.cursor),
                             conversation_view)

    def send(self, caller, conv_id, body):
        self._require_member(caller, conv_id)
        draft = {"author": caller, "body": body}
        seq, doc = self.funnel.submit(conv_id, draft)
        return {"message": message_view(message_id(seq), doc)}

    def list_messages(self, caller, conv_id, query):
        self._require_member(caller, conv_id)
        return page_response(self.store.messages_after(conv_id, query.after, query.limit, query.cursor),
                             message_view)

    def _commit(self, conv_id, drafts):
        try:
            return self.store.append_messages(conv_id, drafts)
        except Gone as exc:
            raise not_found(NO_CONVERSATION) from exc

    def _require_member(self, caller, conv_id):
        members = self._members.get(conv_id)
        if members is None:
            doc = self.store.conversation(conv_id)
            if doc is None:
                raise not_found(NO_CONVERSATION)
            members = self._members[conv_id] = tuple(doc["member_ids"])
        if caller.id not in members:
            raise not_found(NO_CONVERSATION)

"""Each hand-written view returns exactly its pydantic model's shape (the one the
OpenAPI document states): no field missing, none extra, every value of its type."""

import datetime as dt

import pytest
from pydantic import BaseModel

from server.audit.models import AuditEvent
from server.audit.store import event_view
from server.auth.models import User
from server.auth.service import user_view
from server.ledger.accounts import account_view, new_account
from server.ledger.engine import posting_view, transfer_view
from server.ledger.models import Account, Posting, Transfer
from server.messages.models import Conversation, Message
from server.messages.service import conversation_view, message_view, new_conversation
from server.photos.models import Photo, PhotoComment
from server.photos.service import photo_comment_view, photo_view
from server.posts.models import Comment, Post
from server.posts.service import post_comment_view, post_view

T = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
MODERATION = {"by": "boss", "by_id": "admin1", "at": T, "reason": "off topic"}
COMMENT = {"author_id": "u1", "author_username": "alice", "body": "hi", "created_at": T}
PHOTO = {"owner_id": "u1", "owner_username": "alice", "caption": "", "tags": ("a", "b"),
         "content_type": "image/png", "width": 10, "height": 20, "bytes": 300, "status": "pending",
         "comment_count": 0, "created_at": T, "moderation": None}
POST = {"author_id": "u1", "author_username": "alice", "title": "t", "body": "b", "status": "approved",
        "comment_count": 2, "created_at": T, "updated_at": T, "moderation": MODERATION}
TRANSFER = {"from_account": "a1", "to_account": "a2", "from_username": "alice", "to_username": "bob",
            "amount": 5, "currency": "EUR", "memo": None, "kind": "transfer", "status": "posted",
            "reverses": None, "created_at": T}
POSTING = {"account_id": "a1", "transfer_id": "t1", "amount": -5, "balance_after": 95, "created_at": T,
           "hash": "ab" * 32}
EVENT = {"at": T, "actor_id": None, "actor_username": "cli", "action": "user.promote", "target": "users/u1",
         "request_id": None, "details": {"at": T, "n": [1, T]}}

CASES = [
    (Post, post_view, POST),
    (Post, post_view, {**POST, "moderation": None, "status": "pending"}),
    (Comment, post_comment_view, {**COMMENT, "post_id": "p1"}),
    (Photo, photo_view, PHOTO),
    (Photo, photo_view, {**PHOTO, "moderation": MODERATION, "caption": "c"}),
    (PhotoComment, photo_comment_view, {**COMMENT, "photo_id": "ph1"}),
    (User, user_view, {"username": "alice", "role": "user", "created_at": T, "password_hash": "x"}),
    (Account, account_view, new_account("u1", "alice", "EUR")),
    (Transfer, transfer_view, TRANSFER),
    (Transfer, transfer_view, {**TRANSFER, "memo": "rent", "kind": "reversal", "reverses": "t0"}),
    (Posting, posting_view, POSTING),
    (Conversation, conversation_view, new_conversation([("u1", "alice"), ("u2", "bob")])),
    (Message, message_view, {**COMMENT, "conversation_id": "c1", "seq": 1}),
    (AuditEvent, event_view, EVENT),
]


@pytest.mark.parametrize("model, view, doc", CASES, ids=[f"{m.__name__}-{n}" for n, (m, _, _) in enumerate(CASES)])
def test_view_is_exactly_its_model(model: type[BaseModel], view, doc):
    body = view("id1", doc)
    assert model.model_validate(body).model_dump(mode="json") == body

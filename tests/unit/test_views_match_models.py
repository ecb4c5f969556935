"""Every view turns a stored document into exactly its pydantic model's shape (the
one the OpenAPI document states): no field missing, none extra (stored-only
fields such as password hashes, request hashes or parties never leak), every
value of its type, absent optional fields as null, times as RFC 3339 UTC."""

import datetime as dt
import re
import types
import typing

import pytest
from pydantic import BaseModel

from server.audit.models import AuditEvent
from server.audit.store import event_view
from server.auth.models import User
from server.auth.service import user_view
from server.kernel.clock import rfc3339
from server.kernel.views import StoredDocumentInvalid
from server.ledger.accounts import account_view, new_account
from server.ledger.engine import first_response, posting_view, transfer_view
from server.ledger.models import Account, Posting, Transfer
from server.messages.models import Conversation, Message
from server.messages.service import conversation_view, message_view, new_conversation
from server.photos.models import Photo, PhotoComment
from server.photos.service import photo_comment_view, photo_view
from server.posts.models import Comment, Post
from server.posts.service import post_comment_view, post_view

T = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
T_TEXT = "2026-01-02T03:04:05.678901Z"
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
MODERATION = {"by": "boss", "by_id": "admin1", "at": T, "reason": "off topic"}
COMMENT = {"author_id": "u1", "author_username": "alice", "body": "hi", "created_at": T}
PHOTO = {"owner_id": "u1", "owner_username": "alice", "caption": "", "tags": ("a", "b"),
         "content_type": "image/png", "width": 10, "height": 20, "bytes": 300, "status": "pending",
         "comment_count": 0, "created_at": T, "moderation": None}
POST = {"author_id": "u1", "author_username": "alice", "title": "t", "body": "b", "status": "approved",
        "comment_count": 2, "created_at": T, "updated_at": T, "moderation": MODERATION}
# Transfers and postings as the engine stores them, stored-only fields included.
TRANSFER = {"from_account": "a1", "to_account": "a2", "from_username": "alice", "to_username": "bob",
            "parties": ["u1", "u2"], "amount": 5, "currency": "EUR", "memo": None, "kind": "transfer",
            "status": "posted", "reverses": None, "reversed_by": None, "created_at": T, "created_by": "u1",
            "audit_event_id": "e1", "request_id": "r1", "request_hash": "ab" * 32}
POSTING = {"account_id": "a1", "owner_id": "u1", "transfer_id": "t1", "amount": -5, "balance_after": 95,
           "seq": 3, "prev_hash": "cd" * 32, "created_at": T, "hash": "ab" * 32}
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
    (Account, account_view, new_account(None, "treasury", "EUR", kind="treasury")),
    (Transfer, transfer_view, TRANSFER),
    (Transfer, transfer_view, {**TRANSFER, "memo": "rent", "kind": "reversal", "reverses": "t0"}),
    (Posting, posting_view, POSTING),
    (Conversation, conversation_view, new_conversation([("u1", "alice"), ("u2", "bob")])),
    (Message, message_view, {**COMMENT, "conversation_id": "c1", "seq": 1}),
    (AuditEvent, event_view, EVENT),
]
IDS = [f"{m.__name__}-{n}" for n, (m, _, _) in enumerate(CASES)]
# The ledger's and the audit trail's views read every field from the document.
LEDGER_AND_AUDIT = [(m, v, d) for m, v, d in CASES if m in (Account, Transfer, Posting, AuditEvent)]


def _nullable(model, name):
    annotation = model.model_fields[name].annotation
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return union and type(None) in typing.get_args(annotation)


@pytest.mark.parametrize("model, view, doc", CASES, ids=IDS)
def test_view_is_exactly_its_model(model: type[BaseModel], view, doc):
    body = view("id1", doc)
    assert list(body) == list(model.model_fields)  # nothing stored-only, nothing missing
    assert model.model_validate(body).model_dump(mode="json") == body  # valid and already plain JSON
    for name, value in doc.items():
        if name in body and isinstance(value, dt.datetime):
            assert body[name] == rfc3339(value) and RFC3339_UTC.match(body[name])


@pytest.mark.parametrize("model, view, doc", LEDGER_AND_AUDIT, ids=[m.__name__ for m, _, _ in LEDGER_AND_AUDIT])
def test_ledger_and_audit_views_take_every_field_from_the_document(model, view, doc):
    body = view("id1", doc)
    assert body["id"] == "id1"
    for name in body.keys() - {"id", "details"}:
        assert body[name] == (rfc3339(doc[name]) if isinstance(doc[name], dt.datetime) else doc[name]), name


@pytest.mark.parametrize("model, view, doc", LEDGER_AND_AUDIT, ids=[m.__name__ for m, _, _ in LEDGER_AND_AUDIT])
def test_absent_optional_fields_are_null_and_absent_required_ones_refused(model, view, doc):
    """A document missing a required field is the server's fault (a logged 500, never the
    client's 422); the audit trail shows such an event as stored rather than lose its page."""
    for name in doc.keys() & model.model_fields.keys():
        partial = {k: v for k, v in doc.items() if k != name}
        if _nullable(model, name):
            assert view("id1", partial)[name] is None, name
        elif model is AuditEvent:
            if name != "details":  # an event without details has {} (the view's own default)
                assert view("id1", partial)[name] is None, name
        else:
            with pytest.raises(StoredDocumentInvalid):
                view("id1", partial)


def test_times_in_any_zone_are_given_in_utc():
    paris = dt.timezone(dt.timedelta(hours=1))
    body = transfer_view("t1", {**TRANSFER, "created_at": T.astimezone(paris)})
    assert body["created_at"] == T_TEXT
    assert event_view("e1", EVENT)["details"] == {"at": T_TEXT, "n": [1, T_TEXT]}


def test_a_replayed_transfer_is_shown_as_first_created():
    reversed_later = {**TRANSFER, "status": "reversed", "reversed_by": "t9"}
    assert first_response("t1", reversed_later) == {"transfer": {**transfer_view("t1", TRANSFER), "status": "posted"}}

"""Pieces every kind of user content shares (posts, photos): text fields, comments, moderation.

Lengths are counted in characters (Unicode code points). Text is kept exactly
as sent: nothing is stripped or escaped; only text that is empty, blank
(whitespace or invisible characters only) or not encodable (lone surrogates)
is refused.
"""

import unicodedata
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from ..kernel.caller import is_admin
from ..kernel.clock import utcnow
from ..kernel.errors import conflict, not_found
from ..kernel.models import StrictModel, Timestamp, envelope_model
from ..kernel.paging import ListQuery, page_model
from ..kernel.text import text_field
from ..kernel.views import document_view

Status = Literal["pending", "approved", "rejected"]


def check_encodable(value: str) -> str:
    """For text that may be empty (a caption): only lone surrogates are refused."""
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValueError("text must not contain lone surrogates")
    return value


CommentBody = text_field(2_000, "1-2000 characters; stored and returned as given.")
Reason = text_field(500, "1-500 characters.")


class CommentCreate(StrictModel):
    body: CommentBody = Field(examples=["Nice post!"])


class RejectRequest(StrictModel):
    reason: Reason = Field(examples=["off topic"])


class ModerationQuery(ListQuery):
    status: Status = Field("pending", description="Which items to list.")


class Moderation(BaseModel):
    by: str = Field(description="Username of the moderator.")
    by_id: str | None = Field(description="User id of the moderator: shown to admins only (null for everyone else).")
    at: Timestamp
    reason: str | None


class ResponseModels(NamedTuple):
    """The envelope and page models of one kind of content and of its comments."""

    envelope: type[BaseModel]
    page: type[BaseModel]
    comment_envelope: type[BaseModel]
    comment_page: type[BaseModel]


def response_models(kind, item_model, comment_model):
    """`{kind: item}`, `{"comment": comment}` and the pages of both, named after their
    models as the OpenAPI components are (Post: PostEnvelope, PostPage; Comment:
    CommentEnvelope, CommentPage)."""
    item_name, comment_name = item_model.__name__, comment_model.__name__
    return ResponseModels(envelope_model(f"{item_name}Envelope", kind, item_model),
                          page_model(item_model, f"{item_name}Page"),
                          envelope_model(f"{comment_name}Envelope", "comment", comment_model),
                          page_model(comment_model, f"{comment_name}Page"))


def moderation_record(admin, at, reason=None):
    """What a moderation decision stores on the item."""
    return {"by": admin.username, "by_id": admin.id, "at": at, "reason": reason}


def moderation_view(moderation, caller):
    """The stored record as `caller` sees it (None when never moderated): the moderator's
    user id is for admins only, since a user id is what a sign-in attack needs to aim at."""
    if not moderation:
        return None
    return document_view(Moderation, {**moderation, "by_id": moderation.get("by_id") if is_admin(caller) else None})


# --- use-case pieces (no Firestore here: stores apply the plans) -------------------


@dataclass
class Change:
    """What to do to one item: the plan a decide() function returns for a store's `change`."""

    action: str                      # audit action, e.g. "post.approve"
    updates: dict | None = None      # fields to update; None deletes the item
    details: dict = field(default_factory=dict)

    @property
    def deletes(self):
        return self.updates is None


def visible(doc, caller, owner_field):
    """Whether `caller` (None when anonymous) may see the item at all: approved, or theirs, or an admin."""
    if doc is None:
        return False
    return doc["status"] == "approved" or is_admin(caller) or (caller is not None and caller.id == doc[owner_field])


def moderation_decision(kind, admin, status, reason=None):
    """decide() for approving or rejecting an item of `kind` ("post", "photo"); 409 when already so."""
    action = f"{kind}.approve" if status == "approved" else f"{kind}.reject"

    def decide(doc):
        if doc is None:
            raise not_found(f"No such {kind}.")
        if doc["status"] == status:
            raise conflict(f"The {kind} is already {status}.")
        now = utcnow()
        return Change(action, {"status": status, "moderation": moderation_record(admin, now, reason),
                               "updated_at": now}, {"from_status": doc["status"], "reason": reason})

    return decide


def comment_view(model):
    """view(comment_id, doc) for the comments of one kind of item (their response model)."""
    def view(comment_id, doc):
        return document_view(model, doc, id=comment_id)
    return view

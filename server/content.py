"""Pieces every kind of user content shares (posts, photos): text fields, comments, moderation.

Lengths are counted in characters (Unicode code points). Text is kept exactly
as sent: nothing is stripped or escaped; only text that is empty, blank
(whitespace or invisible characters only) or not encodable (lone surrogates)
is refused.
"""

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from .common import ListQuery, StrictModel, rfc3339

Status = Literal["pending", "approved", "rejected"]

# Categories that show nothing on screen: whitespace (Z*), controls (Cc), format (Cf, e.g. U+200B).
_INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf"}


def check_encodable(value: str) -> str:
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValueError("text must not contain lone surrogates")
    return value


def check_text(value: str) -> str:
    check_encodable(value)
    if all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in value):
        raise ValueError("text must not be blank")
    return value


def text_field(max_length, description, check=check_text):
    return Annotated[str, Field(min_length=1, max_length=max_length, description=description),
                     AfterValidator(check)]


CommentBody = text_field(2_000, "1-2000 characters, not blank; stored and returned as given.")
Reason = text_field(500, "1-500 characters, not blank.")


class CommentCreate(StrictModel):
    body: CommentBody = Field(examples=["Nice post!"])


class RejectRequest(StrictModel):
    reason: Reason = Field(examples=["off topic"])


class ModerationQuery(ListQuery):
    status: Status = Field("pending", description="Which items to list.")


class Moderation(BaseModel):
    by: str = Field(description="Username of the moderator.")
    by_id: str | None = Field(description="User id of the moderator.")
    at: str
    reason: str | None


def moderation_record(admin, at, reason=None):
    """What a moderation decision stores on the item."""
    return {"by": admin["username"], "by_id": admin["id"], "at": at, "reason": reason}


def moderation_view(moderation):
    """The stored record as the API shows it (None when never moderated)."""
    if not moderation:
        return None
    return {"by": moderation["by"], "by_id": moderation.get("by_id"),
            "at": rfc3339(moderation["at"]), "reason": moderation.get("reason")}

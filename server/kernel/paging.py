"""List paging: the query model, page models, opaque cursors and the list body.

Running the query is the datastore's job (server/datastore.py: paginate).
"""

import base64
import binascii
import datetime as dt
import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from .errors import validation_error
from .ids import is_doc_id
from .models import SchemaCachedModel

# What encode_cursor hands out: unpadded base64url of compact JSON, [sort value, id]. With
# ids of up to 141 characters (a posting of a 128-character Firebase uid) and a time as the
# sort value that is under 300 bytes, so within the 400 characters the validator allows.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{0,400}$"


class ListQuery(SchemaCachedModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(20, ge=1, le=100)
    # Documented as the string it is when sent (absent otherwise: no `default: null`).
    cursor: Annotated[str | None, WithJsonSchema({"type": "string", "pattern": CURSOR_PATTERN})] = Field(
        None, max_length=400, description="Opaque; from next_cursor. A malformed or unknown cursor is a 422; "
                                          "a cursor stays valid when its item changes or is deleted.",
        json_schema_extra=lambda schema: schema.pop("default", None))


def page_model(item_model, name):
    """A list response `{"items": [...], "next_cursor"}` for one item model."""
    return type(name, (BaseModel,), {
        "__annotations__": {"items": list[item_model], "next_cursor": str | None},
    })


def encode_cursor(value, doc_id: str) -> str:
    """The position just after one item: its sort value and its id.

    A position, not a document: when the item changes its sort value (a
    conversation's activity) or is deleted before the next page is asked
    for, the next page still starts where this one ended.
    """
    key = {"t": value.astimezone(dt.UTC).isoformat()} if isinstance(value, dt.datetime) else value
    raw = json.dumps([key, doc_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def invalid_cursor(reason="invalid cursor"):
    return validation_error("Invalid cursor.", [{"field": "cursor", "message": reason}])


def _position(raw):
    """(sort value, doc id) of a position cursor's JSON; ValueError when it is not one."""
    key, doc_id = json.loads(raw)
    if isinstance(key, dict) and set(key) == {"t"} and isinstance(key["t"], str):
        key = dt.datetime.fromisoformat(key["t"])
        if key.tzinfo is None:
            raise ValueError("a time without its zone")
        key = key.astimezone(dt.UTC)  # OverflowError past year 1 or 9999 in UTC
    elif isinstance(key, bool) or not (key is None or isinstance(key, int | float | str)):
        raise ValueError("not a sort value")
    elif isinstance(key, int) and not -2**63 <= key < 2**63:  # Firestore's integers are 64-bit
        raise ValueError("out of range")
    if not is_doc_id(doc_id):
        raise ValueError("not a document id")
    return key, doc_id


def decode_cursor(cursor: str):
    """(sort value, doc id) of a position; a bare document id for a cursor handed
    out before positions (still honoured); else 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
        if raw.startswith("["):
            return _position(raw)
    except (binascii.Error, UnicodeError, ValueError, TypeError, OverflowError):
        raise invalid_cursor() from None
    if not is_doc_id(raw):
        raise invalid_cursor()
    return raw


def page_response(snapshots_and_cursor, view):
    """The contract's list body from paginate()'s result and a view(id, doc) function."""
    snapshots, next_cursor = snapshots_and_cursor
    return {"items": [view(s.id, s.to_dict()) for s in snapshots], "next_cursor": next_cursor}

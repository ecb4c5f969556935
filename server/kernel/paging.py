"""List paging: the query model, page models, opaque cursors and the list body.

Running the query is the datastore's job (server/datastore.py: paginate).
"""

import base64
import binascii
import datetime as dt
import json
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from .errors import validation_error
from .ids import DOC_ID_PATTERN, is_doc_id
from .models import SchemaCachedModel

# What encode_cursor hands out: the last item's sort value and its id, as `t<microseconds
# since 1970>.<id>` for a time, `n<integer>.<id>` for a number (every sort field is one of
# the two); an empty cursor is the first page, as none. Every string of this pattern is a
# position the server takes (a fuzzer at its defaults finds no valid-looking cursor that is
# refused); 17 digits of microseconds stay before the year 5138 and 18 digits of an integer
# within Firestore's 64 bits.
DOC_ID_PART = DOC_ID_PATTERN.removeprefix("^").removesuffix("$")
CURSOR_PATTERN = rf"^(?:(?:t[0-9]{{1,17}}|n-?[0-9]{{1,18}})\.{DOC_ID_PART})?$"
_CURSOR = re.compile(CURSOR_PATTERN)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ListQuery(SchemaCachedModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(20, ge=1, le=100)
    # Documented as the string it is when sent (absent otherwise: no `default: null`).
    cursor: Annotated[str | None, WithJsonSchema({"type": "string", "pattern": CURSOR_PATTERN})] = Field(
        None, max_length=400, description="Opaque; from next_cursor: a position in the list (the item it was "
                                          "made from may change or go away). Any string of the pattern is a "
                                          "position; anything else is a 422.",
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
    if isinstance(value, dt.datetime):
        delta = value.astimezone(dt.UTC) - _EPOCH
        return f"t{(delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds}.{doc_id}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"n{value}.{doc_id}"
    raise TypeError(f"no cursor for a sort value of type {type(value).__name__}")


def invalid_cursor(reason="invalid cursor"):
    return validation_error("Invalid cursor.", [{"field": "cursor", "message": reason}])


def _position(raw):
    """(sort value, doc id) of an earlier version's cursor (JSON); ValueError when it is not one."""
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
    """(sort value, doc id) of a position; 422 for anything else. Cursors of earlier
    versions (base64url of a JSON position or of a document id) are still honoured."""
    if cursor and _CURSOR.fullmatch(cursor):
        key, doc_id = cursor[1:].split(".", 1)
        if cursor[0] == "t":
            return _EPOCH + dt.timedelta(microseconds=int(key)), doc_id
        return int(key), doc_id
    return _earlier_cursor(cursor)


def _earlier_cursor(cursor: str):
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

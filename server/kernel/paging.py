"""List paging: the query model, page models, opaque cursors and the list body.

Running the query is the datastore's job (server/datastore.py: paginate).
"""

import base64
import binascii
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from .errors import validation_error
from .ids import is_doc_id
from .models import SchemaCachedModel

# What encode_cursor hands out: unpadded base64url of an id of at most 128 characters.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{0,171}$"


class ListQuery(SchemaCachedModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(20, ge=1, le=100)
    # Documented as the string it is when sent (absent otherwise: no `default: null`).
    cursor: Annotated[str | None, WithJsonSchema({"type": "string", "pattern": CURSOR_PATTERN})] = Field(
        None, max_length=400, description="Opaque; from next_cursor. An unknown or stale cursor is a 422.",
        json_schema_extra=lambda schema: schema.pop("default", None))


def page_model(item_model, name):
    """A list response `{"items": [...], "next_cursor"}` for one item model."""
    return type(name, (BaseModel,), {
        "__annotations__": {"items": list[item_model], "next_cursor": str | None},
    })


def encode_cursor(doc_id: str) -> str:
    return base64.urlsafe_b64encode(doc_id.encode()).decode().rstrip("=")


def invalid_cursor(reason="invalid cursor"):
    return validation_error("Invalid cursor.", [{"field": "cursor", "message": reason}])


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        doc_id = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        doc_id = ""
    if not is_doc_id(doc_id):
        raise invalid_cursor()
    return doc_id


def page_response(snapshots_and_cursor, view):
    """The contract's list body from paginate()'s result and a view(id, doc) function."""
    snapshots, next_cursor = snapshots_and_cursor
    return {"items": [view(s.id, s.to_dict()) for s in snapshots], "next_cursor": next_cursor}

"""Small pieces shared by every domain: time, ids, list paging, shared models."""

import base64
import binascii
import datetime as dt
import re
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, WithJsonSchema

from .errors import validation_error

UTC = dt.UTC

# Bounds of the contract: 1 <= amount <= 1_000_000_000_00 minor units.
MAX_AMOUNT = 1_000_000_000_00

# Ids the API hands out (uuid hex, account_seq); never Firestore's reserved __x__ names.
DOC_ID_PATTERN = r"^(?!__.*__$)[A-Za-z0-9_-]{1,128}$"
_DOC_ID = re.compile(DOC_ID_PATTERN)
# What encode_cursor hands out: unpadded base64url of an id of at most 128 characters.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{0,171}$"

USERNAME_PATTERN = re.compile(r"^[a-z0-9_]{3,32}$")
# What a client may send: the input is lower-cased first, so A-Z pass too, and
# U+212A KELVIN SIGN, the one other character whose lower case is in [a-z0-9_].
USERNAME_INPUT_PATTERN = r"^[A-Za-z0-9_\u212a]{3,32}$"


def normalize_username(value: str) -> str:
    """Lower-cases first, as the contract says, then checks the alphabet and length."""
    value = value.lower()
    if not USERNAME_PATTERN.match(value):
        raise ValueError("username must be 3-32 characters of a-z, 0-9 and _")
    return value


def is_doc_id(value) -> bool:
    return isinstance(value, str) and bool(_DOC_ID.match(value))


def _check_doc_id(value: str) -> str:
    if not is_doc_id(value):
        raise ValueError("not a valid id")
    return value


# A path or query id: letters, digits, _ and -, at most 128, not __reserved__.
# The schema states the validator's regex (pydantic's own `pattern` has no lookahead).
DocId = Annotated[str, AfterValidator(_check_doc_id), WithJsonSchema(
    {"type": "string", "pattern": DOC_ID_PATTERN, "minLength": 1, "maxLength": 128})]

# Case-insensitive; normalised to lower case.
Username = Annotated[str, AfterValidator(normalize_username), WithJsonSchema(
    {"type": "string", "pattern": USERNAME_INPUT_PATTERN, "minLength": 3, "maxLength": 32})]


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def rfc3339(value) -> str | None:
    """Firestore timestamps (DatetimeWithNanoseconds) and datetimes as RFC 3339 UTC."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_id() -> str:
    return uuid.uuid4().hex


class StrictModel(BaseModel):
    """Request bodies: unknown fields are refused, strings are not stripped."""

    model_config = ConfigDict(extra="forbid", strict=True)


Amount = StrictInt
AmountField = Field(ge=1, le=MAX_AMOUNT, description="Integer minor units (cents).")


class ErrorDetail(BaseModel):
    field: str
    message: str
    type: str | None = None


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[Any] | None = None


class ErrorBody(BaseModel):
    """The one error shape of every non-2xx response."""

    error: ErrorInfo


_SCHEMAS = {}


class SchemaCachedModel(BaseModel):
    """For header and query models: flask-openapi3 asks them for their JSON
    schema on every request (about a tenth of a transfer's CPU); it never changes."""

    @classmethod
    def model_json_schema(cls, *args, **kwargs):
        if args or kwargs:  # the spec generator's calls: rare, leave them alone
            return super().model_json_schema(*args, **kwargs)
        if cls not in _SCHEMAS:
            _SCHEMAS[cls] = super().model_json_schema()
        return _SCHEMAS[cls]


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


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        doc_id = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        doc_id = ""
    if not is_doc_id(doc_id):
        raise validation_error("Invalid cursor.", [{"field": "cursor", "message": "invalid cursor"}])
    return doc_id


def paginate(query, collection_ref, limit: int, cursor: str | None):
    """Runs an ordered query one page at a time.

    The cursor names the last document of the previous page; its snapshot
    positions the next page, so equal sort keys never repeat or skip items.
    Returns (snapshots, next_cursor).
    """
    if cursor:
        last = collection_ref.document(decode_cursor(cursor)).get()
        if not last.exists:
            raise validation_error("Invalid cursor.", [{"field": "cursor", "message": "unknown cursor"}])
        query = query.start_after(last)
    snapshots = list(query.limit(limit + 1).stream())
    if len(snapshots) > limit:
        return snapshots[:limit], encode_cursor(snapshots[limit - 1].id)
    return snapshots, None


def page_response(snapshots_and_cursor, view):
    """The contract's list body from paginate()'s result and a view(id, doc) function."""
    snapshots, next_cursor = snapshots_and_cursor
    return {"items": [view(s.id, s.to_dict()) for s in snapshots], "next_cursor": next_cursor}

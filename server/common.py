"""Small pieces shared by every domain: time, ids, list paging, shared models."""

import base64
import binascii
import datetime as dt
import re
import unicodedata
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


# Categories that show nothing on screen: whitespace (Z*), controls (Cc), format (Cf, e.g. U+200B).
_INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf"}


def check_text(value: str) -> str:
    """User text is kept as sent; only blank or unencodable (lone surrogates) text is refused."""
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValueError("text must not contain lone surrogates")
    if all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in value):
        raise ValueError("text must not be blank")
    return value


# check_text's rule as a regular expression for the OpenAPI document, over code point
# ranges (scanning all of Unicode at start-up takes a second; a test checks them
# against unicodedata, and fails when a new Python brings a new Unicode version):
# isspace() or a category in _INVISIBLE.
INVISIBLE_RANGES = (
    (0x0000, 0x0020), (0x007f, 0x00a0), (0x00ad, 0x00ad), (0x0600, 0x0605), (0x061c, 0x061c),
    (0x06dd, 0x06dd), (0x070f, 0x070f), (0x0890, 0x0891), (0x08e2, 0x08e2), (0x1680, 0x1680),
    (0x180e, 0x180e), (0x2000, 0x200f), (0x2028, 0x202f), (0x205f, 0x2064), (0x2066, 0x206f),
    (0x3000, 0x3000), (0xfeff, 0xfeff), (0xfff9, 0xfffb), (0x110bd, 0x110bd), (0x110cd, 0x110cd),
    (0x13430, 0x13438), (0x1bca0, 0x1bca3), (0x1d173, 0x1d17a), (0xe0001, 0xe0001), (0xe0020, 0xe007f),
)


def char_class(ranges):
    """The inside of a regex character class: \\uXXXX escapes in the BMP (ECMA-262 and
    Python agree on them), the character itself above it (one code point in both)."""
    def char(code):
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)
    return "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in ranges)


# At least one visible character (lone surrogates cannot be stated portably: described instead).
VISIBLE_TEXT_PATTERN = f"[^{char_class(INVISIBLE_RANGES)}]"
TEXT_RULES = ("Not blank: at least one character that is not white space, a control or a format "
              "character; no lone surrogates.")


def text_field(max_length, description, check=check_text, pattern=VISIBLE_TEXT_PATTERN):
    """A strict string of 1..max_length characters (code points) that passes `check`,
    documented with `pattern`, the same rule as a regular expression."""
    return Annotated[str, Field(min_length=1, max_length=max_length, description=f"{description} {TEXT_RULES}"),
                     AfterValidator(check), WithJsonSchema(
                         {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": pattern})]


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

"""Request and response models of posts, comments and moderation (they also feed the OpenAPI document).

Lengths are counted in characters (Unicode code points). Text is kept exactly
as sent: nothing is stripped or escaped; only text that is empty, blank
(whitespace or invisible characters only) or not encodable (lone surrogates)
is refused, and titles may not hold control characters.
"""

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from ..common import DocId, ListQuery, StrictModel, page_model

Status = Literal["pending", "approved", "rejected"]

# Categories that show nothing on screen: whitespace (Z*), controls (Cc), format (Cf, e.g. U+200B).
_INVISIBLE = {"Zs", "Zl", "Zp", "Cc", "Cf"}


def _check_text(value: str) -> str:
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        raise ValueError("text must not contain lone surrogates")
    if all(ch.isspace() or unicodedata.category(ch) in _INVISIBLE for ch in value):
        raise ValueError("text must not be blank")
    return value


_LINE_BREAKING = {"Cc", "Zl", "Zp"}


def _check_title(value: str) -> str:
    if any(unicodedata.category(ch) in _LINE_BREAKING for ch in value):
        raise ValueError("title must not contain control characters or line breaks")
    return _check_text(value)


# The same rules as regular expressions for the OpenAPI document, as code point
# ranges (scanning all of Unicode at start-up takes a second; a test checks
# these against unicodedata, and fails when a new Python brings a new Unicode).
# INVISIBLE: isspace() or a category in _INVISIBLE; LINE_BREAKING: _LINE_BREAKING.
INVISIBLE_RANGES = (
    (0x0000, 0x0020), (0x007f, 0x00a0), (0x00ad, 0x00ad), (0x0600, 0x0605), (0x061c, 0x061c),
    (0x06dd, 0x06dd), (0x070f, 0x070f), (0x0890, 0x0891), (0x08e2, 0x08e2), (0x1680, 0x1680),
    (0x180e, 0x180e), (0x2000, 0x200f), (0x2028, 0x202f), (0x205f, 0x2064), (0x2066, 0x206f),
    (0x3000, 0x3000), (0xfeff, 0xfeff), (0xfff9, 0xfffb), (0x110bd, 0x110bd), (0x110cd, 0x110cd),
    (0x13430, 0x13438), (0x1bca0, 0x1bca3), (0x1d173, 0x1d17a), (0xe0001, 0xe0001), (0xe0020, 0xe007f),
)
LINE_BREAKING_RANGES = ((0x0000, 0x001f), (0x007f, 0x009f), (0x2028, 0x2029))


def _char_class(ranges):
    """The inside of a regex character class: \\uXXXX escapes in the BMP (ECMA-262 and
    Python agree on them), the character itself above it (one code point in both)."""
    def char(code):
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)
    return "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in ranges)


# At least one visible character (lone surrogates cannot be stated portably: described instead).
VISIBLE_TEXT_PATTERN = f"[^{_char_class(INVISIBLE_RANGES)}]"
TITLE_PATTERN = (f"^[^{_char_class(LINE_BREAKING_RANGES)}]*[^{_char_class(INVISIBLE_RANGES)}]"
                 f"[^{_char_class(LINE_BREAKING_RANGES)}]*$")


def _text(max_length, description, check=_check_text, pattern=VISIBLE_TEXT_PATTERN):
    return Annotated[str, Field(min_length=1, max_length=max_length, description=description),
                     AfterValidator(check), WithJsonSchema(
                         {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": pattern})]


_RULES = " Not blank: at least one character that is not white space, a control or a format " \
         "character; no lone surrogates."
Title = _text(200, "1-200 characters, no control characters or line breaks." + _RULES, _check_title,
              TITLE_PATTERN)
PostBody = _text(10_000, "1-10000 characters; stored and returned as given." + _RULES)
CommentBody = _text(2_000, "1-2000 characters; stored and returned as given." + _RULES)
Reason = _text(500, "1-500 characters." + _RULES)


def _optional(schema):
    """An omitted field, not a nullable one: no `default: null` on a string in the schema."""
    schema.pop("default", None)


class PostCreate(StrictModel):
    title: Title = Field(examples=["Hello"])
    body: PostBody = Field(examples=["My first post."])


class PostUpdate(StrictModel):
    """At least one of title and body; the post goes back to `pending`."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    # Omitted means "unchanged"; an explicit null is refused (strict str).
    title: Title = Field(None, json_schema_extra=_optional)
    body: PostBody = Field(None, json_schema_extra=_optional)

    @model_validator(mode="after")
    def _something_to_change(self):
        if self.title is None and self.body is None:
            raise ValueError("give a title, a body or both")
        return self


class CommentCreate(StrictModel):
    body: CommentBody = Field(examples=["Nice post!"])


class RejectRequest(StrictModel):
    reason: Reason = Field(examples=["off topic"])


class PostPath(BaseModel):
    post_id: DocId


class ModerationQuery(ListQuery):
    status: Status = Field("pending", description="Which posts to list.")


class Moderation(BaseModel):
    by: str = Field(description="Username of the moderator.")
    by_id: str | None = Field(description="User id of the moderator.")
    at: str
    reason: str | None


class Post(BaseModel):
    id: str
    author_id: str
    author_username: str
    title: str
    body: str
    status: Status
    comment_count: int
    created_at: str
    updated_at: str
    moderation: Moderation | None


class Comment(BaseModel):
    id: str
    post_id: str
    author_id: str
    author_username: str
    body: str
    created_at: str


class PostEnvelope(BaseModel):
    post: Post


class CommentEnvelope(BaseModel):
    comment: Comment


PostPage = page_model(Post, "PostPage")
CommentPage = page_model(Comment, "CommentPage")

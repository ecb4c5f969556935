"""Request and response models of photos, their comments and moderation (they also feed the OpenAPI document).

The upload is `multipart/form-data`: the image is a file part, checked by
`images.py`; the text parts are validated here, exactly as sent (no JSON
decoding of form values, no stripping of the caption).
"""

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..kernel.ids import DocId
from ..kernel.models import AuthoredText, StrictModel, Timestamp
from ..kernel.paging import ListQuery
from ..moderation.models import Moderation, Status, check_encodable, response_models

MAX_TAGS = 10
TAG_PATTERN = re.compile(r"^[a-z0-9_]{1,30}$")
TAG_RULE = "1-30 characters of a-z, 0-9 and _ (after lower-casing)"
# The same as JSON-schema patterns: lower-casing admits A-Z and U+212A KELVIN SIGN
# (see kernel/text.py USERNAME_INPUT_PATTERN); tags are separated by commas, with white space
# around them ignored. The count (at most 10 once repeats are dropped) is described.
_TAG = r"[A-Za-z0-9_\u212a]{1,30}"
TAG_QUERY_PATTERN = rf"^({_TAG})?$"
TAGS_FORM_PATTERN = rf"^\s*({_TAG}\s*(,\s*{_TAG}\s*)*)?$"


def normalize_tag(value: str) -> str:
    """Lower-cases first, as the contract says, then checks the alphabet and length."""
    tag = value.lower()
    if not TAG_PATTERN.fullmatch(tag):
        raise ValueError(f"each tag must be {TAG_RULE}")
    return tag


def parse_tags(value: str) -> list[str]:
    """Comma-separated tags; spaces around a tag are ignored, repeats count once."""
    if not value.strip():
        return []
    tags = list(dict.fromkeys(normalize_tag(part.strip()) for part in value.split(",")))
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return tags


class PhotoFields(StrictModel):
    """The text parts of an upload."""

    caption: str = Field("", max_length=500, description="0-500 characters, stored as given.")
    tags: list[str] = Field(default_factory=list, description=(
        f"Comma-separated, at most {MAX_TAGS}, each {TAG_RULE}."))

    @field_validator("caption")
    @classmethod
    def _caption(cls, value):
        return check_encodable(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value):
        return parse_tags(value) if isinstance(value, str) else value


class PhotoUploadForm(BaseModel):
    """The multipart form of `POST /photos`, for the OpenAPI document."""

    model_config = ConfigDict(extra="forbid")

    image: bytes = Field(json_schema_extra={"format": "binary", "type": "string"},
                         description="JPEG, PNG or WebP; at most 10 MiB and 40 million pixels.")
    caption: str = Field("", max_length=500, description="0-500 characters.")
    tags: str = Field("", description=f"Comma-separated, at most {MAX_TAGS}, each {TAG_RULE}.",
                      examples=["sunset,beach"], json_schema_extra={"pattern": TAGS_FORM_PATTERN})


class PhotoPath(BaseModel):
    photo_id: DocId


class PhotoQuery(ListQuery):
    tag: str | None = Field(None, max_length=30, description=f"Only photos with this tag ({TAG_RULE}).",
                            json_schema_extra={"pattern": TAG_QUERY_PATTERN})
    label: str | None = Field(None, max_length=30, description=(
        f"Only photos with this machine label, e.g. `cat` ({TAG_RULE}); an unknown label gives an empty page. "
        "With `tag`: photos with both."), json_schema_extra={"pattern": TAG_QUERY_PATTERN})
    owner: str | None = Field(None, max_length=32, description="Only photos of this user (username).")

    @field_validator("tag", "label")
    @classmethod
    def _tag(cls, value):
        return normalize_tag(value) if value else None

    @field_validator("owner")
    @classmethod
    def _owner(cls, value):
        return value.lower() if value else None


class Label(BaseModel):
    """A machine label: set by the server's detector, never by users (their words are `tags`)."""

    name: str = Field(description="What was recognised, e.g. `cat`.")
    score: float | None = Field(description="The detector's confidence, if it gives one (the cat-face cascade: null).")
    by: str = Field(description="`<detector>@<version>` that set the label.")


class Photo(BaseModel):
    id: str
    owner_id: str
    owner_username: str
    caption: str
    tags: list[str]
    content_type: str = Field(description="image/jpeg, image/png or image/webp.")
    width: int
    height: int
    bytes: int = Field(description="Size of the stored (re-encoded) image.")
    status: Status
    comment_count: int
    created_at: Timestamp
    moderation: Moderation | None
    image_url: str
    thumbnail_url: str
    labels: list[Label] = Field(description="Machine labels (empty when nothing was recognised); server-set only.")


class PhotoComment(AuthoredText):
    photo_id: str


PHOTO_RESPONSES = response_models("photo", Photo, PhotoComment)
PhotoEnvelope, PhotoPage, PhotoCommentEnvelope, PhotoCommentPage = PHOTO_RESPONSES

"""Request and response models of posts, comments and moderation (they also feed the OpenAPI document).

Lengths are counted in characters (Unicode code points). Text is kept exactly
as sent: nothing is stripped or escaped; only text that is empty, blank
(whitespace or invisible characters only) or not encodable (lone surrogates)
is refused, and titles may not hold control characters.
"""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..kernel.ids import DocId
from ..kernel.models import AuthoredText, StrictModel, Timestamp
from ..kernel.text import single_line_field, text_field
from ..moderation.models import Moderation, Status, response_models
from ..photos.models import Photo

Title = single_line_field(200)
PostBody = text_field(10_000, "1-10000 characters; stored and returned as given.")


def _optional(schema):
    """An omitted field, not a nullable one: no `default: null` on a string in the schema."""
    schema.pop("default", None)


MAX_PHOTOS = 4


def _photo_ids_schema(schema):
    schema["uniqueItems"] = True
    _optional(schema)


def _distinct(photo_ids):
    if photo_ids is not None and len(set(photo_ids)) != len(photo_ids):
        raise ValueError("each photo at most once")
    return photo_ids


PhotoIds = Annotated[list[DocId], Field(max_length=MAX_PHOTOS, json_schema_extra=_photo_ids_schema,
                                        description=f"At most {MAX_PHOTOS} distinct photos of the author, "
                                                    "shown in this order; someone else's or an unknown one: 404."),
                     AfterValidator(_distinct)]


class PostCreate(StrictModel):
    title: Title = Field(examples=["Hello"])
    body: PostBody = Field(examples=["My first post."])
    photo_ids: PhotoIds = Field(default_factory=list)


class PostUpdate(StrictModel):
    """At least one of title, body and photo_ids (the new list: `[]` removes them all); the post
    goes back to `pending`."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    # Omitted means "unchanged"; an explicit null is refused (strict str).
    title: Title = Field(None, json_schema_extra=_optional)
    body: PostBody = Field(None, json_schema_extra=_optional)
    photo_ids: PhotoIds = None

    @model_validator(mode="after")
    def _something_to_change(self):
        if self.title is None and self.body is None and self.photo_ids is None:
            raise ValueError("give a title, a body, photo_ids or any of them")
        return self


class PostPath(BaseModel):
    post_id: DocId


class Post(BaseModel):
    id: str
    author_id: str
    author_username: str
    title: str
    body: str
    status: Status
    comment_count: int
    created_at: Timestamp
    updated_at: Timestamp
    moderation: Moderation | None
    photos: list[Photo] = Field(description=(
        "The post's photos in their order, as the reader may see them: a deleted or rejected photo "
        "is left out; a pending one is shown only with a pending or rejected post (to its author "
        "and admins)."))


class Comment(AuthoredText):
    post_id: str


POST_RESPONSES = response_models("post", Post, Comment)
PostEnvelope, PostPage, CommentEnvelope, CommentPage = POST_RESPONSES

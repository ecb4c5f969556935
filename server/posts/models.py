"""Request and response models of posts, comments and moderation (they also feed the OpenAPI document).

Lengths are counted in characters (Unicode code points). Text is kept exactly
as sent: nothing is stripped or escaped; only text that is empty, blank
(whitespace or invisible characters only) or not encodable (lone surrogates)
is refused, and titles may not hold control characters.
"""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..kernel.ids import DocId
from ..kernel.models import AuthoredText, StrictModel
from ..kernel.text import single_line_field, text_field
from ..moderation.models import Moderation, Status, response_models

Title = single_line_field(200)
PostBody = text_field(10_000, "1-10000 characters; stored and returned as given.")


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
    created_at: str
    updated_at: str
    moderation: Moderation | None


class Comment(AuthoredText):
    post_id: str


POST_RESPONSES = response_models("post", Post, Comment)
PostEnvelope, PostPage, CommentEnvelope, CommentPage = POST_RESPONSES

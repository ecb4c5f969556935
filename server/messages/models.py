"""Request and response models of conversations and messages (they also feed the OpenAPI document).

A message body is 1-2000 characters (code points), kept exactly as sent;
blank text and lone surrogates are refused, as for comments.
"""

from pydantic import BaseModel, Field

from ..kernel.ids import DocId
from ..kernel.models import AuthoredText, StrictModel, Timestamp, envelope_model
from ..kernel.paging import ListQuery, page_model
from ..kernel.text import Username, text_field

MessageBody = text_field(2_000, "1-2000 characters; stored and returned as given.")


class ConversationCreate(StrictModel):
    with_: Username = Field(
        alias="with", description="The other user's username (case-insensitive).", examples=["bob"])


class MessageCreate(StrictModel):
    body: MessageBody = Field(examples=["Hi!"])


class ConversationPath(BaseModel):
    conversation_id: DocId


class MessageQuery(ListQuery):
    after: int = Field(0, ge=0, le=9_999_999_999, description="Only messages with a larger seq.")


class Conversation(BaseModel):
    id: str
    member_ids: list[str] = Field(description="The two members' user ids, sorted.")
    members: list[str] = Field(description="Their usernames, in the order of member_ids.")
    created_at: Timestamp
    last_message_at: Timestamp | None
    message_count: int


class Message(AuthoredText):
    conversation_id: str
    seq: int = Field(description="1, 2, 3... per conversation, no gaps.")


ConversationEnvelope = envelope_model("ConversationEnvelope", "conversation", Conversation)
MessageEnvelope = envelope_model("MessageEnvelope", "message", Message)
ConversationPage = page_model(Conversation, "ConversationPage")
MessagePage = page_model(Message, "MessagePage")

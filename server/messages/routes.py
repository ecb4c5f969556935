"""HTTP routes of conversations and messages."""

from flask import current_app

from ..edge import limits
from ..edge.caller import require_user
from ..edge.limits import limiter
from ..edge.openapi import BEARER, api_blueprint
from ..kernel.caller import requires
from ..kernel.models import ErrorBody
from ..kernel.paging import ListQuery
from .models import (
    ConversationCreate,
    ConversationEnvelope,
    ConversationPage,
    ConversationPath,
    MessageCreate,
    MessageEnvelope,
    MessagePage,
    MessageQuery,
)
from .service import MessageService

bp = api_blueprint("messages", __name__, security=BEARER)


def messages() -> MessageService:
    return current_app.extensions["messages"]


@bp.post("/conversations", responses={200: ConversationEnvelope, 201: ConversationEnvelope})
@requires("user")
def start_conversation(body: ConversationCreate):
    """The direct conversation of the caller and `with`: 201 when created, 200 when it existed."""
    return messages().start_conversation(require_user(), body.with_)


@bp.get("/conversations", responses={200: ConversationPage})
@requires("user")
def list_conversations(query: ListQuery):
    """The caller's conversations, most recent activity first."""
    return messages().list_conversations(require_user(), query)


@bp.post("/conversations/<conversation_id>/messages", responses={201: MessageEnvelope, 429: ErrorBody})
@requires("user")
@limiter.limit(limits.message_limit, key_func=limits.caller_key)
def send_message(path: ConversationPath, body: MessageCreate):
    """Members only (404 otherwise). Concurrent sends get distinct, gap-free seq values."""
    return messages().send(require_user(), path.conversation_id, body.body), 201


@bp.get("/conversations/<conversation_id>/messages", responses={200: MessagePage})
@requires("user")
def list_messages(path: ConversationPath, query: MessageQuery):
    """Messages with seq > after, oldest first; poll with the last seq seen to miss nothing."""
    return messages().list_messages(require_user(), path.conversation_id, query)

"""The request a service call belongs to: its id and the client's address.

The edge (server/web.py) sets it at the start of every request and clears it at
the end. Services take what they need as arguments where the call is direct
(the client address, the request id of a transfer); the audit-event builder
falls back on this context for the request id, so that every event carries it
without threading it through every store call.
"""

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str | None = None
    client_address: str | None = None


_NONE = RequestContext()
_CURRENT = contextvars.ContextVar("request_context", default=None)


def current() -> RequestContext:
    return _CURRENT.get() or _NONE


def current_request_id() -> str | None:
    return current().request_id


def enter(context: RequestContext):
    """Sets the context; returns the token that leave() takes."""
    return _CURRENT.set(context)


def leave(token):
    _CURRENT.reset(token)

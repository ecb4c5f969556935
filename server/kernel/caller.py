"""Who asks for a use case, and from which request.

The edge (server/edge/caller.py) builds a `Caller` for a signed-in user from the
session and attaches the request's `Origin`; the CLI and the demo seeding run
as callers with no origin. Services and stores take the caller as an argument,
and the audit-event builder names it (and the request id it carries) in every
event, so nothing below the edge reads request globals.
"""

import datetime as dt
from dataclasses import dataclass, replace

ROLES = ("user", "admin")


@dataclass(frozen=True)
class Origin:
    """The request behind a use case: its id (every audit event carries it) and the client's address."""

    request_id: str | None = None
    client_address: str | None = None


NO_ORIGIN = Origin()  # the CLI, demo seeding, background work


@dataclass(frozen=True)
class Caller:
    """A user acting through the API (or the CLI, with no id)."""

    id: str | None
    username: str
    role: str = "user"
    sid: str | None = None  # the session behind the token; None outside a session
    created_at: dt.datetime | None = None
    origin: Origin = NO_ORIGIN

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def acting_from(self, origin: Origin) -> "Caller":
        """The same caller, in the request `origin`."""
        return replace(self, origin=origin)


CLI = Caller(id=None, username="cli", role="admin")


def is_admin(caller) -> bool:
    """For a caller that may be None (an anonymous request)."""
    return caller is not None and caller.is_admin


def requires(role):
    """Marks a view as needing a signed-in "user" or an "admin"; checked by the
    edge before validation."""
    assert role in ROLES
    def tag(view):
        view.required_role = role
        return view
    return tag

"""The audit-event builder: every domain writes its events through it, in the
same batch or transaction as the change it records."""

from .caller import NO_ORIGIN, Caller, Origin
from .clock import utcnow
from .collections import AUDIT
from .commits import Write
from .ids import new_id


def audit_document(action, target, actor: Caller | None = None, details=None, at=None,
                   origin: Origin | None = None):
    """The audit document of one event.

    `actor` is None for an anonymous caller (a failed login); the request id
    comes from `origin` when given, else from the actor's origin.
    """
    if origin is None:
        origin = actor.origin if actor is not None else NO_ORIGIN
    return {
        "at": at or utcnow(),
        "actor_id": actor.id if actor else None,
        "actor_username": actor.username if actor else None,
        "action": action,
        "target": target,
        "request_id": origin.request_id,
        "details": details or {},
    }


def audit_event(action, target, **kwargs):
    """Returns (event_id, document) for one audit event."""
    return new_id(), audit_document(action, target, **kwargs)


def write_event(writer, datastore, action, target, **kwargs):
    """Adds one audit event to a batch or transaction; returns its id."""
    event_id, doc = audit_event(action, target, **kwargs)
    writer.create(datastore.doc(AUDIT, event_id), doc)
    return event_id


def audit_write(action, target, **kwargs):
    """One audit event as a Write (created with exists=false) for a guarded commit."""
    event_id, doc = audit_event(action, target, **kwargs)
    return Write("create", AUDIT, event_id, doc)

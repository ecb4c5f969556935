"""The audit-event builder: every domain writes its events through it, in the
same batch or transaction as the change it records."""

from .clock import utcnow
from .collections import AUDIT
from .context import current_request_id
from .ids import new_id


def audit_document(action, target, actor=None, details=None, at=None, request_id=None):
    """The audit document of one event.

    `actor` is a dict with "id" and "username" (None for the system or an
    anonymous caller).
    """
    return {
        "at": at or utcnow(),
        "actor_id": actor["id"] if actor else None,
        "actor_username": actor["username"] if actor else None,
        "action": action,
        "target": target,
        "request_id": request_id if request_id is not None else current_request_id(),
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

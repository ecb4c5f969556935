"""Audit events: built here, written by the caller in the same commit as the change."""

from flask import g, has_request_context

from ..common import new_id, utcnow

COLLECTION = "audit"


def current_request_id():
    return getattr(g, "request_id", None) if has_request_context() else None


def audit_event(action, target, actor=None, details=None, at=None, request_id=None):
    """Returns (event_id, document) for one audit event.

    `actor` is a dict with "id" and "username" (None for the system or an
    anonymous caller). The caller writes the document in its own batch or
    transaction, so the change and its event commit together or not at all.
    """
    return new_id(), {
        "at": at or utcnow(),
        "actor_id": actor["id"] if actor else None,
        "actor_username": actor["username"] if actor else None,
        "action": action,
        "target": target,
        "request_id": request_id if request_id is not None else current_request_id(),
        "details": details or {},
    }


def write_event(writer, datastore, action, target, **kwargs):
    """Adds one audit event to a batch or transaction; returns its id."""
    event_id, doc = audit_event(action, target, **kwargs)
    writer.create(datastore.doc(COLLECTION, event_id), doc)
    return event_id

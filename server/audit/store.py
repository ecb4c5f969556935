"""Reading the audit trail: the filtered list, the export stream, and paged scans.

Which composite index serves which list query: every query orders by `at`
descending and filters by equality on any subset of action, one actor field
(actor_id or actor_username) and target, plus an optional range on `at`.
firestore.indexes.json declares one index per non-empty subset, equality
fields ascending then `at` descending; with no equality filter the built-in
single-field index on `at` serves.
"""

import datetime as dt
import re

from google.cloud import firestore as gfs
from google.cloud.firestore_v1 import FieldFilter

from ..datastore import paginate
from ..kernel.clock import rfc3339
from .events import COLLECTION

# Every user id is uuid4().hex; anything else given as `actor` is a username.
_USER_ID = re.compile(r"^[0-9a-f]{32}$")


def jsonable(value):
    """Firestore values (timestamps, nested maps) as plain JSON values."""
    if isinstance(value, dt.datetime):
        return rfc3339(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def event_view(event_id, doc):
    return {
        "id": event_id,
        "at": rfc3339(doc.get("at")),
        "actor_id": doc.get("actor_id"),
        "actor_username": doc.get("actor_username"),
        "action": doc.get("action"),
        "target": doc.get("target"),
        "request_id": doc.get("request_id"),
        "details": jsonable(doc.get("details") or {}),
    }


def actor_filter(actor):
    """(field, value) for `actor`: a user id, or else a username (case-insensitive)."""
    if _USER_ID.match(actor):
        return "actor_id", actor
    return "actor_username", actor.lower()


def _time_range(query, since, until):
    if since is not None:
        query = query.where(filter=FieldFilter("at", ">=", since))
    if until is not None:
        query = query.where(filter=FieldFilter("at", "<", until))
    return query


def equality_filters(query):
    """[(field, value)] of an AuditQuery, in the field order of the declared indexes."""
    filters = [("action", query.action), actor_filter(query.actor) if query.actor else None,
               ("target", query.target)]
    return [f for f in filters if f is not None and f[1] is not None]


def list_events(datastore, query):
    """One page of events matching an AuditQuery, newest first: (snapshots, next_cursor)."""
    ref = datastore.collection(COLLECTION)
    q = ref
    for field, value in equality_filters(query):
        q = q.where(filter=FieldFilter(field, "==", value))
    q = _time_range(q, query.since, query.until).order_by("at", direction=gfs.Query.DESCENDING)
    return paginate(q, ref, query.limit, query.cursor)


def scan(query, page_size=500, read_time=None, query_size=None):
    """Pages (lists of at most page_size snapshots) of an ordered query.

    The collection is read by queries of query_size documents (default:
    page_size), each starting after the last snapshot of the one before and
    consumed as a stream, so memory holds one page whatever the size of the
    collection. Fewer, larger queries matter on the emulator, whose every
    query costs time in proportion to the whole collection. With read_time
    every query reads that one point in time (a consistent snapshot).
    """
    query_size = max(query_size or page_size, page_size)
    kwargs = {"read_time": read_time} if read_time is not None else {}
    last = None
    while True:
        batch_query = query.limit(query_size)
        if last is not None:
            batch_query = batch_query.start_after(last)
        seen, page = 0, []
        for snap in batch_query.stream(**kwargs):
            seen, last = seen + 1, snap
            page.append(snap)
            if len(page) == page_size:
                yield page
                page = []
        if page:
            yield page
        if seen < query_size:
            return


def export_events(datastore, since=None, until=None, page_size=500, query_size=10_000):
    """Every event in [since, until), oldest first, as event views, streamed page by page."""
    q = _time_range(datastore.collection(COLLECTION), since, until)
    q = q.order_by("at").order_by("__name__")
    for page in scan(q, page_size, query_size=query_size):
        for snap in page:
            yield event_view(snap.id, snap.to_dict())

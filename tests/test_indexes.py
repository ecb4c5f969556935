"""Every list query the API issues has the composite index production Firestore will demand.

The emulator runs any query without an index; production refuses one whose
index is not declared. So capture each paginated query the stores build and
check it against firestore.indexes.json.
"""

import datetime as dt
import itertools
import json
import os

import pytest
from google.cloud.firestore_v1.types import StructuredQuery

from server.audit import store as audit_store
from server.audit.models import AuditExportQuery, AuditQuery
from server.ledger import store as ledger_store
from server.messages import store as messages_store
from server.moderation import store as moderated
from server.photos import store as photos_store
from server.posts import store as posts_store

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
Op = StructuredQuery.FieldFilter.Operator


def declared_indexes():
    with open(os.path.join(ROOT, "firestore.indexes.json"), encoding="utf-8") as fh:
        indexes = json.load(fh)["indexes"]
    return {(ix["collectionGroup"], tuple((f["fieldPath"], f.get("order") or f.get("arrayConfig"))
                                          for f in ix["fields"])) for ix in indexes}


def required_index(query):
    """(collection, fields) of the composite index a query needs, or None if built-in ones serve."""
    pb = query._to_protobuf()
    filters = [pb.where.field_filter] if pb.where.field_filter.field.field_path else \
        [f.field_filter for f in pb.where.composite_filter.filters]
    fields = []
    for f in filters:
        if f.op == Op.EQUAL:
            fields.append((f.field.field_path, "ASCENDING"))
        elif f.op == Op.ARRAY_CONTAINS:
            fields.append((f.field.field_path, "CONTAINS"))
    orders = [(o.field.field_path, "DESCENDING" if o.direction == StructuredQuery.Direction.DESCENDING
               else "ASCENDING") for o in pb.order_by if o.field.field_path != "__name__"]
    if not fields or not orders or {f for f, _ in fields} == {f for f, _ in orders}:
        return None
    return pb.from_[0].collection_id, tuple(fields + orders)


@pytest.fixture
def captured(monkeypatch):
    queries = []

    def fake_paginate(query, collection_ref, limit, cursor, order_by, descending=True):
        direction = "DESCENDING" if descending else "ASCENDING"
        queries.append(query.order_by(order_by, direction=direction).order_by("__name__", direction=direction))
        return [], None

    for module in (ledger_store, audit_store, messages_store, photos_store, moderated):
        monkeypatch.setattr(module, "paginate", fake_paginate)
    return queries


def test_every_list_query_has_its_composite_index(app, captured):
    datastore = app.extensions["datastore"]
    ledger = ledger_store.LedgerStore(datastore)
    ledger.transfers_of("u1", 10, None)
    ledger.postings_of("u1", 10, None)
    ledger.all_accounts(10, None)
    posts = posts_store.PostStore(datastore)
    posts.newest_where("status", "approved", 10, None)
    posts.newest_where("author_id", "u1", 10, None)
    posts.comments_of("p1", 10, None)
    photos = photos_store.PhotoStore(datastore, objects=None)
    photos.newest_where("status", "pending", 10, None)
    photos.newest_where("owner_id", "u1", 10, None)
    photos.photos_where(10, None, status="approved")
    photos.photos_where(10, None, status="approved", owner_username="alice")
    photos.photos_where(10, None, status="approved", tag="cats")
    photos.photos_where(10, None, status="approved", owner_username="alice", tag="cats")
    photos.photos_where(10, None, status="approved", label="cat")
    photos.photos_where(10, None, status="approved", owner_username="alice", label="cat")
    photos.photos_where(10, None, status="approved", tag="cats", label="cat")
    photos.photos_where(10, None, status="approved", owner_username="alice", tag="cats", label="cat")
    photos.comments_of("p1", 10, None)
    audit_store.list_events(datastore, AuditQuery(action="transfer.create", actor="alice",
                                                  since="2024-01-01T00:00:00Z"))
    messages = messages_store.MessageStore(datastore)
    messages.conversations_of("u1", 10, None)
    messages.messages_after("c1", 0, 10, None)  # one field: Firestore's built-in index
    declared = declared_indexes()
    needed = [required_index(q) for q in captured]
    assert len(captured) == 20
    assert sum(n is not None for n in needed) >= 14  # the check really inspected composite queries
    for index in needed:
        assert index is None or index in declared, index


def test_the_operator_console_queries_have_their_indexes(app, captured, monkeypatch):
    """The statement pages through one account's postings; the export streams what the list
    filters, in the list's order, so every filter combination needs the list's index."""
    datastore = app.extensions["datastore"]
    scanned = []
    monkeypatch.setattr(audit_store, "scan", lambda query, *args, **kwargs: scanned.append(query) or iter(()))
    audit_store.postings_of_account(datastore, "acc1", 10, None)
    filters = {"action": "transfer.create", "actor": "alice", "target": "transfers/t1"}
    for size in range(len(filters) + 1):
        for names in itertools.combinations(filters, size):
            query = AuditExportQuery(since="2024-01-01T00:00:00Z", **{n: filters[n] for n in names})
            list(audit_store.export_filtered(datastore, query))
    list(audit_store.events_between(datastore, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime.now(dt.UTC)))
    list(audit_store.refusals_between(datastore, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime.now(dt.UTC)))
    needed = [required_index(q) for q in captured + scanned]
    assert len(needed) == 1 + 8 + 2
    assert sum(n is not None for n in needed) == 1 + 7
    declared = declared_indexes()
    for index in needed:
        assert index is None or index in declared, index

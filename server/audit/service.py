"""The operator's use cases: the filtered audit trail, its export, and the
verifier that proves the books.

No Flask here: the verifier's sizes come in at construction; the datastore is
handed to audit/store.py, which does every read (the verifier reads the
ledger through its LedgerSnapshot).
"""

from ..kernel.paging import page_response
from . import store
from .verify import MAX_PROBLEMS, PAGE_SIZE, QUERY_SIZE, verify


class AuditService:
    def __init__(self, datastore, page_size=PAGE_SIZE, query_size=QUERY_SIZE):
        self.datastore = datastore
        self.page_size = page_size
        self.query_size = query_size

    def list_events(self, query):
        """A page of events, newest first, filtered as the AuditQuery says."""
        return page_response(store.list_events(self.datastore, query), store.event_view)

    def export(self, since=None, until=None):
        """Every event in [since, until), oldest first, streamed."""
        return store.export_events(self.datastore, since, until)

    def verify(self, max_problems=MAX_PROBLEMS, progress=None):
        """The verifier's report (a dict: ok, counts, problems)."""
        return verify(self.datastore.client, page_size=self.page_size, query_size=self.query_size,
                      max_problems=max_problems, progress=progress)

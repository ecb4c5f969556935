"""The operator's use cases: the filtered audit trail, its export, the dashboard's
statistics, an account's statement, and the verifier that proves the books (its
last run kept).

No Flask here: the verifier's sizes come in at construction; the datastore is
handed to audit/store.py, which does every read (the verifier reads the
ledger through its LedgerSnapshot).
"""

import queue
import threading

from ..kernel.clock import rfc3339, utcnow
from ..kernel.errors import not_found
from ..kernel.paging import page_response
from ..kernel.views import document_view
from ..ledger import engine
from ..ledger.accounts import GENESIS_HASH
from . import stats, store
from .models import StatementAccount, StatementLine, StatementTransfer, VerifyRun
from .verify import MAX_PROBLEMS, PAGE_SIZE, QUERY_SIZE, verify

# The kept run lists this many problems (a Firestore document holds at most 1 MiB).
KEPT_PROBLEMS = 100


class AuditService:
    def __init__(self, datastore, page_size=PAGE_SIZE, query_size=QUERY_SIZE, currency="USD"):
        self.datastore = datastore
        self.page_size = page_size
        self.query_size = query_size
        self.currency = currency

    def list_events(self, query):
        """A page of events, newest first, filtered as the AuditQuery says."""
        if query.empty_window:
            return {"items": [], "next_cursor": None}
        return page_response(store.list_events(self.datastore, query), store.event_view)

    def export(self, since=None, until=None):
        """Every event in [since, until), oldest first, streamed."""
        return store.export_events(self.datastore, since, until)

    def export_filtered(self, query):
        """Every event the AuditQuery's filters match, newest first (as the list), streamed."""
        if query.empty_window:
            return iter(())
        return store.export_filtered(self.datastore, query)

    # ---- Verify ----------------------------------------------------------------------

    def verify(self, max_problems=MAX_PROBLEMS, progress=None, by=None):
        """The verifier's report (a dict: ok, counts, problems), kept as the last run."""
        report = verify(self.datastore.client, page_size=self.page_size, query_size=self.query_size,
                        max_problems=max_problems, progress=progress)
        kept = dict(report, problems=report["problems"][:KEPT_PROBLEMS])
        kept["problems_truncated"] = report["problem_count"] > len(kept["problems"])
        store.save_verify_run(self.datastore, {"finished_at": utcnow(), "by": by, "report": kept})
        return report

    def verify_with_progress(self, by=None):
        """The verifier run in a thread; yields ("progress", {...}) items as it goes, then
        ("report", VerifyRun) or ("error", message)."""
        items = queue.Queue()

        def progress(phase, done, total, final):
            items.put(("progress", {"phase": phase, "done": done, "total": total, "final": final}))

        def run():
            try:
                self.verify(progress=progress, by=by)
                items.put(("report", self.last_verify_run()))
            except Exception as exc:  # reported in the stream: its 200 is already sent
                items.put(("error", f"The verifier stopped: {type(exc).__name__}."))

        threading.Thread(target=run, name="audit-verify-stream", daemon=True).start()
        while True:
            kind, value = items.get()
            yield kind, value
            if kind != "progress":
                return

    def last_verify_run(self):
        run = store.last_verify_run(self.datastore)
        if run is None:
            raise not_found("The verifier has not run yet.")
        return document_view(VerifyRun, run, finished_at=rfc3339(run["finished_at"]))

    # ---- Dashboard ---------------------------------------------------------------------

    def stats(self, query):
        since, until, step = stats.window(query, utcnow())
        buckets = [] if since >= until else stats.count(
            store.events_between(self.datastore, since, until),
            store.refusals_between(self.datastore, since, until), since, until, step)
        return {"since": rfc3339(since), "until": rfc3339(until), "bucket": query.bucket,
                "totals": stats.totals_view(store.totals(self.datastore), self.currency),
                "buckets": buckets, "not_recorded": stats.NOT_RECORDED}

    # ---- An account's statement ----------------------------------------------------------

    def statement(self, account_id, query):
        """An account's postings, newest first, each checked against its chain, with its transfer."""
        account = store.account(self.datastore, account_id)
        if account is None:
            raise not_found("No such account.")
        snaps, next_cursor, previous = store.postings_of_account(self.datastore, account_id, query.limit, query.cursor)
        docs = [(snap.id, snap.to_dict()) for snap in snaps]
        transfers = store.documents(self.datastore, engine.TRANSFERS, [doc.get("transfer_id") for _, doc in docs])
        # Oldest first, so each posting is checked against the one before it.
        lines, before = [], previous
        for posting_id, doc in reversed(docs):
            lines.append(_line(posting_id, doc, before, transfers))
            before = doc
        lines.reverse()
        head_ok = True
        if query.cursor is None and docs:
            newest = docs[0][1]
            head_ok = newest.get("hash") == account.get("head_hash") and newest.get("balance_after") == account.get(
                "balance") and newest.get("seq") == account.get("posting_count")
        elif query.cursor is None:
            head_ok = account.get("posting_count") == 0 and account.get("balance") == 0
        return {"account": document_view(StatementAccount, account, id=account_id), "head_ok": head_ok,
                "items": lines, "next_cursor": next_cursor}


def _line(posting_id, doc, before, transfers):
    """One statement line: the posting, its three checks, its transfer."""
    seq = doc.get("seq")
    first = seq == 1
    try:
        hash_ok = engine.posting_hash(doc) == doc.get("hash")
    except (KeyError, TypeError, AttributeError):
        hash_ok = False
    if first:
        link_ok, balance_ok = doc.get("prev_hash") == GENESIS_HASH, doc.get("balance_after") == doc.get("amount")
    elif before is None or before.get("seq") != seq - 1:
        link_ok = balance_ok = None
    else:
        link_ok = doc.get("prev_hash") == before.get("hash")
        balance_ok = (isinstance(before.get("balance_after"), int) and isinstance(doc.get("amount"), int)
                      and before["balance_after"] + doc["amount"] == doc.get("balance_after"))
    transfer = transfers.get(doc.get("transfer_id"))
    if transfer is not None:
        transfer = document_view(StatementTransfer, transfer, id=doc["transfer_id"])
    return document_view(StatementLine, doc, id=posting_id, hash_ok=hash_ok, link_ok=link_ok, balance_ok=balance_ok,
                         transfer=transfer)

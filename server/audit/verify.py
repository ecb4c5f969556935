"""The verifier: proves from the stored documents alone that the books are intact.

It reads everything at one consistent point in time (Firestore read_time)
and streams through it in pages, so memory holds a page per pass plus a
little state per account, whatever the number of postings. Pass 1 comes
first; passes 2-4 then run side by side:

1. accounts, by id: balance, head_hash and posting_count of each (the only
   state kept for the whole run), and the sum of all balances;
2. postings, by document id (`{account}_{seq:012d}`, so each account's chain
   comes in seq order): each hash recomputed, each prev_hash link, seq 1..n
   without gaps, balance_after running on, the chain's end against the
   account's head_hash, posting_count and balance;
3. postings by transfer_id merged with transfers by id (both ordered the
   same way, so a merge join needs no lookups): each transfer has exactly
   one debit and one credit of its amount on its own two accounts; its audit
   event (fetched with get_all, one call per page) names it; reversals and
   the transfers they reverse point at each other;
4. ledger audit events, by id: each names a transfer that names it back.

Each problem has a kind, a message and the paths of the documents involved.
"""

import datetime as dt
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..kernel.clock import rfc3339
from ..kernel.collections import ACCOUNTS, AUDIT, POSTINGS, TRANSFERS
from ..ledger import engine
from ..ledger.accounts import GENESIS_HASH, TREASURY_ID
from .store import LedgerSnapshot, plain_id, snapshot_time

PAGE_SIZE = 500  # documents handled (and fetched by get_all) at a time
QUERY_SIZE = 10_000  # documents per query, streamed
MAX_PROBLEMS = 1000
MAX_DOCUMENTS = 20  # per problem; the message gives the full count

# The audit action that must accompany each kind of transfer.
ACTION_OF_KIND = {engine.KINDS[op]: action for op, action in engine.ACTIONS.items()}

ACCOUNT_FIELDS = {"balance": int, "head_hash": str, "posting_count": int}
POSTING_FIELDS = {"account_id": str, "transfer_id": str, "amount": int, "balance_after": int, "seq": int,
                  "prev_hash": str, "hash": str, "created_at": dt.datetime}
TRANSFER_FIELDS = {"from_account": str, "to_account": str, "amount": int, "kind": str, "status": str}
TRANSFER_READ = [*TRANSFER_FIELDS, "audit_event_id", "reverses", "reversed_by"]


def _malformed(doc, fields):
    """Names of fields missing or of the wrong type (bool is not an int here)."""
    return [name for name, kind in fields.items()
            if not isinstance(doc.get(name), kind) or (kind is int and isinstance(doc.get(name), bool))]


def _posting_key(doc_id):
    """(account_id, seq) from a posting id `{account}_{seq:012d}`, or None."""
    account_id, sep, seq = doc_id.rpartition("_")
    if not sep or not account_id or len(seq) != 12 or not seq.isdigit() or int(seq) < 1:
        return None
    return account_id, int(seq)


def _posting_paths(account_id, first, last):
    return [f"{POSTINGS}/{engine.posting_id(account_id, s)}"
            for s in range(first, min(last, first + MAX_DOCUMENTS - 1) + 1)]


@dataclass
class _Account:
    balance: int | None
    head_hash: str | None
    posting_count: int | None
    seen: bool = False


@dataclass
class _Chain:
    """Where the walk through one account's postings has got to."""

    account_id: str
    next_seq: int = 1
    prev_hash: str = GENESIS_HASH
    total: int = 0
    balance_after: int = 0
    last_path: str | None = None


@dataclass
class _Group:
    """The postings that name one transfer (a few kept, the rest counted)."""

    transfer_id: str
    postings: list = field(default_factory=list)  # (path, account_id, amount)
    count: int = 0


class Report:
    def __init__(self, max_problems=MAX_PROBLEMS):
        self.max_problems = max_problems
        self.problems = []
        self.kinds = Counter()

    def add(self, kind, message, *documents):
        self.kinds[kind] += 1
        if len(self.problems) < self.max_problems:
            self.problems.append({"kind": kind, "message": message,
                                  "documents": [d for d in documents if d][:MAX_DOCUMENTS]})


@dataclass
class Verifier:
    """One run over one Firestore database; `run()` returns the report dict.

    After the accounts, the three passes over postings, transfers and audit
    events are independent of each other and run in parallel threads (the
    datastore, not this process, is the bottleneck); each keeps its own list
    of problems, joined in a fixed order. `progress(phase, done, total,
    final)` is called after every page.
    """

    client: object
    page_size: int = PAGE_SIZE
    query_size: int = QUERY_SIZE
    max_problems: int = MAX_PROBLEMS
    progress: object = None
    read_time: object = None

    def run(self):
        started = time.monotonic()
        read_time = self.read_time or snapshot_time(self.client)
        reader = LedgerSnapshot(self.client, self.page_size, self.query_size, read_time, self.progress)
        accounts = _AccountPass(reader, Report(self.max_problems))
        accounts.run()
        passes = [accounts, _ChainPass(reader, Report(self.max_problems), accounts.accounts),
                  _TransferPass(reader, Report(self.max_problems)), _EventPass(reader, Report(self.max_problems))]
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="audit-verify") as pool:
            for future in [pool.submit(p.run) for p in passes[1:]]:
                future.result()
        problems, kinds = [], Counter()
        for p in passes:
            problems += p.report.problems
            kinds += p.report.kinds
        count = sum(kinds.values())
        problems = problems[:self.max_problems]
        return {
            "ok": count == 0,
            "accounts_checked": accounts.checked,
            "postings_checked": passes[1].checked,
            "transfers_checked": passes[2].checked,
            "audit_events_checked": passes[3].checked,
            "problems": problems,
            "problem_count": count,
            "problems_truncated": count > len(problems),
            "problem_kinds": dict(sorted(kinds.items())),
            "snapshot_time": rfc3339(read_time),
            "elapsed_seconds": round(time.monotonic() - started, 3),
        }


class _Pass:
    def __init__(self, reader, report):
        self.reader = reader
        self.report = report
        self.checked = 0


class _AccountPass(_Pass):
    """1. The accounts: the only state kept for the whole run."""

    def __init__(self, reader, report):
        super().__init__(reader, report)
        self.accounts = {}

    def run(self):
        for page in self.reader.accounts():
            for snap in page:
                self.checked += 1
                doc, path = snap.to_dict(), f"{ACCOUNTS}/{snap.id}"
                bad = _malformed(doc, ACCOUNT_FIELDS)
                if bad:
                    self.report.add("account_malformed", f"Field(s) {', '.join(bad)} missing or mistyped.", path)
                    self.accounts[snap.id] = _Account(None, None, None)
                    continue
                self.accounts[snap.id] = _Account(doc["balance"], doc["head_hash"], doc["posting_count"])
                if doc.get("kind") != "treasury" and doc["balance"] < 0:
                    self.report.add("negative_balance", f"A user balance is negative: {doc['balance']}.", path)


class _ChainPass(_Pass):
    """2. Each account's postings, in id order: hashes, links, seq, running balance; then the books."""

    def __init__(self, reader, report, accounts):
        super().__init__(reader, report)
        self.accounts = accounts
        self.mismatched_accounts = []

    def run(self):
        expected = sum(a.posting_count or 0 for a in self.accounts.values())
        chain = None
        for page in self.reader.postings_by_account(expected):
            for snap in page:
                self.checked += 1
                chain = self._chain_step(chain, snap)
        if chain is not None:
            self._finish_chain(chain)
        for account_id, account in self.accounts.items():
            if not account.seen:
                self._finish_chain(_Chain(account_id))
        self._check_books()

    def _chain_step(self, chain, snap):
        path = f"{POSTINGS}/{snap.id}"
        key = _posting_key(snap.id)
        if key is None:
            self.report.add("posting_unexpected", "A posting whose id is not <account>_<12-digit seq>.", path)
            return chain
        account_id, seq = key
        if chain is None or chain.account_id != account_id:
            if chain is not None:
                self._finish_chain(chain)
            chain = _Chain(account_id)
            if account_id not in self.accounts:
                self.report.add("posting_without_account", f"Postings of account {account_id}, which does not exist.",
                                path, f"{ACCOUNTS}/{account_id}")
        doc = snap.to_dict()
        linked = True
        if seq > chain.next_seq:
            linked = False
            self.report.add("posting_missing",
                            f"Account {account_id} has no posting(s) seq {chain.next_seq}..{seq - 1}.",
                            *_posting_paths(account_id, chain.next_seq, seq - 1), f"{ACCOUNTS}/{account_id}")
        chain.next_seq, chain.last_path = seq + 1, path
        bad = _malformed(doc, POSTING_FIELDS)
        if bad:
            self.report.add("posting_malformed", f"Field(s) {', '.join(bad)} missing or mistyped.", path)
            chain.prev_hash = doc.get("hash")
            return chain
        if (doc["account_id"], doc["seq"]) != key:
            self.report.add("posting_id_mismatch",
                            f"Stored as {snap.id} but names account {doc['account_id']} seq {doc['seq']}.", path)
        if engine.posting_hash(doc) != doc["hash"]:
            self.report.add("hash_mismatch", "The posting's content does not match its hash (edited).", path)
        if linked and doc["prev_hash"] != chain.prev_hash:
            previous = _posting_paths(account_id, seq - 1, seq - 1) if seq > 1 else [f"{ACCOUNTS}/{account_id}"]
            self.report.add("chain_broken", "prev_hash is not the hash of the posting before.", path, *previous)
        if linked and chain.balance_after + doc["amount"] != doc["balance_after"]:
            self.report.add("balance_after_mismatch",
                            f"balance_after {doc['balance_after']} is not {chain.balance_after} + {doc['amount']}.",
                            path)
        chain.prev_hash, chain.balance_after = doc["hash"], doc["balance_after"]
        chain.total += doc["amount"]
        return chain

    def _finish_chain(self, chain):
        """Compares the end of a walked chain with what its account document says."""
        account = self.accounts.get(chain.account_id)
        if account is None or account.posting_count is None:
            return
        account.seen = True
        path, last_seq = f"{ACCOUNTS}/{chain.account_id}", chain.next_seq - 1
        if account.posting_count > last_seq:
            self.report.add("posting_missing",
                            f"The account counts {account.posting_count} postings; the chain ends at {last_seq}.",
                            *_posting_paths(chain.account_id, last_seq + 1, account.posting_count), path)
        elif account.posting_count < last_seq:
            self.report.add("head_mismatch",
                            f"The account counts {account.posting_count} postings; the chain has {last_seq}.",
                            path, chain.last_path)
        elif chain.prev_hash != account.head_hash:
            self.report.add("head_mismatch", "head_hash is not the hash of the account's last posting.",
                            path, chain.last_path)
        if account.balance != chain.total or account.balance != chain.balance_after:
            self.mismatched_accounts.append(path)
            self.report.add("balance_mismatch",
                            f"Balance {account.balance}, but the postings sum to {chain.total} "
                            f"and the last balance_after is {chain.balance_after}.", path)

    def _check_books(self):
        total = sum(a.balance for a in self.accounts.values() if a.balance is not None)
        if total != 0:
            documents = self.mismatched_accounts or [f"{ACCOUNTS}/{TREASURY_ID}"]
            self.report.add("books_unbalanced", f"All balances (treasury included) sum to {total}, not 0.",
                            *documents)

class _TransferPass(_Pass):
    """3. Transfers merged with their postings (both in transfer id order); their audit events."""

    def _posting_groups(self):
        """Postings grouped by transfer_id, in transfer id order (a merge join's other side)."""
        # Only the fields compared: a projection reads several times faster than whole postings.
        group = None
        for page in self.reader.postings_by_transfer():
            for snap in page:
                doc = snap.to_dict()
                transfer_id = doc.get("transfer_id")
                if not isinstance(transfer_id, str):
                    continue  # reported as posting_malformed by the chain walk
                if group is None or group.transfer_id != transfer_id:
                    if group is not None:
                        yield group
                    group = _Group(transfer_id)
                group.count += 1
                if len(group.postings) < 4:
                    group.postings.append((f"{POSTINGS}/{snap.id}", doc.get("account_id"), doc.get("amount")))
        if group is not None:
            yield group

    def run(self):
        groups = self._posting_groups()
        group = next(groups, None)
        for page in self.reader.transfers(TRANSFER_READ):
            docs = [(snap.id, snap.to_dict()) for snap in page]
            events = self.reader.get_all(AUDIT, [doc.get("audit_event_id") for _, doc in docs], ["action", "target"])
            related = self.reader.get_all(TRANSFERS,
                                    [doc.get(k) for _, doc in docs for k in ("reverses", "reversed_by")],
                                    TRANSFER_READ)
            for transfer_id, doc in docs:
                self.checked += 1
                while group is not None and group.transfer_id < transfer_id:
                    self._postings_without_transfer(group)
                    group = next(groups, None)
                postings = None
                if group is not None and group.transfer_id == transfer_id:
                    postings, group = group, next(groups, None)
                self._check_transfer(transfer_id, doc, postings or _Group(transfer_id), events, related)
        while group is not None:
            self._postings_without_transfer(group)
            group = next(groups, None)

    def _postings_without_transfer(self, group):
        self.report.add("posting_without_transfer",
                        f"{group.count} posting(s) name transfer {group.transfer_id}, which does not exist.",
                        *(p[0] for p in group.postings), f"{TRANSFERS}/{group.transfer_id}")

    def _check_transfer(self, transfer_id, doc, group, events, related):
        path = f"{TRANSFERS}/{transfer_id}"
        bad = _malformed(doc, TRANSFER_FIELDS)
        if bad:
            self.report.add("transfer_malformed", f"Field(s) {', '.join(bad)} missing or mistyped.", path)
        else:
            expected = sorted([(doc["from_account"], -doc["amount"]), (doc["to_account"], doc["amount"])], key=repr)
            found = sorted(((p[1], p[2]) for p in group.postings), key=repr)
            if group.count != 2 or found != expected:
                self.report.add("transfer_postings_mismatch",
                                f"Expected a debit of {doc['amount']} on {doc['from_account']} and a credit on "
                                f"{doc['to_account']}; found {group.count} posting(s): {found}.",
                                path, *(p[0] for p in group.postings))
            self._check_reversal(transfer_id, doc, related)
        event_id = plain_id(doc.get("audit_event_id"))
        event = events.get(event_id) if event_id else None
        event_path = f"{AUDIT}/{event_id}" if event_id else None
        if event is None:
            self.report.add("transfer_without_audit", "The transfer's audit event does not exist.", path, event_path)
        elif event.get("target") != path or event.get("action") != ACTION_OF_KIND.get(doc.get("kind")):
            self.report.add("audit_mismatch",
                            f"The audit event says {event.get('action')} on {event.get('target')}.", path, event_path)

    def _check_reversal(self, transfer_id, doc, related):
        """A reversal and its original must name each other and mirror each other's money."""
        path = f"{TRANSFERS}/{transfer_id}"
        if doc["kind"] == "reversal":
            original_id = plain_id(doc.get("reverses"))
            original = related.get(original_id) if original_id else None
            if (original is None or original.get("reversed_by") != transfer_id
                    or original.get("status") != "reversed"
                    or (original.get("from_account"), original.get("to_account"), original.get("amount"))
                    != (doc["to_account"], doc["from_account"], doc["amount"])):
                self.report.add("reversal_mismatch",
                                "The reversal and the transfer it reverses do not match each other.",
                                path, f"{TRANSFERS}/{original_id}" if original_id else None)
        elif doc["status"] == "reversed" or doc.get("reversed_by") is not None:
            reversal_id = plain_id(doc.get("reversed_by"))
            reversal = related.get(reversal_id) if reversal_id else None
            if doc["status"] != "reversed" or reversal is None or reversal.get("reverses") != transfer_id:
                self.report.add("reversal_mismatch", "The transfer is marked reversed without a matching reversal.",
                                path, f"{TRANSFERS}/{reversal_id}" if reversal_id else None)

class _EventPass(_Pass):
    """4. Ledger audit events: each names a transfer that names it back."""

    def run(self):
        prefix = f"{TRANSFERS}/"
        for page in self.reader.events_with_action(sorted(ACTION_OF_KIND.values())):
            events = [(snap.id, snap.to_dict()) for snap in page]
            targets = {}
            for event_id, event in events:
                target = event.get("target")
                targets[event_id] = (plain_id(target[len(prefix):])
                                     if isinstance(target, str) and target.startswith(prefix) else None)
            transfers = self.reader.get_all(TRANSFERS, targets.values(), ["audit_event_id"])
            for event_id, event in events:
                self.checked += 1
                path, transfer_id = f"{AUDIT}/{event_id}", targets[event_id]
                transfer = transfers.get(transfer_id) if transfer_id else None
                transfer_path = f"{prefix}{transfer_id}" if transfer_id else None
                if transfer is None:
                    self.report.add("audit_without_transfer",
                                    f"A {event.get('action')} event whose transfer does not exist.",
                                    path, transfer_path)
                elif transfer.get("audit_event_id") != event_id:
                    self.report.add("audit_mismatch", "The transfer names a different audit event.",
                                    path, transfer_path)


def verify(client, **kwargs):
    """Runs the verifier over one Firestore client's database; returns the report dict."""
    return Verifier(client, **kwargs).run()

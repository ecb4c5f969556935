"""The verifier's rule passes on fake documents (no datastore): what each finds wrong."""

from server.audit.verify import Report, _AccountPass, _EventPass


class Snap:
    def __init__(self, doc_id, doc):
        self.id, self._doc = doc_id, doc

    def to_dict(self):
        return dict(self._doc)


class FakeSnapshot:
    """The LedgerSnapshot interface (audit/store.py) over dicts: {collection: {id: doc}}."""

    def __init__(self, **collections):
        self.collections = collections

    def _page(self, name):
        return [[Snap(i, d) for i, d in sorted(self.collections.get(name, {}).items())]]

    def accounts(self):
        return self._page("accounts")

    def events_with_action(self, actions):
        return [[s for s in self._page("audit")[0] if s.to_dict().get("action") in actions]]

    def get_all(self, collection, ids, fields):
        docs = self.collections.get(collection, {})
        return {i: {f: docs[i].get(f) for f in fields} for i in ids if i in docs}


def account(balance, kind="user"):
    return {"balance": balance, "head_hash": "0" * 64, "posting_count": 0, "kind": kind}


def kinds(report):
    return sorted(p["kind"] for p in report.problems)


def test_account_pass_finds_malformed_and_negative_user_balances():
    reader = FakeSnapshot(accounts={"treasury": account(-500, "treasury"), "a": account(300), "b": account(-1),
                                    "c": {"balance": "12", "head_hash": "x", "posting_count": 0}})
    accounts = _AccountPass(reader, Report())
    accounts.run()
    assert accounts.checked == 4
    assert kinds(accounts.report) == ["account_malformed", "negative_balance"]
    assert {p["documents"][0] for p in accounts.report.problems} == {"accounts/b", "accounts/c"}


def test_event_pass_pairs_each_ledger_event_with_the_transfer_that_names_it():
    reader = FakeSnapshot(
        audit={"e1": {"action": "transfer.create", "target": "transfers/t1"},
               "e2": {"action": "deposit.create", "target": "transfers/t2"},
               "e3": {"action": "transfer.create", "target": "transfers/missing"},
               "e4": {"action": "transfer.create", "target": "transfers/__bad__"},
               "e5": {"action": "user.login", "target": "users/u1"}},
        transfers={"t1": {"audit_event_id": "e1"}, "t2": {"audit_event_id": "someone-else"}})
    events = _EventPass(reader, Report())
    events.run()
    assert events.checked == 4  # the login is not a ledger event
    assert kinds(events.report) == ["audit_mismatch", "audit_without_transfer", "audit_without_transfer"]


def test_report_counts_every_problem_but_keeps_at_most_max():
    report = Report(max_problems=2)
    for n in range(5):
        report.add("k", f"problem {n}", "a/1", None)
    assert len(report.problems) == 2 and report.kinds["k"] == 5
    assert report.problems[0]["documents"] == ["a/1"]

"""The operator's audit: query, verify and export, against the real emulator.

Tests that tamper with the books do it in a project of their own (the
`world` fixture), never in the session's shared project, so that the
verifier keeps passing for every other test.
"""

import csv
import io
import itertools
import json
import os
import uuid

import pytest
from conftest import PASSWORD, make_test_config, unique_name
from google.cloud.firestore_v1 import FieldFilter

from server import create_app
from server.audit import store
from server.audit.models import AuditQuery
from server.audit.store import event_view
from server.ledger import engine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENT_KEYS = {"id", "at", "actor_id", "actor_username", "action", "target", "request_id", "details"}


class World:
    """An app on a project of its own, with a finished mixed ledger workload."""

    def __init__(self, emulator, **config):
        self.project = f"demo-audit-{uuid.uuid4().hex[:8]}"
        # Tiny pages in small queries, so that every scan of the verifier crosses both kinds of boundary.
        self.app = create_app(make_test_config(emulator, self.project, AUDIT_VERIFY_PAGE_SIZE=3,
                                               AUDIT_VERIFY_QUERY_SIZE=5, **config))
        self.client = self.app.test_client()
        self.db = self.app.extensions["datastore"].client
        self.users = {}
        self.transfers = {}

    def close(self):
        self.app.extensions["shutdown"]()

    def call(self, method, path, token=None, json=None, key=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key:
            headers["Idempotency-Key"] = key
        return self.client.open(path, method=method, headers=headers, json=json)

    def signup(self, name):
        resp = self.call("POST", "/api/v1/auth/signup", json={"username": name, "password": PASSWORD})
        assert resp.status_code == 201, resp.json
        self.users[name] = resp.json
        return resp.json

    def admin_token(self):
        name = unique_name("admin")
        self.app.extensions["auth"].create_admin(name, PASSWORD)
        resp = self.call("POST", "/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        return resp.json["token"]

    def move(self, label, path, token, body, status=201):
        resp = self.call("POST", path, token, json=body, key=uuid.uuid4().hex)
        assert resp.status_code == status, resp.json
        if status == 201:
            self.transfers[label] = resp.json["transfer"]["id"]
        return resp

    def run_workload(self):
        """Deposits, transfers, a reversal and an insufficient-funds attempt that moves nothing."""
        self.admin = self.admin_token()
        alice, bob, carol = (self.signup(unique_name(n))["user"] for n in ("alice", "bob", "carol"))
        self.alice, self.bob, self.carol = alice, bob, carol
        token = {u["username"]: self.users[u["username"]]["token"] for u in (alice, bob, carol)}
        self.move("deposit_alice", "/api/v1/admin/deposits", self.admin, {"to": alice["username"], "amount": 10_000})
        self.move("deposit_bob", "/api/v1/admin/deposits", self.admin, {"to": bob["username"], "amount": 5_000})
        self.move("alice_bob", "/api/v1/transfers", token[alice["username"]], {"to": bob["username"], "amount": 2_500})
        self.move("bob_carol", "/api/v1/transfers", token[bob["username"]], {"to": carol["username"], "amount": 1_000})
        self.move("carol_alice", "/api/v1/transfers", token[carol["username"]],
                  {"to": alice["username"], "amount": 300, "memo": "thanks"})
        failed = self.move("too_much", "/api/v1/transfers", token[carol["username"]],
                           {"to": bob["username"], "amount": 999_999}, status=409)
        assert failed.json["error"]["code"] == "insufficient_funds"
        self.move("reversal", f"/api/v1/admin/transfers/{self.transfers['alice_bob']}/reverse", self.admin,
                  {"reason": "sent to the wrong person"})

    def verify(self):
        resp = self.call("GET", "/api/v1/admin/audit/verify", self.admin)
        assert resp.status_code == 200, resp.json
        return resp.json

    def cli(self, *args):
        return self.app.test_cli_runner().invoke(args=list(args))

    def postings_of(self, label):
        query = self.db.collection("postings").where(filter=FieldFilter("transfer_id", "==", self.transfers[label]))
        snaps = query.get()
        return sorted(snaps, key=lambda s: s.get("amount"))  # the debit first

    def audit_events(self):
        events = [event_view(s.id, s.to_dict()) for s in self.db.collection("audit").get()]
        return sorted(events, key=lambda e: (e["at"], e["id"]))


@pytest.fixture
def world(emulator):
    w = World(emulator)
    w.run_workload()
    yield w
    w.close()


def problems_of(report, kind):
    return [p for p in report["problems"] if p["kind"] == kind]


def assert_reported(report, kind, document):
    assert not report["ok"]
    found = problems_of(report, kind)
    assert any(document in p["documents"] for p in found), (kind, document, report["problems"])


# --- verify -------------------------------------------------------------------------


def test_verifier_passes_after_a_mixed_workload(world):
    treasury_events = [e for e in world.audit_events() if e["target"] == "accounts/treasury"]
    assert [e["action"] for e in treasury_events] == ["account.create"]  # made with the first admin, audited
    report = world.verify()
    assert report["ok"] is True, report["problems"]
    assert report["problems"] == [] and report["problem_count"] == 0
    # Three users, one admin, the treasury; six transfers (the failed attempt wrote nothing).
    assert report["accounts_checked"] == 5
    assert report["transfers_checked"] == 6
    assert report["postings_checked"] == 12
    assert report["audit_events_checked"] == 6
    assert report["snapshot_time"].endswith("Z")

    result = world.cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_verify_cli_shows_progress_on_request(world):
    result = world.cli("audit", "verify", "--progress")
    assert result.exit_code == 0
    assert "audit verify: postings (hash chains): 12/12 (100%) done" in result.stderr
    assert json.loads(result.stdout)["postings_checked"] == 12


def _edit_posting_amount(w):
    debit = w.postings_of("bob_carol")[0]
    debit.reference.update({"amount": debit.get("amount") + 1})
    return [("hash_mismatch", debit.reference.path),
            ("transfer_postings_mismatch", f"transfers/{w.transfers['bob_carol']}")]


def _rehash_edited_posting(w):
    """A forger who edits a posting and recomputes its hash still breaks the chain after it."""
    debit = w.postings_of("deposit_bob")[1]  # bob's first posting; more follow it
    doc = debit.to_dict()
    doc["amount"] += 100
    doc["balance_after"] += 100
    doc["hash"] = engine.posting_hash(doc)
    debit.reference.set(doc)
    successor = engine.posting_id(doc["account_id"], doc["seq"] + 1)
    return [("chain_broken", f"postings/{successor}"), ("balance_mismatch", f"accounts/{doc['account_id']}")]


def _delete_posting(w):
    credit = w.postings_of("bob_carol")[1]  # carol's first posting; more follow it
    credit.reference.delete()
    return [("posting_missing", credit.reference.path),
            ("transfer_postings_mismatch", f"transfers/{w.transfers['bob_carol']}")]


def _delete_last_posting(w):
    credit = w.postings_of("reversal")[1]  # alice's newest posting
    credit.reference.delete()
    return [("posting_missing", credit.reference.path)]


def _change_balance(w):
    ref = w.db.collection("accounts").document(w.bob["id"])
    ref.update({"balance": ref.get().get("balance") + 1_000})
    return [("balance_mismatch", ref.path), ("books_unbalanced", ref.path)]


def _delete_audit_event(w):
    transfer = w.db.collection("transfers").document(w.transfers["carol_alice"]).get()
    event_id = transfer.get("audit_event_id")
    w.db.collection("audit").document(event_id).delete()
    return [("transfer_without_audit", transfer.reference.path), ("transfer_without_audit", f"audit/{event_id}")]


def _insert_forged_transfer(w):
    forged = uuid.uuid4().hex
    w.db.collection("transfers").document(forged).set({
        "from_account": "treasury", "to_account": w.carol["id"], "from_username": "treasury",
        "to_username": w.carol["username"], "parties": [w.carol["id"]], "amount": 50_000, "currency": "USD",
        "memo": None, "kind": "deposit", "status": "posted", "reverses": None, "reversed_by": None,
        "created_at": w.db.collection("transfers").document(w.transfers["bob_carol"]).get().get("created_at"),
        "created_by": w.alice["id"], "audit_event_id": None, "request_id": None})
    return [("transfer_postings_mismatch", f"transfers/{forged}"), ("transfer_without_audit", f"transfers/{forged}")]


def _delete_transfer(w):
    ref = w.db.collection("transfers").document(w.transfers["carol_alice"])
    event_id = ref.get().get("audit_event_id")
    ref.delete()
    return [("posting_without_transfer", ref.path), ("audit_without_transfer", f"audit/{event_id}")]


def _insert_forged_ledger_event(w):
    event_id = uuid.uuid4().hex
    w.db.collection("audit").document(event_id).set({
        "at": engine.dt.datetime.now(engine.dt.UTC), "actor_id": None, "actor_username": "cli",
        "action": "deposit.create", "target": f"transfers/{uuid.uuid4().hex}", "request_id": None, "details": {}})
    return [("audit_without_transfer", f"audit/{event_id}")]


def _unreverse_original(w):
    original = w.db.collection("transfers").document(w.transfers["alice_bob"])
    original.update({"status": "posted", "reversed_by": None})
    return [("reversal_mismatch", f"transfers/{w.transfers['reversal']}")]


def _point_transfer_at_reserved_ids(w):
    ref = w.db.collection("transfers").document(w.transfers["bob_carol"])
    ref.update({"audit_event_id": "__x__", "reversed_by": "."})
    return [("transfer_without_audit", ref.path)]


TAMPERING = [_point_transfer_at_reserved_ids,
             _edit_posting_amount, _rehash_edited_posting, _delete_posting, _delete_last_posting, _change_balance,
             _delete_audit_event, _insert_forged_transfer, _delete_transfer, _insert_forged_ledger_event,
             _unreverse_original]


@pytest.mark.parametrize("tamper", TAMPERING, ids=[t.__name__.strip("_") for t in TAMPERING])
def test_tampering_in_firestore_is_reported(world, tamper):
    assert world.verify()["ok"]
    expected = tamper(world)
    report = world.verify()
    for kind, document in expected:
        assert_reported(report, kind, document)
    assert report["problem_count"] == sum(report["problem_kinds"].values()) >= len({kind for kind, _ in expected})

    result = world.cli("audit", "verify")
    assert result.exit_code == 1
    cli_report = json.loads(result.stdout)
    assert cli_report["problems"] == report["problems"]


def test_problem_list_is_capped_but_all_are_counted(world):
    for snap in world.db.collection("postings").get():
        snap.reference.update({"hash": "f" * 64})
    result = world.cli("audit", "verify", "--max-problems", "2")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert len(report["problems"]) == 2
    assert report["problems_truncated"] is True
    assert report["problem_kinds"]["hash_mismatch"] == 12
    assert report["problem_count"] > 12


def test_bench_ledger_generator_builds_books_that_verify(emulator, monkeypatch):
    """The verify-speed benchmark's data must be valid, or its figure means nothing."""
    from google.cloud import firestore

    from bench.verify_speed import build_ledger
    from server.audit.verify import Verifier
    from server.ledger.bench import LedgerBench

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    client = firestore.Client(project=f"demo-audit-bench-{uuid.uuid4().hex[:8]}")
    accounts, postings = build_ledger(client, LedgerBench(store=None), 300, accounts=7)
    report = Verifier(client, page_size=17, query_size=40).run()
    client.close()
    assert report["ok"], report["problems"]
    assert (report["accounts_checked"], report["postings_checked"]) == (accounts, postings)
    assert report["transfers_checked"] == report["audit_events_checked"] == postings // 2


# --- export -------------------------------------------------------------------------


def _parse_csv(text):
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        for key, value in row.items():
            row[key] = None if value == "" else value
        row["details"] = json.loads(row["details"])
    return rows


def test_export_round_trips_every_event_as_jsonl_and_csv(world):
    events = world.audit_events()
    assert len(events) >= 11  # 4 signups, a login, 6 ledger events

    jsonl = world.cli("audit", "export")
    assert jsonl.exit_code == 0, jsonl.output
    assert [json.loads(line) for line in jsonl.stdout.splitlines()] == events
    assert f"{len(events)} event(s)" in jsonl.stderr

    as_csv = world.cli("audit", "export", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    assert _parse_csv(as_csv.stdout) == events


def test_export_time_filters_split_the_trail_exactly(world):
    events = world.audit_events()
    middle = events[len(events) // 2]["at"]
    before = world.cli("audit", "export", "--until", middle)
    after = world.cli("audit", "export", "--since", middle, "--format", "csv")
    assert before.exit_code == after.exit_code == 0
    older = [json.loads(line) for line in before.stdout.splitlines()]
    newer = _parse_csv(after.stdout)
    assert older and newer
    assert older + newer == events
    assert all(e["at"] < middle for e in older) and all(e["at"] >= middle for e in newer)
    window = world.cli("audit", "export", "--since", events[1]["at"], "--until", events[3]["at"])
    assert [json.loads(line)["id"] for line in window.stdout.splitlines()] == [e["id"] for e in events[1:3]]


@pytest.mark.parametrize("args", [["--since", "yesterday"], ["--until", "2024-01-01"],
                                  ["--since", "2024-01-02T00:00:00Z", "--until", "2024-01-01T00:00:00Z"],
                                  ["--format", "xml"]])
def test_export_refuses_bad_options(runner, args):
    result = runner.invoke(args=["audit", "export", *args])
    assert result.exit_code == 2
    assert result.stdout == ""


# --- the query endpoint ---------------------------------------------------------------------


AUDIT_PATHS = ["/api/v1/admin/audit", "/api/v1/admin/audit?action=user.login&limit=5",
               "/api/v1/admin/audit/verify"]


@pytest.mark.parametrize("path", AUDIT_PATHS)
def test_non_admins_are_refused_on_every_audit_endpoint(live_server, user, path):
    resp = live_server.api("GET", path, user["token"])
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    anonymous = live_server.api("GET", path)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"


def test_audit_endpoints_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    assert {"/api/v1/admin/audit", "/api/v1/admin/audit/verify"} <= set(spec["paths"])
    params = {p["name"] for p in spec["paths"]["/api/v1/admin/audit"]["get"]["parameters"]}
    assert {"action", "actor", "target", "since", "until", "limit", "cursor"} <= params


@pytest.fixture(scope="module")
def trail(live_server):
    """A user with a known trail: signup, two logins, a failed login, a logout."""
    name = unique_name("trail")
    signed = live_server.signup(name)
    tokens = [live_server.api("POST", "/api/v1/auth/login", json={"username": name, "password": PASSWORD}).json()
              ["token"] for _ in range(2)]
    live_server.api("POST", "/api/v1/auth/login", json={"username": name, "password": "wrong-password"})
    assert live_server.api("POST", "/api/v1/auth/logout", tokens[0]).status_code == 204
    return {"name": name, "id": signed["user"]["id"], "admin": live_server.admin_token()}


def _list(live_server, admin, **params):
    resp = live_server.api("GET", "/api/v1/admin/audit", admin, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_audit_list_filters_by_actor_name_or_id(live_server, trail):
    by_name = _list(live_server, trail["admin"], actor=trail["name"].upper())
    assert by_name["next_cursor"] is None
    items = by_name["items"]
    assert [e["action"] for e in items] == ["user.logout", "user.login", "user.login", "user.signup"]
    assert all(set(e) == EVENT_KEYS and e["actor_id"] == trail["id"] for e in items)
    assert [e["at"] for e in items] == sorted((e["at"] for e in items), reverse=True)
    assert _list(live_server, trail["admin"], actor=trail["id"])["items"] == items


def test_audit_list_filters_by_action_target_and_combinations(live_server, trail):
    admin, name, user_id = trail["admin"], trail["name"], trail["id"]
    failed = _list(live_server, admin, action="user.login_failed", target=f"usernames/{name}")["items"]
    assert len(failed) == 1 and failed[0]["actor_id"] is None and failed[0]["details"]["username"] == name
    on_user = _list(live_server, admin, target=f"users/{user_id}")["items"]
    assert [e["action"] for e in on_user] == ["user.login", "user.login", "user.signup"]
    logins = _list(live_server, admin, action="user.login", actor=name, target=f"users/{user_id}")["items"]
    assert [e["id"] for e in logins] == [e["id"] for e in on_user[:2]]
    assert _list(live_server, admin, action="user.signup", actor=user_id)["items"] == on_user[2:]
    assert _list(live_server, admin, action="no.such_action", actor=name)["items"] == []


def test_audit_list_time_range_is_since_inclusive_until_exclusive(live_server, trail):
    items = _list(live_server, trail["admin"], actor=trail["name"])["items"]
    newest, second = items[0]["at"], items[1]["at"]
    assert [e["id"] for e in _list(live_server, trail["admin"], actor=trail["name"], since=second)["items"]] \
        == [e["id"] for e in items[:2]]
    assert [e["id"] for e in _list(live_server, trail["admin"], actor=trail["name"], until=second)["items"]] \
        == [e["id"] for e in items[2:]]
    window = _list(live_server, trail["admin"], actor=trail["name"], since=second, until=newest)["items"]
    assert [e["id"] for e in window] == [items[1]["id"]]
    offset = second.replace("Z", "+00:00")
    assert _list(live_server, trail["admin"], actor=trail["name"], since=offset)["items"] == items[:2]


def test_audit_list_pages_without_repeats_or_gaps(live_server, trail):
    everything = _list(live_server, trail["admin"], actor=trail["name"])["items"]
    seen, cursor = [], None
    for _ in range(10):
        params = {"actor": trail["name"], "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = _list(live_server, trail["admin"], **params)
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    # Unfiltered, the whole trail pages too (newest first, across all actors).
    first = _list(live_server, trail["admin"], limit=3)
    second = _list(live_server, trail["admin"], limit=3, cursor=first["next_cursor"])
    assert len(first["items"]) == 3 and not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}
    assert first["items"][-1]["at"] >= second["items"][0]["at"]


@pytest.mark.parametrize("params", [{"since": "yesterday"}, {"since": "2024-01-01"}, {"until": "1700000000"},
                                    {"since": "2024-13-01T00:00:00Z"}, {"since": "2024-01-01T00:00:00"},
                                    {"limit": "0"}, {"limit": "101"}, {"cursor": "not-a-cursor!"},
                                    {"actor": "a b"}, {"action": "DROP TABLE"}])
def test_audit_list_refuses_invalid_filters_with_422(live_server, trail, params):
    resp = live_server.api("GET", "/api/v1/admin/audit", trail["admin"], params=params)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("until", ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"])
def test_until_at_or_before_since_is_an_empty_window(live_server, trail, until):
    """since inclusive, until exclusive: a window that ends where or before it starts holds no
    event (the list and its export are empty, not an error)."""
    params = {"since": "2024-01-02T00:00:00Z", "until": until}
    resp = live_server.api("GET", "/api/v1/admin/audit", trail["admin"], params=params)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"items": [], "next_cursor": None}
    export = live_server.api("GET", "/api/v1/admin/audit/export", trail["admin"], params=params)
    assert export.status_code == 200 and export.text == ""


def test_every_filter_combination_has_a_declared_composite_index():
    """The emulator does not enforce indexes; production Firestore does. Check each query shape."""
    with open(os.path.join(ROOT, "firestore.indexes.json"), encoding="utf-8") as fh:
        declared = {tuple((f["fieldPath"], f.get("order")) for f in ix["fields"])
                    for ix in json.load(fh)["indexes"] if ix["collectionGroup"] == "audit"}
    choices = {"action": [None, "user.login"], "actor": [None, "alice", uuid.uuid4().hex],
               "target": [None, "users/x"], "since": [None, "2024-01-01T00:00:00Z"]}
    for values in itertools.product(*choices.values()):
        query = AuditQuery(**{k: v for k, v in zip(choices, values, strict=True) if v is not None})
        fields = [field for field, _ in store.equality_filters(query)]
        if not fields:
            continue  # ordered by `at` alone: the built-in single-field index
        needed = tuple((f, "ASCENDING") for f in fields) + (("at", "DESCENDING"),)
        assert needed in declared, needed


def test_every_event_carries_the_request_id_of_the_request_behind_it(live_server):
    """The edge hands the request's origin to the use cases with the caller: no event loses it."""
    audit = live_server.app.extensions["datastore"].collection("audit")
    name, other = unique_name("rid"), live_server.signup()
    admin = live_server.admin_token()

    def call(action, method, path, bearer=None, status=200, **kwargs):
        request_id = f"rid-{uuid.uuid4().hex}"
        resp = live_server.api(method, path, bearer, headers={"X-Request-ID": request_id, **kwargs.pop("headers", {})},
                               **kwargs)
        assert resp.status_code == status, resp.text
        events = [s.to_dict() for s in audit.where(filter=FieldFilter("request_id", "==", request_id)).stream()]
        assert [e["action"] for e in events] == [action], (path, events)
        return resp.json() if resp.content else None

    token = call("user.signup", "POST", "/api/v1/auth/signup", status=201,
                 json={"username": name, "password": PASSWORD})["token"]
    call("user.login_failed", "POST", "/api/v1/auth/login", status=401, json={"username": name, "password": "x" * 12})
    token = call("user.login", "POST", "/api/v1/auth/login", json={"username": name, "password": PASSWORD})["token"]
    call("deposit.create", "POST", "/api/v1/admin/deposits", admin, status=201,
         headers={"Idempotency-Key": uuid.uuid4().hex}, json={"to": name, "amount": 500})
    call("transfer.create", "POST", "/api/v1/transfers", token, status=201,
         headers={"Idempotency-Key": uuid.uuid4().hex}, json={"to": other["user"]["username"], "amount": 5})
    post = call("post.create", "POST", "/api/v1/posts", token, status=201, json={"title": "t", "body": "b"})["post"]
    call("post.approve", "POST", f"/api/v1/admin/posts/{post['id']}/approve", admin)
    conversation = call("conversation.create", "POST", "/api/v1/conversations", token, status=201,
                        json={"with": other["user"]["username"]})["conversation"]
    call("message.create", "POST", f"/api/v1/conversations/{conversation['id']}/messages", token, status=201,
         json={"body": "hi"})
    call("user.password_change", "POST", "/api/v1/auth/password", token, status=204,
         json={"current_password": PASSWORD, "new_password": PASSWORD + "-2"})
    call("user.logout", "POST", "/api/v1/auth/logout", token, status=204)

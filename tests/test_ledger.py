"""The ledger through the HTTP API, against the real emulator."""

import uuid

import pytest
from conftest import PASSWORD, make_test_config, unique_name

from server import create_app
from server.ledger import engine


def key():
    return uuid.uuid4().hex


def post(live_server, path, token, body, idem=None):
    headers = {"Idempotency-Key": idem or key()}
    return live_server.api("POST", path, token, json=body, headers=headers)


def deposit(live_server, admin_token, username, amount, idem=None):
    resp = post(live_server, "/api/v1/admin/deposits", admin_token, {"to": username, "amount": amount}, idem)
    assert resp.status_code == 201, resp.text
    return resp.json()["transfer"]


def balance(live_server, token):
    return live_server.api("GET", "/api/v1/accounts/me", token).json()["balance"]


@pytest.fixture
def funded(live_server):
    """Two users; alice has 1000."""
    alice, bob = live_server.signup(), live_server.signup()
    deposit(live_server, live_server.admin_token(), alice["user"]["username"], 1000)
    return alice, bob


def test_transfer_moves_money_and_shows_on_both_sides(live_server, funded):
    alice, bob = funded
    resp = post(live_server, "/api/v1/transfers", alice["token"],
                {"to": bob["user"]["username"].upper(), "amount": 250, "memo": "lunch"})
    assert resp.status_code == 201
    transfer = resp.json()["transfer"]
    assert transfer["from_username"] == alice["user"]["username"]
    assert transfer["to_username"] == bob["user"]["username"]
    assert (transfer["amount"], transfer["kind"], transfer["status"], transfer["memo"]) == \
        (250, "transfer", "posted", "lunch")
    assert balance(live_server, alice["token"]) == 750
    assert balance(live_server, bob["token"]) == 250
    for party in (alice, bob):
        items = live_server.api("GET", "/api/v1/transfers", party["token"]).json()["items"]
        assert items[0]["id"] == transfer["id"]
        one = live_server.api("GET", f"/api/v1/transfers/{transfer['id']}", party["token"])
        assert one.status_code == 200 and one.json()["transfer"] == transfer
    bob_postings = live_server.api("GET", "/api/v1/accounts/me/postings", bob["token"]).json()["items"]
    assert [(p["amount"], p["balance_after"]) for p in bob_postings] == [(250, 250)]


def test_replay_returns_the_first_result_and_moves_no_money(live_server, funded):
    alice, bob = funded
    body = {"to": bob["user"]["username"], "amount": 100}
    idem = key()
    first = post(live_server, "/api/v1/transfers", alice["token"], body, idem)
    again = post(live_server, "/api/v1/transfers", alice["token"], body, idem)
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["transfer"]["id"] == first.json()["transfer"]["id"]
    assert balance(live_server, alice["token"]) == 900

    conflict = post(live_server, "/api/v1/transfers", alice["token"], {**body, "amount": 101}, idem)
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    # The same key from another caller is another key.
    bob_uses_it = post(live_server, "/api/v1/transfers", bob["token"],
                       {"to": alice["user"]["username"], "amount": 1}, idem)
    assert bob_uses_it.status_code == 201


def test_concurrent_requests_with_one_key_move_money_once(live_server, funded):
    import threading

    alice, bob = funded
    idem, results = key(), []
    barrier = threading.Barrier(10)

    def go():
        barrier.wait()
        results.append(post(live_server, "/api/v1/transfers", alice["token"],
                            {"to": bob["user"]["username"], "amount": 10}, idem))

    threads = [threading.Thread(target=go) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["transfer"]["id"] for r in results}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in results) == 9
    assert balance(live_server, alice["token"]) == 990


def test_insufficient_funds_changes_nothing(live_server, funded, app):
    alice, bob = funded
    before_transfers = live_server.api("GET", "/api/v1/transfers", alice["token"]).json()["items"]
    resp = post(live_server, "/api/v1/transfers", alice["token"], {"to": bob["user"]["username"], "amount": 1001})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "insufficient_funds"
    assert balance(live_server, alice["token"]) == 1000
    assert balance(live_server, bob["token"]) == 0
    assert live_server.api("GET", "/api/v1/transfers", alice["token"]).json()["items"] == before_transfers
    postings = live_server.api("GET", "/api/v1/accounts/me/postings", bob["token"]).json()["items"]
    assert postings == []


def test_refusal_is_the_keys_answer_until_a_new_key(live_server, funded):
    alice, bob = funded
    body, idem = {"to": bob["user"]["username"], "amount": 1500}, key()
    first = post(live_server, "/api/v1/transfers", alice["token"], body, idem)
    assert first.status_code == 409 and "Idempotent-Replayed" not in first.headers
    deposit(live_server, live_server.admin_token(), alice["user"]["username"], 1000)
    again = post(live_server, "/api/v1/transfers", alice["token"], body, idem)
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert balance(live_server, alice["token"]) == 2000
    fresh = post(live_server, "/api/v1/transfers", alice["token"], body)
    assert fresh.status_code == 201
    assert balance(live_server, alice["token"]) == 500


@pytest.mark.parametrize("amount", [0, -5, 1.5, 0.0, 1e12, "100", True, None, 10**11 + 1, [1], {"a": 1}])
def test_bad_amounts_are_422(live_server, funded, amount):
    alice, bob = funded
    resp = post(live_server, "/api/v1/transfers", alice["token"], {"to": bob["user"]["username"], "amount": amount})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert any(d["field"] == "amount" for d in resp.json()["error"]["details"])


def test_a_whole_number_written_with_a_fraction_is_refused(live_server, funded):
    """The contract refuses every float, 100.0 too (JSON Schema would count it an integer:
    the document says so in words), and nothing moves."""
    alice, bob = funded
    before = balance(live_server, alice["token"])
    resp = post(live_server, "/api/v1/transfers", alice["token"], {"to": bob["user"]["username"], "amount": 100.0})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"][0]["field"] == "amount"
    assert balance(live_server, alice["token"]) == before


def test_largest_amount_is_accepted(live_server):
    someone = live_server.signup()
    deposit(live_server, live_server.admin_token(), someone["user"]["username"], 1_000_000_000_00)
    assert balance(live_server, someone["token"]) == 1_000_000_000_00


@pytest.mark.parametrize("body,headers,field", [
    ({"to": "x", "amount": 1, "memo": "m" * 141}, None, "memo"),
    ({"to": "x", "amount": 1, "extra": 1}, None, "extra"),
    ({"amount": 1}, None, "to"),
    ({"to": "x", "amount": 1}, {}, "Idempotency-Key"),
    ({"to": "x", "amount": 1}, {"Idempotency-Key": ""}, "Idempotency-Key"),
    ({"to": "x", "amount": 1}, {"Idempotency-Key": "k" * 256}, "Idempotency-Key"),
])
def test_transfer_validation(live_server, funded, body, headers, field):
    alice, _ = funded
    resp = live_server.api("POST", "/api/v1/transfers", alice["token"], json=body,
                           headers={"Idempotency-Key": key()} if headers is None else headers)
    assert resp.status_code == 422, resp.text
    assert field in {d["field"] for d in resp.json()["error"]["details"]}


def test_transfer_to_oneself_or_unknown_user(live_server, funded):
    alice, _ = funded
    me = post(live_server, "/api/v1/transfers", alice["token"], {"to": alice["user"]["username"], "amount": 1})
    assert me.status_code == 422
    ghost = post(live_server, "/api/v1/transfers", alice["token"], {"to": unique_name("ghost"), "amount": 1})
    assert ghost.status_code == 404 and ghost.json()["error"]["code"] == "not_found"
    treasury = post(live_server, "/api/v1/transfers", alice["token"], {"to": "treasury", "amount": 1})
    assert treasury.status_code == 404


def test_outsider_cannot_read_a_transfer_and_users_cannot_call_admin(live_server, funded):
    alice, bob = funded
    transfer = post(live_server, "/api/v1/transfers", alice["token"],
                    {"to": bob["user"]["username"], "amount": 5}).json()["transfer"]
    outsider = live_server.signup()
    resp = live_server.api("GET", f"/api/v1/transfers/{transfer['id']}", outsider["token"])
    assert resp.status_code == 404
    assert live_server.api("GET", "/api/v1/transfers/no-such-id", alice["token"]).status_code == 404
    assert transfer["id"] not in {t["id"] for t in
                                  live_server.api("GET", "/api/v1/transfers", outsider["token"]).json()["items"]}
    admin_calls = [
        ("POST", "/api/v1/admin/deposits", {"to": outsider["user"]["username"], "amount": 10**9}),
        ("POST", f"/api/v1/admin/transfers/{transfer['id']}/reverse", {"reason": "mine now"}),
        ("GET", "/api/v1/admin/accounts", None),
    ]
    for method, path, body in admin_calls:
        resp = live_server.api(method, path, outsider["token"], json=body, headers={"Idempotency-Key": key()})
        assert resp.status_code == 403, (path, resp.text)
        assert resp.json()["error"]["code"] == "forbidden"
        assert live_server.api(method, path, json=body).status_code == 401
    assert balance(live_server, outsider["token"]) == 0
    assert live_server.api("GET", f"/api/v1/transfers/{transfer['id']}",
                           live_server.admin_token()).status_code == 200


def test_reversal_and_double_reversal(live_server, funded):
    alice, bob = funded
    admin = live_server.admin_token()
    original = post(live_server, "/api/v1/transfers", alice["token"],
                    {"to": bob["user"]["username"], "amount": 400}).json()["transfer"]
    resp = post(live_server, f"/api/v1/admin/transfers/{original['id']}/reverse", admin, {"reason": "fraud"})
    assert resp.status_code == 201, resp.text
    reversal = resp.json()["transfer"]
    assert (reversal["kind"], reversal["reverses"], reversal["from_account"], reversal["amount"]) == \
        ("reversal", original["id"], original["to_account"], 400)
    assert balance(live_server, alice["token"]) == 1000
    assert balance(live_server, bob["token"]) == 0
    status = live_server.api("GET", f"/api/v1/transfers/{original['id']}", alice["token"]).json()
    assert status["transfer"]["status"] == "reversed"

    again = post(live_server, f"/api/v1/admin/transfers/{original['id']}/reverse", admin, {"reason": "again"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    of_reversal = post(live_server, f"/api/v1/admin/transfers/{reversal['id']}/reverse", admin, {"reason": "x"})
    assert of_reversal.status_code == 409
    missing = post(live_server, "/api/v1/admin/transfers/nope/reverse", admin, {"reason": "x"})
    assert missing.status_code == 404


def test_reversal_that_would_overdraw_the_recipient_is_refused(live_server, funded):
    alice, bob = funded
    admin = live_server.admin_token()
    original = post(live_server, "/api/v1/transfers", alice["token"],
                    {"to": bob["user"]["username"], "amount": 400}).json()["transfer"]
    carol = live_server.signup()
    assert post(live_server, "/api/v1/transfers", bob["token"],
                {"to": carol["user"]["username"], "amount": 300}).status_code == 201
    resp = post(live_server, f"/api/v1/admin/transfers/{original['id']}/reverse", admin, {"reason": "late"})
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "insufficient_funds"
    assert balance(live_server, bob["token"]) == 100
    status = live_server.api("GET", f"/api/v1/transfers/{original['id']}", admin).json()["transfer"]["status"]
    assert status == "posted"


def test_history_pages_newest_first_without_gaps(live_server, funded):
    alice, bob = funded
    sent = [post(live_server, "/api/v1/transfers", alice["token"],
                 {"to": bob["user"]["username"], "amount": i + 1}).json()["transfer"]["id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = live_server.api("GET", "/api/v1/transfers", bob["token"], params=params).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(sent))
    postings = live_server.api("GET", "/api/v1/accounts/me/postings", alice["token"], params={"limit": 100}).json()
    assert [p["balance_after"] for p in postings["items"]][:2] == [1000 - 28, 1000 - 21]
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "!!!"}):
        assert live_server.api("GET", "/api/v1/transfers", bob["token"], params=bad).status_code == 422


def test_admin_lists_accounts_with_the_treasury(live_server, funded):
    pages, cursor = [], None
    while True:
        page = live_server.api("GET", "/api/v1/admin/accounts", live_server.admin_token(),
                               params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        pages += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    by_id = {a["id"]: a for a in pages}
    assert by_id["treasury"]["balance"] < 0
    assert by_id[funded[0]["user"]["id"]]["balance"] == 1000


def every_document(db):
    """{path: update time} of every document of a project: equal before and after means nothing was written."""
    return {snap.reference.path: snap.update_time for coll in db.collections() for snap in coll.stream()}


def fresh_project(emulator, project=None):
    app = create_app(make_test_config(emulator, project or f"demo-ledger-{uuid.uuid4().hex[:8]}"))
    return app, app.test_client(), app.extensions["datastore"].client


def admin_login(app, client, name):
    app.extensions["auth"].create_admin(name, PASSWORD)
    return client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD}).json["token"]


def list_accounts(client, token):
    resp = client.get("/api/v1/admin/accounts", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def test_the_first_admin_brings_the_treasury_and_listing_it_writes_nothing(emulator):
    app, client, db = fresh_project(emulator)
    try:
        assert not db.collection("accounts").document("treasury").get().exists
        token = admin_login(app, client, unique_name("admin"))
        treasury = db.collection("accounts").document("treasury").get()
        assert treasury.exists and treasury.get("balance") == 0
        events = [e.to_dict() for e in db.collection("audit").stream()]
        assert [e["action"] for e in events if e["target"] == "accounts/treasury"] == ["account.create"]
        before = every_document(db)
        listed = list_accounts(client, token)
        assert listed == list_accounts(client, token)
        assert every_document(db) == before
        assert [(a["id"], a["owner_id"], a["username"], a["balance"]) for a in listed if a["id"] == "treasury"] \
            == [("treasury", None, "treasury", 0)]
    finally:
        app.extensions["shutdown"]()


def test_a_listing_never_creates_the_treasury_a_deposit_still_does(emulator):
    """A project whose admin predates admin-made treasuries: a GET leaves it so, a deposit creates it."""
    project = f"demo-ledger-{uuid.uuid4().hex[:8]}"
    app, client, db = fresh_project(emulator, project)
    try:
        token = admin_login(app, client, unique_name("admin"))
        alice = client.post("/api/v1/auth/signup", json={"username": unique_name(), "password": PASSWORD}).json
        db.collection("accounts").document("treasury").delete()
    finally:
        app.extensions["shutdown"]()
    app, client, db = fresh_project(emulator, project)  # a new process, which has not made the treasury yet
    try:
        before = every_document(db)
        stored = {path.removeprefix("accounts/") for path in before if path.startswith("accounts/")}
        assert {a["id"] for a in list_accounts(client, token)} == stored
        assert every_document(db) == before and "treasury" not in stored
        resp = client.post("/api/v1/admin/deposits", json={"to": alice["user"]["username"], "amount": 70},
                           headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key()})
        assert resp.status_code == 201, resp.json
        assert db.collection("accounts").document("treasury").get().get("balance") == -70
    finally:
        app.extensions["shutdown"]()


def chain_of(app, account_id):
    from google.cloud.firestore_v1 import FieldFilter

    datastore = app.extensions["datastore"]
    query = datastore.collection("postings").where(filter=FieldFilter("account_id", "==", account_id))
    return sorted((s.to_dict() | {"id": s.id} for s in query.stream()), key=lambda p: p["seq"])


def chain_is_intact(app, account_id):
    account = app.extensions["datastore"].doc("accounts", account_id).get().to_dict()
    previous = "0" * 64
    for posting in chain_of(app, account_id):
        if posting["prev_hash"] != previous or engine.posting_hash(posting) != posting["hash"]:
            return False
        previous = posting["hash"]
    return previous == account["head_hash"]


def test_hash_chain_verifies_and_tampering_breaks_it(live_server, funded, app):
    alice, bob = funded
    for amount in (10, 20, 30):
        post(live_server, "/api/v1/transfers", alice["token"], {"to": bob["user"]["username"], "amount": amount})
    alice_id = alice["user"]["id"]
    assert chain_is_intact(app, alice_id)
    postings = chain_of(app, alice_id)
    assert [p["seq"] for p in postings] == [1, 2, 3, 4]
    # An insider edits one stored posting directly, with admin rights.
    app.extensions["datastore"].doc("postings", postings[1]["id"]).update({"amount": -1})
    assert not chain_is_intact(app, alice_id)

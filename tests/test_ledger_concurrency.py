"""Concurrency through the HTTP API: no money created, lost or duplicated."""

import random
import threading
import uuid
from collections import Counter

from google.cloud.firestore_v1 import FieldFilter

USERS = 6
CLIENTS = 16
TRANSFERS = 800
START_BALANCE = 5_000


def test_800_concurrent_transfers_with_a_hot_account_and_retries(live_server, app):
    users = [live_server.signup() for _ in range(USERS)]
    admin = live_server.admin_token()
    for u in users:
        resp = live_server.api("POST", "/api/v1/admin/deposits", admin, json={
            "to": u["user"]["username"], "amount": START_BALANCE}, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert resp.status_code == 201
    hot = users[0]
    rng = random.Random(1234)
    plan = []
    for i in range(TRANSFERS):
        if i % 2 == 0:  # half of all transfers involve the hot account, either way
            other = rng.choice(users[1:])
            src, dst = (hot, other) if rng.random() < 0.5 else (other, hot)
        else:
            src, dst = rng.sample(users[1:], 2)
        plan.append((src, dst, rng.randint(1, 400), uuid.uuid4().hex, rng.random() < 0.15))

    outcomes = Counter()
    transfer_ids = {}
    attempts = {}
    lock = threading.Lock()
    work = iter(enumerate(plan))

    def client():
        while True:
            with lock:
                item = next(work, None)
            if item is None:
                return
            i, (src, dst, amount, key, retry) = item
            for _attempt in range(2 if retry else 1):
                resp = live_server.api("POST", "/api/v1/transfers", src["token"],
                                       json={"to": dst["user"]["username"], "amount": amount},
                                       headers={"Idempotency-Key": key})
                code = resp.json().get("error", {}).get("code") if resp.status_code != 201 else None
                replayed = resp.headers.get("Idempotent-Replayed") == "true"
                with lock:
                    outcomes[(resp.status_code, code, replayed)] += 1
                    attempts.setdefault(i, []).append((resp.status_code, code, replayed))
                    if resp.status_code == 201:
                        tid = resp.json()["transfer"]["id"]
                        assert transfer_ids.setdefault(i, tid) == tid  # a retry names the same transfer

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads)

    allowed = {(201, None, False), (201, None, True),
               (409, "insufficient_funds", False), (409, "insufficient_funds", True)}
    assert set(outcomes) <= allowed, outcomes
    retried = sum(1 for p in plan if p[4])
    assert sum(outcomes.values()) == TRANSFERS + retried
    for seen in attempts.values():
        assert seen[0][2] is False
        if len(seen) == 2:  # a retry gets the first answer again, never a second transfer
            assert seen[1] == (*seen[0][:2], True)

    datastore = app.extensions["datastore"]
    balances = {}
    for u in users:
        uid = u["user"]["id"]
        balance = datastore.doc("accounts", uid).get().to_dict()["balance"]
        postings = [s.to_dict() for s in datastore.collection("postings")
                    .where(filter=FieldFilter("account_id", "==", uid)).stream()]
        assert balance == sum(p["amount"] for p in postings)
        assert sorted(p["seq"] for p in postings) == list(range(1, len(postings) + 1))
        assert balance >= 0
        balances[uid] = balance
    assert sum(balances.values()) == USERS * START_BALANCE
    # Each successful request posted exactly one transfer.
    posted = {t for u in users for t in _transfer_ids(datastore, u["user"]["id"])}
    deposits = USERS
    assert len(posted) == len(transfer_ids) + deposits


def _transfer_ids(datastore, uid):
    query = datastore.collection("transfers").where(filter=FieldFilter("parties", "array_contains", uid))
    return {s.id for s in query.stream()}


def test_one_key_raced_from_two_processes_moves_money_once(emulator, project_id, live_server):
    """Two app instances (two writers, as two server processes would have) race one key."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import make_test_config

    from server import create_app

    alice, bob = live_server.signup(), live_server.signup()
    live_server.api("POST", "/api/v1/admin/deposits", live_server.admin_token(),
                    json={"to": alice["user"]["username"], "amount": 100},
                    headers={"Idempotency-Key": uuid.uuid4().hex})
    apps = [create_app(make_test_config(emulator, project_id)) for _ in range(2)]
    try:
        clients = [a.test_client() for a in apps]
        idem = uuid.uuid4().hex

        def send(i):
            return clients[i % 2].post("/api/v1/transfers", json={"to": bob["user"]["username"], "amount": 60},
                                       headers={"Authorization": f"Bearer {alice['token']}", "Idempotency-Key": idem})

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(send, range(8)))
    finally:
        for a in apps:
            a.extensions["shutdown"]()
    assert {r.status_code for r in responses} == {201}, [r.json for r in responses]
    assert len({r.json["transfer"]["id"] for r in responses}) == 1
    me = live_server.api("GET", "/api/v1/accounts/me", alice["token"]).json()
    assert me["balance"] == 40

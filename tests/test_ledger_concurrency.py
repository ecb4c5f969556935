"""Concurrency through the HTTP API: no money created, lost or duplicated."""

import uuid

from multiproc import Client, bank_plan, bank_workload, check_answers, check_bank

USERS = 6
START_BALANCE = 5_000


def test_800_concurrent_transfers_with_a_hot_account_and_retries(live_server, app):
    """One process (the in-test server); tests/test_ledger_multiproc.py runs the same with two."""
    client = Client(live_server.url)
    users = [live_server.signup() for _ in range(USERS)]
    client.fund(live_server.admin_token(), users, START_BALANCE)
    plan = bank_plan(users, 800)
    attempts = bank_workload(client, plan)
    check_answers(plan, attempts)
    transfers_ok = sum(1 for seen in attempts.values() if seen[0][0] == 201)
    check_bank(app.extensions["datastore"], users, START_BALANCE, transfers_ok)


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

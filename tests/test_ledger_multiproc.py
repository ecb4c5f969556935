"""The ledger with several server processes (gunicorn workers and separate servers), real emulator."""

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import make_test_config
from multiproc import Client, Servers, bank_plan, bank_workload, check_answers, check_bank, check_exactly_once

from server import create_app
from server.ledger import engine

START_BALANCE = 5_000


@pytest.fixture
def servers(stack):
    started = Servers(stack)
    yield started
    started.stop_all()


def writer_summaries(server):
    """Each worker's ledger-writer counters, logged when it stopped."""
    with open(server.log_path, encoding="utf-8", errors="replace") as fh:
        # A JSON log line (LOG_FORMAT=json, the default off a terminal) holds the text as its message.
        lines = [json.loads(line)["message"] if line.startswith("{") else line for line in fh]
    return [json.loads(line.split("ledger writer: ", 1)[1]) for line in lines if "ledger writer: " in line]


def test_bank_workload_with_two_processes(servers, app):
    """Two server processes; each transfer goes to one of them and its retry (same key) to the other."""
    a, b = servers(workers=1), servers(workers=1)
    client = Client(a.url, b.url)
    users = [client.signup() for _ in range(6)]
    client.fund(client.admin(app), users, START_BALANCE)
    plan = bank_plan(users, 800)

    def send(i, attempt, src, body, key):
        return client.call("POST", "/api/v1/transfers", src["token"], server=(i + attempt) % 2, key=key, json=body)

    attempts = bank_workload(client, plan, send=send)
    check_answers(plan, attempts)
    transfers_ok = sum(1 for seen in attempts.values() if seen[0][0] == 201)
    check_bank(app.extensions["datastore"], users, START_BALANCE, transfers_ok)
    summaries = []
    for server in (a, b):
        server.stop()  # gracefully: the worker logs its writer's counters
        summaries += writer_summaries(server)
    # One writer for both (server/ledger/remote.py): one process commits, the other hands its
    # operations over (a lease moving between them under load may make both commit in turn).
    assert len(summaries) == 2 and sum(s["operations"] for s in summaries) >= len(plan), summaries
    assert sum(s.get("forwarded", 0) for s in summaries) > 0, summaries
    assert sum(s["unavailable"] + s.get("forward_unavailable", 0) for s in summaries) == 0


def test_gunicorn_with_two_workers_moves_money_right(servers, app):
    """WEB_WORKERS=2 behind one port, as the run command serves it."""
    server = servers(workers=2)
    client = Client(server.url)
    users = [client.signup() for _ in range(6)]
    client.fund(client.admin(app), users, START_BALANCE)
    plan = bank_plan(users, 200, seed=5)
    attempts = bank_workload(client, plan)
    check_answers(plan, attempts)
    check_bank(app.extensions["datastore"], users, START_BALANCE,
               sum(1 for seen in attempts.values() if seen[0][0] == 201))


def test_one_key_sent_to_two_processes_at_once_moves_money_once(servers, app):
    a, b = servers(workers=1), servers(workers=1)
    client = Client(a.url, b.url)
    alice, bob = client.signup(), client.signup()
    client.fund(client.admin(app), [alice], 1_000)
    keys = [uuid.uuid4().hex for _ in range(5)]

    def send(i):
        return client.call("POST", "/api/v1/transfers", alice["token"], server=i % 2, key=keys[i // 8],
                           json={"to": bob["user"]["username"], "amount": 60})

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(send, range(8 * len(keys))))
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201]
    for k in range(len(keys)):
        ids = {r.json()["transfer"]["id"] for r in responses[8 * k:8 * k + 8]}
        assert ids == {engine.idempotency_id(alice["user"]["id"], keys[k])}
        assert sum(r.headers.get("Idempotent-Replayed") != "true" for r in responses[8 * k:8 * k + 8]) >= 1
    me = client.call("GET", "/api/v1/accounts/me", alice["token"]).json()
    assert me["balance"] == 1_000 - 60 * len(keys)


def test_kill_9_of_one_server_mid_load_every_transfer_exactly_once(stack, emulator):
    """Clients send to server A, and retry with the same key on B when A dies (kill -9) under them."""
    project = f"demo-kill-{uuid.uuid4().hex[:8]}"
    started = Servers(stack, project)
    app = create_app(make_test_config(emulator, project))
    try:
        a, b = started(workers=1), started(workers=1)
        client = Client(a.url, b.url)
        users = [client.signup() for _ in range(6)]
        client.fund(client.admin(app), users, START_BALANCE)
        plan = bank_plan(users, 400, seed=99)
        answered, killed = [0], threading.Event()
        lock = threading.Lock()

        def send(_i, attempt, src, body, key):
            for server in (0, 1, 1, 1):
                if server == 0 and killed.is_set():
                    continue
                try:
                    resp = client.call("POST", "/api/v1/transfers", src["token"], server=server, key=key,
                                       json=body, timeout=30)
                except requests.RequestException:
                    continue  # A died under this request: the same key goes to B
                if resp.status_code < 500:
                    with lock:
                        answered[0] += 1
                        if answered[0] == 120 and not killed.is_set():
                            killed.set()
                            started.kill(a)
                    return resp
            raise AssertionError(f"no answer for key {key}")

        attempts = bank_workload(client, plan, clients=12, send=send)
        assert killed.is_set()
        check_exactly_once(app, users, START_BALANCE, plan, attempts)
    finally:
        started.stop_all()
        app.extensions["shutdown"]()

"""The app under gunicorn with N worker processes on the session's stack, and the bank workload.

`Servers` starts real server processes through the harness's GunicornServer
(tests/gunicorn_server.py: its own process group, stopped at teardown, at
exit and when the test process dies): `servers(workers=2)` is one gunicorn
with two workers sharing a port (the kernel spreads connections over them);
call it twice for two independent servers. `kill(server)` is kill -9 of a
whole server, master and workers, as a crash would be.

`bank_workload` is the concurrency test of the ledger: 16 clients, 6
accounts, a hot account in half the transfers, 15% of requests retried with
the same key; it returns what the clients saw, and `check_bank` checks the
books in Firestore.
"""

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter

import requests
from conftest import PASSWORD, SECRET
from google.cloud.firestore_v1 import FieldFilter
from gunicorn_server import GunicornServer, stack_env, wait_for

from server.ledger.engine import idempotency_id

HIGH_LIMIT = "100000/minute"
ALLOWED = {(201, None, False), (201, None, True), (409, "insufficient_funds", False), (409, "insufficient_funds", True)}


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return fh.read().split()
    except OSError:
        return []


class Servers:
    """Starts gunicorn servers on demand (on the stack, for a project) and stops them all."""

    def __init__(self, stack, project_id=None):
        self.stack, self.project_id = stack, project_id or stack.project_id
        self.started = []
        # The servers of one test share one ledger writer, never an in-process test app's
        # (an app of the session that moved money earlier may hold the stack's lease).
        self.channel_prefix = f"ledger-writer:multiproc-{uuid.uuid4().hex}"

    def __call__(self, workers=2, **settings):
        settings.setdefault("LEDGER_CHANNEL_PREFIX", self.channel_prefix)
        env = stack_env(self.stack, SECRET, GOOGLE_CLOUD_PROJECT=self.project_id, LOGIN_RATE_LIMIT=HIGH_LIMIT,
                        LOGIN_IP_RATE_LIMIT=HIGH_LIMIT, SIGNUP_RATE_LIMIT=HIGH_LIMIT,
                        CONTENT_RATE_LIMIT=HIGH_LIMIT, RATELIMIT_KEY_PREFIX=f"multiproc-{uuid.uuid4().hex}",
                        NO_PROXY="127.0.0.1,localhost", **settings)
        server = GunicornServer(env, workers=workers, threads=32)
        self.started.append(server)
        pid = server.managed.process.pid
        assert wait_for(lambda: len(_children(pid)) >= workers, timeout=60), "workers did not start"
        server.log_path = server.managed.log_path
        return server

    @staticmethod
    def kill(server):
        """kill -9 of the whole server (master and workers)."""
        process = server.managed.process
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self):
        while self.started:
            self.started.pop().stop()


class Client:
    """HTTP against one or more servers, one keep-alive session per thread."""

    def __init__(self, *urls):
        self.urls = list(urls)
        self._local = threading.local()

    def call(self, method, path, token=None, server=0, key=None, **kwargs):
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.trust_env = False
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        return self._local.session.request(method, f"{self.urls[server]}{path}", headers=headers,
                                           timeout=kwargs.pop("timeout", 60), **kwargs)

    def signup(self):
        name = f"m{uuid.uuid4().hex[:10]}"
        resp = self.call("POST", "/api/v1/auth/signup", json={"username": name, "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def admin(self, app):
        name = f"admin{uuid.uuid4().hex[:8]}"
        app.extensions["auth"].create_admin(name, PASSWORD)
        resp = self.call("POST", "/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert resp.status_code == 200, resp.text
        return resp.json()["token"]

    def fund(self, admin_token, users, amount):
        for u in users:
            resp = self.call("POST", "/api/v1/admin/deposits", admin_token, key=uuid.uuid4().hex,
                             json={"to": u["user"]["username"], "amount": amount})
            assert resp.status_code == 201, resp.text


def bank_plan(users, transfers, seed=1234):
    """(sender, recipient, amount, key, retried) for each transfer; the hot account in half of them."""
    hot, rng, plan = users[0], random.Random(seed), []
    for i in range(transfers):
        if i % 2 == 0:
            other = rng.choice(users[1:])
            src, dst = (hot, other) if rng.random() < 0.5 else (other, hot)
        else:
            src, dst = rng.sample(users[1:], 2)
        plan.append((src, dst, rng.randint(1, 400), uuid.uuid4().hex, rng.random() < 0.15))
    return plan


def bank_workload(client, plan, clients=16, send=None):
    """Runs the plan with `clients` threads; returns {index: [(status, code, replayed, transfer id)]}.

    send(i, attempt, src, body, key) -> response, default: the first server. A retried
    transfer is sent twice with the same key.
    """
    def default_send(_i, _attempt, src, body, key):
        return client.call("POST", "/api/v1/transfers", src["token"], key=key, json=body)

    send = send or default_send
    attempts, lock, work = {}, threading.Lock(), iter(enumerate(plan))

    def worker():
        while True:
            with lock:
                item = next(work, None)
            if item is None:
                return
            i, (src, dst, amount, key, retry) = item
            for attempt in range(2 if retry else 1):
                resp = send(i, attempt, src, {"to": dst["user"]["username"], "amount": amount}, key)
                body = resp.json()
                code = body.get("error", {}).get("code") if resp.status_code != 201 else None
                tid = body["transfer"]["id"] if resp.status_code == 201 else None
                with lock:
                    attempts.setdefault(i, []).append(
                        (resp.status_code, code, resp.headers.get("Idempotent-Replayed") == "true", tid))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 600
    for t in threads:
        t.join(timeout=max(0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "clients still waiting after 10 minutes"
    return attempts


def check_answers(plan, attempts):
    """Every request 201, replayed 201 or insufficient_funds; a retry repeats the first answer."""
    outcomes = Counter(a[:3] for seen in attempts.values() for a in seen)
    assert set(outcomes) <= ALLOWED, outcomes
    assert sum(outcomes.values()) == len(plan) + sum(1 for p in plan if p[4])
    for seen in attempts.values():
        assert seen[0][2] is False
        if len(seen) == 2:
            assert seen[1] == (*seen[0][:2], True, seen[0][3])
    return outcomes


def check_bank(datastore, users, start_balance, transfers_ok):
    """Balances are the sums of unbroken posting chains, none negative, money neither made nor lost,
    and exactly one transfer per key that was answered 201 (plus one deposit per user)."""
    total = 0
    for u in users:
        uid = u["user"]["id"]
        balance = datastore.doc("accounts", uid).get().to_dict()["balance"]
        postings = [s.to_dict() for s in datastore.collection("postings")
                    .where(filter=FieldFilter("account_id", "==", uid)).stream()]
        assert balance == sum(p["amount"] for p in postings)
        assert sorted(p["seq"] for p in postings) == list(range(1, len(postings) + 1))
        assert balance >= 0
        total += balance
    assert total == len(users) * start_balance
    posted = set()
    for u in users:
        query = datastore.collection("transfers").where(
            filter=FieldFilter("parties", "array_contains", u["user"]["id"]))
        posted |= {s.id for s in query.stream()}
    assert len(posted) == transfers_ok + len(users)


def check_exactly_once(app, users, start_balance, plan, attempts):
    """After a crash and retries: every answer of a key agrees (201, first or replayed, or
    insufficient_funds: which of a retried pair came first depends on what committed before the
    crash), the transfer exists exactly when answered 201, the books balance, the audit verifies."""
    datastore = app.extensions["datastore"]
    for i, (src, _dst, _amount, key, _retry) in enumerate(plan):
        answers = {(s, c) for s, c, _r, _t in attempts[i]}
        assert len(answers) == 1 and answers <= {(201, None), (409, "insufficient_funds")}, answers
        exists = datastore.doc("transfers", idempotency_id(src["user"]["id"], key)).get().exists
        assert exists == (answers == {(201, None)})
    check_bank(datastore, users, start_balance, sum(1 for seen in attempts.values() if seen[0][0] == 201))
    report = app.extensions["audit"].verify()
    assert report["ok"], report

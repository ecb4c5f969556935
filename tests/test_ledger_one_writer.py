"""One ledger writer for the whole deployment (server/ledger/remote.py), with real gunicorn processes,
the session's redis and the Firestore emulator: instances share the writer, two writers at once keep
every invariant, and kill -9 of the writer fails over with every transfer exactly once."""

import os
import signal
import threading
import time
import uuid

import pytest
import redis
import requests
from conftest import make_test_config
from gunicorn_server import wait_for
from multiproc import Client as BaseClient
from multiproc import Servers, _children, bank_plan, bank_workload, check_answers, check_exactly_once
from test_ledger_multiproc import START_BALANCE, writer_summaries

from server import create_app
from server.ledger.channel import Channel
from server.ledger.engine import Outcome
from server.ledger.lease import pid_of


class Client(BaseClient):
    """A new connection per request, so the kernel spreads requests over a server's workers."""

    def call(self, method, path, token=None, server=0, key=None, **kwargs):
        headers = {"Connection": "close"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        with requests.Session() as session:
            session.trust_env = False
            return session.request(method, f"{self.urls[server]}{path}", headers=headers,
                                   timeout=kwargs.pop("timeout", 60), **kwargs)


@pytest.fixture
def project(stack, emulator):
    """A project of its own (so its own lease), its servers and an in-process app to check it with."""
    project_id = f"demo-writer-{uuid.uuid4().hex[:8]}"
    servers = Servers(stack, project_id)
    servers.channel_prefix = f"ledger-writer:{project_id}"  # the project's own channel: lease_holder reads it
    app = create_app(make_test_config(emulator, project_id))
    yield project_id, servers, app
    servers.stop_all()
    app.extensions["shutdown"]()


def lease_holder(stack, project_id):
    value = redis.Redis.from_url(stack.redis_url).get(f"ledger-writer:{project_id}:lease")
    return value.decode() if value else None


def committers(summaries):
    return [s for s in summaries if s.get("commits")]


def run_bank(app, a, b, transfers, seed):
    """The bank workload over servers a and b, each retry (same key) to the other; checks the books."""
    client = Client(a.url, b.url)
    users = [client.signup() for _ in range(6)]
    client.fund(client.admin(app), users, START_BALANCE)
    plan = bank_plan(users, transfers, seed=seed)

    def send(i, attempt, src, body, key):
        return client.call("POST", "/api/v1/transfers", src["token"], server=(i + attempt) % 2, key=key, json=body)

    attempts = bank_workload(client, plan, send=send)
    check_answers(plan, attempts)
    check_exactly_once(app, users, START_BALANCE, plan, attempts)
    a.stop()
    b.stop()


def test_the_writer_takes_the_oldest_first_with_or_without_blmpop(stack, caplog):
    """One take: at most `most` operations, oldest first, a re-sent one (send_first) before new ones;
    the same through BRPOP and RPOP where redis refuses BLMPOP (an ACL here; a redis older than 7
    answers 'unknown command'), and only then: another error propagates and BLMPOP stays."""
    admin = redis.Redis.from_url(stack.redis_url)
    knows_blmpop = int(admin.info("server")["redis_version"].split(".")[0]) >= 7
    user = f"no-blmpop-{uuid.uuid4().hex[:8]}"
    admin.acl_setuser(user, enabled=True, nopass=True, keys=["*"], channels=["*"], categories=["+@all"],
                      commands=["-blmpop"])
    denied = redis.Redis.from_url(stack.redis_url, username=user)
    try:
        for client, refused in ((admin, not knows_blmpop), (denied, True)):
            caplog.clear()
            channel = Channel(client, f"take-{uuid.uuid4().hex}")
            for payload in ("a", "b", "c", "d"):
                channel.send(payload)
            channel.send_first("again")
            assert channel.take(0.5, 3) == [b"again", b"a", b"b"]
            assert channel.take(0.5, 3) == [b"c", b"d"]
            assert channel.take(0.05, 3) == []
            assert ("BLMPOP refused" in caplog.text) is refused
        caplog.clear()  # any other error is the pump's to log and retry: BLMPOP stays
        wrong = Channel(admin, f"take-{uuid.uuid4().hex}")
        admin.set(wrong.ops_key, "not a list")
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            wrong.take(0.05, 3)
        assert ("BLMPOP refused" in caplog.text) is not knows_blmpop
        admin.delete(wrong.ops_key)
    finally:
        denied.close()
        admin.acl_deluser(user)
        admin.close()


def test_a_hand_over_survives_a_dropped_connection_and_an_error_leaves_no_reply_behind(stack):
    """The channel's round trips (LPUSH + BLPOP, the answers) bypass redis-py's pipeline: a pooled
    connection the server dropped is replaced, and a command refused half-way closes the connection,
    so the next operation never reads the reply left unread by the one before."""
    client = redis.Redis.from_url(stack.redis_url)
    channel = Channel(client, f"wire-{uuid.uuid4().hex}")
    try:
        def exchange(payload):
            reply_id = channel.new_reply_id()
            channel.answer([(reply_id, Outcome(201, body={"payload": payload}))])  # answered before asked
            return channel.send(payload, reply_id, 1.0)

        assert exchange("a").body == {"payload": "a"}
        client.client_kill_filter(_id=client.client_id())  # the pool's one connection, dropped by the server
        assert exchange("b").body == {"payload": "b"}
        assert channel.take(0.05, 5) == [b"a", b"b"]

        client.set(channel.ops_key, "not a list")  # LPUSH refused; its BLPOP's reply is never read
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            exchange("c")
        client.delete(channel.ops_key)
        assert exchange("d").body == {"payload": "d"}
        assert channel.take(0.05, 5) == [b"d"]
        assert len(client.connection_pool._available_connections) == 1
    finally:
        client.close()


def test_two_instances_share_one_writer(project):
    """Two gunicorn masters of two workers each on one redis: one process commits for all four."""
    project_id, servers, app = project
    # A long lease: no failover by a stalled renewal on a busy machine; this test is about sharing.
    a, b = servers(workers=2, LEDGER_LEASE_SECONDS=30), servers(workers=2, LEDGER_LEASE_SECONDS=30)
    run_bank(app, a, b, 300, seed=18)
    logs = {"a": writer_summaries(a), "b": writer_summaries(b)}
    writers = committers(logs["a"] + logs["b"])
    assert len(writers) == 1, logs
    assert 0 < writers[0]["takes"] <= writers[0]["served"], writers  # a take brings one operation or more
    other = "b" if writers[0] in logs["a"] else "a"
    # The other instance moved money only through the writer of the first.
    assert sum(s.get("forwarded", 0) for s in logs[other]) > 0 and not committers(logs[other]), logs
    assert sum(s.get("unavailable", 0) + s.get("forward_unavailable", 0) for s in logs["a"] + logs["b"]) == 0


def test_two_writers_at_once_keep_every_invariant(project):
    """Both processes believe they hold the lease (each has a lease of its own, as a stalled writer that
    wakes up after its expiry would): they write the same accounts at once, and only conflict."""
    project_id, servers, app = project
    a = servers(workers=1, LEDGER_CHANNEL_PREFIX=f"split-a-{project_id}")
    b = servers(workers=1, LEDGER_CHANNEL_PREFIX=f"split-b-{project_id}")
    run_bank(app, a, b, 400, seed=81)
    summaries = writer_summaries(a) + writer_summaries(b)
    assert len(committers(summaries)) == 2, summaries  # both wrote
    assert sum(s["unavailable"] for s in summaries) == 0


@pytest.mark.parametrize("workers", [2, 4])
def test_kill_9_of_the_writer_fails_over(project, stack, workers):
    """kill -9 of the writer process mid-load; clients retry a dropped connection with the same key.

    With 4 workers the writer serves no HTTP (LEDGER_WRITER_ALONE_WORKERS): its death drops no client
    connection, only the operations handed to it; with 2 it serves HTTP too, and connections drop.

    Every transfer exactly once, no 5xx answered, the books and the audit trail clean; prints the
    failover time (kill to a new holder of the lease).
    """
    project_id, servers, app = project
    server = servers(workers=workers, LEDGER_LEASE_SECONDS=2)
    client = Client(server.url)
    users = [client.signup() for _ in range(6)]
    client.fund(client.admin(app), users, START_BALANCE)
    plan = bank_plan(users, 240, seed=workers)
    answered, lock, killed = [0], threading.Lock(), {}
    server_errors = []

    def kill_the_writer():
        holder = lease_holder(stack, project_id)
        killed.update(holder=holder, at=time.monotonic())
        os.kill(pid_of(holder), signal.SIGKILL)
        while (now := lease_holder(stack, project_id)) in (None, holder):
            time.sleep(0.02)
        killed.update(failover=time.monotonic() - killed["at"], new=now)

    def send(_i, _attempt, src, body, key):
        for _try in range(20):
            try:
                resp = client.call("POST", "/api/v1/transfers", src["token"], key=key, json=body, timeout=60)
            except requests.ConnectionError:
                time.sleep(0.1)  # the writer died under this request: the same key again
                continue
            if resp.status_code >= 500:
                server_errors.append((resp.status_code, resp.text))
                continue
            with lock:
                answered[0] += 1
                if answered[0] == 80:
                    threading.Thread(target=kill_the_writer).start()
            return resp
        raise AssertionError(f"no answer for key {key}")

    attempts = bank_workload(client, plan, clients=12, send=send)
    assert server_errors == []
    assert "failover" in killed, killed
    print(f"\nfailover with {workers} processes: {killed['failover']:.2f} s "
          f"({killed['holder']} -> {killed['new']})")
    check_exactly_once(app, users, START_BALANCE, plan, attempts)


def listens(pid, port):
    """Whether process `pid` holds the listening socket of `port` (its fds name the socket's inode)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as fh:
            for line in list(fh)[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    inodes.add(f"socket:[{fields[9]}]")
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:  # the process is gone
        return False


def test_the_writer_serves_no_http_among_four_workers(project, stack):
    """With 4 workers in its instance (LEDGER_WRITER_ALONE_WORKERS, default 4), the worker holding the
    writer's lease stops listening and the other three serve every request. When it loses the lease it
    ends, gunicorn starts a fresh worker in its place, and the new writer gives HTTP up in turn."""
    project_id, servers, app = project
    server = servers(workers=4, LEDGER_LEASE_SECONDS=2)
    port = int(server.url.rsplit(":", 1)[1])
    client = Client(server.url)
    users = [client.signup() for _ in range(2)]
    client.fund(client.admin(app), users, START_BALANCE)  # the first ledger operation: a writer
    master = server.managed.process.pid
    writer = pid_of(lease_holder(stack, project_id))
    others = [int(p) for p in _children(master) if int(p) != writer]
    assert wait_for(lambda: not listens(writer, port), timeout=10), "the writer still listens"
    assert len(others) == 3 and all(listens(p, port) for p in others)

    def transfer(amount):
        return client.call("POST", "/api/v1/transfers", users[0]["token"], key=uuid.uuid4().hex,
                           json={"to": users[1]["user"]["username"], "amount": amount})

    assert [transfer(1).status_code for _ in range(20)] == [201] * 20  # new connections, served by the others

    # The lease goes elsewhere (as when the writer stalls past its expiry): a token of no process
    # holds it for a moment, then a worker that serves HTTP takes it.
    redis.Redis.from_url(stack.redis_url).set(f"ledger-writer:{project_id}:lease", "elsewhere:0:x", px=1500)
    assert wait_for(lambda: not os.path.exists(f"/proc/{writer}") or str(writer) not in _children(master),
                    timeout=20), "the old writer did not end"
    assert wait_for(lambda: len(_children(master)) == 4, timeout=60), "no fresh worker in its place"
    assert transfer(2).status_code == 201
    new_writer = pid_of(lease_holder(stack, project_id))
    assert new_writer != writer
    assert wait_for(lambda: not listens(new_writer, port), timeout=10), "the new writer still listens"
    fresh = [int(p) for p in _children(master) if int(p) not in (*others, writer)]
    assert len(fresh) == 1 and wait_for(lambda: listens(fresh[0], port), timeout=10)
    assert [transfer(1).status_code for _ in range(10)] == [201] * 10
    balances = [client.call("GET", "/api/v1/accounts/me", u["token"]).json()["balance"] for u in users]
    assert balances == [START_BALANCE - 32, START_BALANCE + 32]

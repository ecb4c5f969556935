"""Gap-free seq and exactly-once polling with real server processes (gunicorn), not app instances."""

import collections
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import PASSWORD, SECRET, unique_name
from gunicorn_server import stack_env, start_servers

PROCESSES = 4


@pytest.fixture(scope="module")
def servers(stack):
    env = stack_env(stack, SECRET, MESSAGE_RATE_LIMIT="100000/minute", SIGNUP_RATE_LIMIT="1000/minute",
                    RATELIMIT_KEY_PREFIX=f"msgprocs-{uuid.uuid4().hex}")
    started = start_servers(PROCESSES, env)
    yield started
    for server in started:
        server.stop()


def call(server, method, path, token, **kwargs):
    return requests.request(method, f"{server.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"},
                            timeout=120, **kwargs)


def signup(server):
    resp = requests.post(f"{server.url}/api/v1/auth/signup", json={"username": unique_name(), "password": PASSWORD},
                         timeout=60)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_16_senders_through_4_processes_while_a_member_polls(servers):
    alice, bob = signup(servers[0]), signup(servers[1])
    conv = call(servers[0], "POST", "/conversations", alice["token"], json={"with": bob["user"]["username"]})
    conv_id = conv.json()["conversation"]["id"]
    senders, per_sender = [alice, bob] * 8, 25
    total = len(senders) * per_sender
    barrier = threading.Barrier(len(senders))
    seen, done = [], threading.Event()

    def send_all(i):
        server, who = servers[i % PROCESSES], senders[i]
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {who['token']}"
            barrier.wait()
            return [http.post(f"{server.url}/api/v1/conversations/{conv_id}/messages",
                              json={"body": f"{i}-{n}"}, timeout=120) for n in range(per_sender)]

    def poll():
        after, turn = 0, 0
        while True:
            finished = done.is_set()
            turn += 1  # ask a different process each time
            page = call(servers[turn % PROCESSES], "GET", f"/conversations/{conv_id}/messages", bob["token"],
                        params={"after": after, "limit": 50}).json()
            seen.extend(m["seq"] for m in page["items"])
            if page["items"]:
                after = page["items"][-1]["seq"]
            elif finished:
                return

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with ThreadPoolExecutor(len(senders)) as pool:
            responses = [r for rs in pool.map(send_all, range(len(senders))) for r in rs]
    finally:
        done.set()
        poller.join(timeout=120)

    assert collections.Counter(r.status_code for r in responses) == {201: total}, \
        [r.text for r in responses if r.status_code != 201][:3]
    assert sorted(r.json()["message"]["seq"] for r in responses) == list(range(1, total + 1))
    assert seen == list(range(1, total + 1))  # the poller: every message once, in order
    listed = call(servers[2], "GET", "/conversations", alice["token"]).json()["items"]
    assert [c["message_count"] for c in listed if c["id"] == conv_id] == [total]
    # Each sender's own messages keep their order (one sender's sends are sequential).
    by_sender = collections.defaultdict(list)
    for r in responses:
        message = r.json()["message"]
        sender, n = message["body"].split("-")
        by_sender[sender].append((message["seq"], int(n)))
    for pairs in by_sender.values():
        assert [n for _seq, n in sorted(pairs)] == list(range(per_sender))

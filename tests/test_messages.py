"""Messages against the real emulator: conversations, gap-free seq under contention, polling, limits."""

import collections
import contextlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import LiveServer, make_test_config, unique_name
from google.cloud.firestore_v1 import FieldFilter
from werkzeug.serving import make_server

from server import create_app

API = "/api/v1"


def start(live, token, with_username):
    return live.api("POST", f"{API}/conversations", token, json={"with": with_username})


def conversation_of(live, a, b):
    resp = start(live, a["token"], b["user"]["username"])
    assert resp.status_code in (200, 201), resp.text
    return resp.json()["conversation"]


def send(live, token, conv_id, body, **kwargs):
    return live.api("POST", f"{API}/conversations/{conv_id}/messages", token, json={"body": body}, **kwargs)


def messages_after(live, token, conv_id, after=0, limit=100):
    resp = live.api("GET", f"{API}/conversations/{conv_id}/messages", token,
                    params={"after": after, "limit": limit})
    assert resp.status_code == 200, resp.text
    return resp.json()


def all_messages(live, token, conv_id):
    items, after = [], 0
    while True:
        page = messages_after(live, token, conv_id, after)
        items += page["items"]
        if not page["items"]:
            return items
        after = page["items"][-1]["seq"]


def audit_events(app, field, value):
    ref = app.extensions["datastore"].collection("audit")
    return [s.to_dict() for s in ref.where(filter=FieldFilter(field, "==", value)).stream()]


@contextlib.contextmanager
def extra_servers(emulator, project_id, count, **config):
    """`count` more app instances, each with its own funnel and client: separate server processes as
    far as Firestore can tell."""
    apps = [create_app(make_test_config(emulator, project_id, **config)) for _ in range(count)]
    servers = [make_server("127.0.0.1", 0, a, threaded=True) for a in apps]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        yield [LiveServer(a, f"http://127.0.0.1:{s.server_port}") for a, s in zip(apps, servers, strict=True)]
    finally:
        for s, a in zip(servers, apps, strict=True):
            s.shutdown()
            a.extensions["shutdown"]()


@pytest.fixture
def pair(live_server):
    return live_server.signup(unique_name("al")), live_server.signup(unique_name("bo"))


# --- conversations --------------------------------------------------------------------------------


def test_starting_a_conversation_creates_it_once_for_the_pair(live_server, app, pair):
    alice, bob = pair
    first = start(live_server, alice["token"], bob["user"]["username"].upper())
    assert first.status_code == 201, first.text
    conv = first.json()["conversation"]
    ids = sorted([alice["user"]["id"], bob["user"]["id"]])
    assert conv["member_ids"] == ids
    by_id = {alice["user"]["id"]: alice["user"]["username"], bob["user"]["id"]: bob["user"]["username"]}
    assert conv["members"] == [by_id[i] for i in ids]
    assert conv["message_count"] == 0 and conv["last_message_at"] is None
    assert conv["created_at"].endswith("Z")
    again = start(live_server, bob["token"], alice["user"]["username"])
    assert again.status_code == 200
    assert again.json()["conversation"] == conv
    events = audit_events(app, "target", f"conversations/{conv['id']}")
    assert [e["action"] for e in events] == ["conversation.create"]
    assert events[0]["actor_id"] == alice["user"]["id"]


def test_both_users_starting_at_once_get_one_conversation(live_server, app):
    for _ in range(3):
        alice, bob = live_server.signup(), live_server.signup()
        barrier = threading.Barrier(2)

        def go(me, other, barrier=barrier):
            barrier.wait()
            return start(live_server, me["token"], other["user"]["username"])

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(go, (alice, bob), (bob, alice)))
        assert sorted(r.status_code for r in results) == [200, 201], [r.text for r in results]
        ids = {r.json()["conversation"]["id"] for r in results}
        assert len(ids) == 1
        assert len(audit_events(app, "target", f"conversations/{ids.pop()}")) == 1


def test_conversation_with_oneself_unknown_user_or_bad_input(live_server, user):
    me = user["user"]["username"]
    resp = start(live_server, user["token"], me)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "validation_error"
    resp = start(live_server, user["token"], unique_name("nobody"))
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    for body in ({}, {"with": 5}, {"with": None}, {"with": "x"}, {"with": "ok_name", "extra": 1}, ["with"]):
        resp = live_server.api("POST", f"{API}/conversations", user["token"], json=body)
        assert resp.status_code == 422, (body, resp.text)
    assert live_server.api("POST", f"{API}/conversations", json={"with": me}).status_code == 401
    assert live_server.api("GET", f"{API}/conversations").status_code == 401


def test_conversations_listed_by_recent_activity_with_paging(live_server):
    me = live_server.signup()
    others = [live_server.signup() for _ in range(3)]
    convs = [conversation_of(live_server, me, o) for o in others]
    # Activity: the oldest conversation gets the latest message.
    assert send(live_server, others[0]["token"], convs[0]["id"], "newest").status_code == 201
    first = live_server.api("GET", f"{API}/conversations", me["token"], params={"limit": 2}).json()
    assert [c["id"] for c in first["items"]] == [convs[0]["id"], convs[2]["id"]]
    assert first["items"][0]["message_count"] == 1 and first["items"][0]["last_message_at"]
    rest = live_server.api("GET", f"{API}/conversations", me["token"],
                           params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in rest["items"]] == [convs[1]["id"]] and rest["next_cursor"] is None
    theirs = live_server.api("GET", f"{API}/conversations", others[1]["token"]).json()
    assert [c["id"] for c in theirs["items"]] == [convs[1]["id"]]


def test_a_conversation_that_becomes_active_while_paging_moves_no_page(live_server):
    """The cursor is a position: the next page starts where the last one ended, even when
    the conversation it ended with has just become the most recent one."""
    me = live_server.signup()
    others = [live_server.signup() for _ in range(4)]
    convs = [conversation_of(live_server, me, o) for o in others]  # newest last: 3, 2, 1, 0 by activity

    def page(cursor=None):
        resp = live_server.api("GET", f"{API}/conversations", me["token"], params={"limit": 2, "cursor": cursor})
        assert resp.status_code == 200, resp.text
        return resp.json()

    first = page()
    assert [c["id"] for c in first["items"]] == [convs[3]["id"], convs[2]["id"]]
    assert send(live_server, others[2]["token"], convs[2]["id"], "now the most recent").status_code == 201
    rest = page(first["next_cursor"])
    assert [c["id"] for c in rest["items"]] == [convs[1]["id"], convs[0]["id"]]
    assert rest["next_cursor"] is None


# --- sending and reading --------------------------------------------------------------------------


def test_message_fields_and_audit_in_the_same_commit(live_server, app, pair):
    alice, bob = pair
    conv = conversation_of(live_server, alice, bob)
    resp = send(live_server, alice["token"], conv["id"], "hello bob", headers={"X-Request-ID": "req-msg-1"})
    assert resp.status_code == 201, resp.text
    msg = resp.json()["message"]
    assert msg == {"id": "0000000001", "conversation_id": conv["id"], "seq": 1,
                   "author_id": alice["user"]["id"], "author_username": alice["user"]["username"],
                   "body": "hello bob", "created_at": msg["created_at"]}
    seen = messages_after(live_server, bob["token"], conv["id"])
    assert seen == {"items": [msg], "next_cursor": None}
    events = audit_events(app, "target", f"conversations/{conv['id']}/messages/0000000001")
    assert len(events) == 1
    assert events[0]["action"] == "message.create" and events[0]["request_id"] == "req-msg-1"
    assert events[0]["details"] == {"conversation_id": conv["id"], "seq": 1, "body_length": 9}
    listed = live_server.api("GET", f"{API}/conversations", bob["token"]).json()["items"][0]
    assert listed["message_count"] == 1 and listed["last_message_at"] == msg["created_at"]


def test_non_members_get_404_for_reading_and_posting(live_server, pair, user):
    alice, bob = pair
    conv = conversation_of(live_server, alice, bob)
    assert send(live_server, alice["token"], conv["id"], "private").status_code == 201
    for path in (f"{API}/conversations/{conv['id']}/messages", f"{API}/conversations/unknown123/messages"):
        read = live_server.api("GET", path, user["token"])
        post = live_server.api("POST", path, user["token"], json={"body": "let me in"})
        assert (read.status_code, post.status_code) == (404, 404), (read.text, post.text)
        assert post.json()["error"]["code"] == "not_found"
    theirs = live_server.api("GET", f"{API}/conversations", user["token"]).json()
    assert theirs["items"] == []
    assert messages_after(live_server, alice["token"], conv["id"])["items"][0]["body"] == "private"
    assert live_server.api("GET", f"{API}/conversations/{conv['id']}/messages").status_code == 401


@pytest.mark.parametrize("body", [
    {"body": ""}, {"body": "x" * 2001}, {"body": "   "}, {"body": 5}, {"body": None}, {"body": ["hi"]},
    {"body": True}, {}, {"body": "ok", "seq": 7}, {"text": "hi"},
])
def test_invalid_message_bodies_are_422(live_server, pair, body):
    alice, bob = pair
    conv = conversation_of(live_server, alice, bob)
    resp = live_server.api("POST", f"{API}/conversations/{conv['id']}/messages", alice["token"], json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert messages_after(live_server, alice["token"], conv["id"])["items"] == []


def test_bad_queries_are_422(live_server, pair):
    alice, bob = pair
    conv = conversation_of(live_server, alice, bob)
    for params in ({"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 101}, {"cursor": "!!"}):
        resp = live_server.api("GET", f"{API}/conversations/{conv['id']}/messages", alice["token"], params=params)
        assert resp.status_code == 422, (params, resp.text)


SCRIPT_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\"'><svg/onload=alert(1)>",
    "javascript:alert(1)",
    "{{constructor.constructor('alert(1)')()}}",
    "line1\nline2\ttab \u202eRTL\u200b zero-width",
    "emoji 👩‍💻 and ünïcödé, 𝕏",
    "x" * 2000,
]


def test_script_payloads_come_back_byte_for_byte(live_server, pair):
    alice, bob = pair
    conv = conversation_of(live_server, alice, bob)
    for payload in SCRIPT_PAYLOADS:
        resp = send(live_server, alice["token"], conv["id"], payload)
        assert resp.status_code == 201, resp.text
        assert resp.json()["message"]["body"] == payload
    got = [m["body"] for m in all_messages(live_server, bob["token"], conv["id"])]
    assert got == SCRIPT_PAYLOADS


def test_paging_after_seq_with_cursor(live_server, pair):
    alice, bob = pair
    conv = conversation_of(live_server, alice, bob)
    for i in range(5):
        assert send(live_server, alice["token"], conv["id"], f"m{i}").status_code == 201
    first = live_server.api("GET", f"{API}/conversations/{conv['id']}/messages", bob["token"],
                            params={"after": 1, "limit": 2}).json()
    assert [m["seq"] for m in first["items"]] == [2, 3] and first["next_cursor"]
    rest = live_server.api("GET", f"{API}/conversations/{conv['id']}/messages", bob["token"],
                           params={"after": 1, "limit": 2, "cursor": first["next_cursor"]}).json()
    assert [m["seq"] for m in rest["items"]] == [4, 5]
    assert messages_after(live_server, bob["token"], conv["id"], after=5)["items"] == []


def test_sending_is_rate_limited_per_user(emulator, project_id):
    app = create_app(make_test_config(emulator, project_id, MESSAGE_RATE_LIMIT="3/minute"))
    client = app.test_client()
    try:
        tokens = [client.post(f"{API}/auth/signup", json={"username": unique_name(), "password": "pw-12345678"})
                  .json["token"] for _ in range(2)]
        headers = [{"Authorization": f"Bearer {t}"} for t in tokens]
        other = client.get(f"{API}/me", headers=headers[1]).json["user"]["username"]
        conv = client.post(f"{API}/conversations", json={"with": other}, headers=headers[0]).json["conversation"]
        path = f"{API}/conversations/{conv['id']}/messages"
        statuses = [client.post(path, json={"body": "hi"}, headers=headers[0]).status_code for _ in range(5)]
        assert statuses == [201, 201, 201, 429, 429]
        limited = client.post(path, json={"body": "hi"}, headers=headers[0])
        assert limited.json["error"]["code"] == "rate_limited"
        assert client.post(path, json={"body": "mine"}, headers=headers[1]).status_code == 201  # own quota
        assert client.get(path, headers=headers[0]).json["items"][-1]["seq"] == 4
    finally:
        app.extensions["shutdown"]()


# --- concurrency ----------------------------------------------------------------------------------


def hammer(servers, senders, conv_id, per_sender):
    """Every sender sends `per_sender` messages through servers[i % len]; returns the responses."""
    barrier = threading.Barrier(len(senders))

    def run(i):
        live, who = servers[i % len(servers)], senders[i]
        barrier.wait()
        return [send(live, who["token"], conv_id, f"{who['user']['username']} #{n}") for n in range(per_sender)]

    with ThreadPoolExecutor(len(senders)) as pool:
        return [r for rs in pool.map(run, range(len(senders))) for r in rs]


def assert_gap_free(live, app, member, conv_id, total, responses):
    assert collections.Counter(r.status_code for r in responses) == {201: total}, \
        [r.text for r in responses if r.status_code != 201][:3]
    seqs = sorted(r.json()["message"]["seq"] for r in responses)
    assert seqs == list(range(1, total + 1))
    stored = all_messages(live, member["token"], conv_id)
    assert [m["seq"] for m in stored] == list(range(1, total + 1))
    assert sorted(m["body"] for m in stored) == sorted(r.json()["message"]["body"] for r in responses)
    conv = next(c for c in live.api("GET", f"{API}/conversations", member["token"]).json()["items"]
                if c["id"] == conv_id)
    assert conv["message_count"] == total
    events = [e for e in audit_events(app, "action", "message.create")
              if e["details"].get("conversation_id") == conv_id]
    assert sorted(e["details"]["seq"] for e in events) == list(range(1, total + 1))


@pytest.mark.parametrize("processes", [1, 2, 4])
def test_16_concurrent_senders_get_gap_free_seq(live_server, app, emulator, project_id, processes):
    """16 threads x 25 messages into one conversation, through 1, 2 or 4 app instances."""
    alice, bob = live_server.signup(), live_server.signup()
    conv = conversation_of(live_server, alice, bob)
    senders = [alice, bob] * 8
    with extra_servers(emulator, project_id, processes - 1) as extra:
        servers = [live_server, *extra]
        responses = hammer(servers, senders, conv["id"], 25)
        stats = [(s.app.extensions["messages"].funnel.stats, s.app.extensions["messages"].store.stats)
                 for s in servers]
    print(f"\n{processes} process(es): funnel/store stats {stats}")
    assert_gap_free(live_server, app, alice, conv["id"], 400, responses)


def test_a_poller_sees_every_message_exactly_once(live_server, emulator, project_id):
    """While 8 senders write through two app instances, a member polls with after=<last seq seen>."""
    alice, bob = live_server.signup(), live_server.signup()
    conv = conversation_of(live_server, alice, bob)
    total = 8 * 15
    seen, done = [], threading.Event()

    def poll():
        after = 0
        while True:
            finished = done.is_set()  # one more poll after the senders finished
            page = messages_after(live_server, bob["token"], conv["id"], after, limit=7)
            for m in page["items"]:
                seen.append(m["seq"])
            if page["items"]:
                after = page["items"][-1]["seq"]
            elif finished:
                return

    with extra_servers(emulator, project_id, 1) as extra:
        poller = threading.Thread(target=poll)
        poller.start()
        try:
            responses = hammer([live_server, *extra], [alice, bob] * 4, conv["id"], 15)
        finally:
            done.set()
            poller.join(timeout=120)
    assert all(r.status_code == 201 for r in responses)
    assert seen == list(range(1, total + 1))  # every one, once, in order


def test_unique_ids_are_fine_for_many_conversations_at_once(live_server):
    """Different conversations do not wait for each other's lane."""
    users = [live_server.signup() for _ in range(8)]
    convs = [conversation_of(live_server, users[i], users[i + 1]) for i in range(0, 8, 2)]

    def run(i):
        return [send(live_server, users[2 * i]["token"], convs[i]["id"], uuid.uuid4().hex).status_code
                for _ in range(10)]

    with ThreadPoolExecutor(4) as pool:
        assert all(s == 201 for rs in pool.map(run, range(4)) for s in rs)
    for i, conv in enumerate(convs):
        msgs = all_messages(live_server, users[2 * i + 1]["token"], conv["id"])
        assert [m["seq"] for m in msgs] == list(range(1, 11))

"""Posts, comments and moderation per the contract, through HTTP against the real emulator."""

import functools
import json
import threading

import pytest
from conftest import PASSWORD, approve_item, auth, created, make_test_config, moderate_item, unique_name
from google.cloud.firestore_v1 import FieldFilter
from rest import UserRest

from server import create_app
from server.kernel.caller import Caller

XSS_TITLE = "<img src=x onerror=alert(1)>"
XSS_BODY = '<script>alert("x")</script>\n<img src=x onerror=alert(1)> &amp; \'q\' \\ \u2028 😀 \t  '


# --- helpers ------------------------------------------------------------------


def new_post(live, token, title="A title", body="A body"):
    return created(live.api("POST", "/api/v1/posts", token, json={"title": title, "body": body}), "post")


moderate = functools.partial(moderate_item, kind="post")


def approved_post(live, token, **kwargs):
    return approve_item(live, "post", new_post(live, token, **kwargs))


def get_post(live, post_id, token=None):
    return live.api("GET", f"/api/v1/posts/{post_id}", token)


def comment(live, post_id, token, body="Nice"):
    return live.api("POST", f"/api/v1/posts/{post_id}/comments", token, json={"body": body})


def feed_ids(live, path="/api/v1/posts", token=None, limit=100):
    resp = live.api("GET", path, token, params={"limit": limit})
    assert resp.status_code == 200, resp.text
    return [item["id"] for item in resp.json()["items"]]


def all_pages(live, path, token=None, limit=3, **params):
    items, cursor = [], None
    for _ in range(1000):
        resp = live.api("GET", path, token, params={"limit": limit, "cursor": cursor, **params})
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination does not end")


def audit_actions(app, target):
    ref = app.extensions["datastore"].collection("audit")
    return sorted(s.get("action") for s in ref.where(filter=FieldFilter("target", "==", target)).stream())


def stored(app, collection, doc_id):
    snap = app.extensions["datastore"].doc(collection, doc_id).get()
    return snap.to_dict() if snap.exists else None


def stored_comment_ids(app, post_id):
    ref = app.extensions["datastore"].collection("comments")
    return {s.id for s in ref.where(filter=FieldFilter("post_id", "==", post_id)).stream()}


@pytest.fixture
def other(live_server):
    return live_server.signup()


# --- lifecycle and visibility ---------------------------------------------------


def test_full_lifecycle(live_server, user, other, admin):
    token, admin_token = user["token"], admin["token"]
    post = new_post(live_server, token, "Hello", "World")
    assert post["status"] == "pending" and post["comment_count"] == 0 and post["moderation"] is None
    assert post["author_id"] == user["user"]["id"]
    assert post["author_username"] == user["user"]["username"]
    assert post["created_at"].endswith("Z") and post["updated_at"] == post["created_at"]
    pid = post["id"]

    # Pending: invisible to the public and to other users, visible to author and admins.
    assert get_post(live_server, pid).status_code == 404
    assert get_post(live_server, pid, other["token"]).json()["error"]["code"] == "not_found"
    assert get_post(live_server, pid, token).json()["post"] == post
    assert get_post(live_server, pid, admin_token).status_code == 200
    assert pid not in feed_ids(live_server)
    assert pid in feed_ids(live_server, "/api/v1/admin/posts?status=pending", admin_token)

    approved = moderate(live_server, pid, "approve", token=admin_token)
    assert approved.status_code == 200, approved.text
    approved = approved.json()["post"]
    assert approved["status"] == "approved"
    assert approved["moderation"]["by"] == admin["user"]["username"]
    assert approved["moderation"]["by_id"] == admin["user"]["id"]
    assert approved["moderation"]["reason"] is None and approved["moderation"]["at"].endswith("Z")
    assert get_post(live_server, pid).json()["post"] == approved
    assert pid in feed_ids(live_server)
    assert pid not in feed_ids(live_server, "/api/v1/admin/posts?status=pending", admin_token)

    made = comment(live_server, pid, other["token"], "First!")
    assert made.status_code == 201, made.text
    made = made.json()["comment"]
    assert made["post_id"] == pid and made["author_id"] == other["user"]["id"]
    assert made["author_username"] == other["user"]["username"] and made["body"] == "First!"
    assert get_post(live_server, pid).json()["post"]["comment_count"] == 1
    assert live_server.api("GET", f"/api/v1/posts/{pid}/comments").json() == {"items": [made], "next_cursor": None}

    edited = live_server.api("PATCH", f"/api/v1/posts/{pid}", token, json={"title": "Hello again"})
    assert edited.status_code == 200, edited.text
    edited = edited.json()["post"]
    assert edited["status"] == "pending" and edited["moderation"] is None
    assert edited["title"] == "Hello again" and edited["body"] == "World" and edited["comment_count"] == 1
    assert edited["updated_at"] > post["updated_at"]
    assert get_post(live_server, pid).status_code == 404
    assert live_server.api("GET", f"/api/v1/posts/{pid}/comments").status_code == 404
    assert comment(live_server, pid, other["token"]).status_code == 404
    assert pid not in feed_ids(live_server)

    rejected = moderate(live_server, pid, "reject", "off topic", token=admin_token)
    assert rejected.status_code == 200, rejected.text
    rejected = rejected.json()["post"]
    assert rejected["status"] == "rejected"
    assert rejected["moderation"]["reason"] == "off topic"
    assert rejected["moderation"]["by"] == admin["user"]["username"]
    assert get_post(live_server, pid).status_code == 404
    assert get_post(live_server, pid, other["token"]).status_code == 404
    assert get_post(live_server, pid, token).json()["post"] == rejected  # the author sees why
    assert pid not in feed_ids(live_server)
    assert pid in feed_ids(live_server, "/api/v1/posts/mine", token)
    assert pid in feed_ids(live_server, "/api/v1/admin/posts?status=rejected", admin_token)
    # The author still reads the comments of their own hidden post.
    assert live_server.api("GET", f"/api/v1/posts/{pid}/comments", token).json()["items"] == [made]

    # Approved again: the comment and its count are back.
    again = moderate(live_server, pid, "approve", token=admin_token).json()["post"]
    assert again["comment_count"] == 1
    assert live_server.api("GET", f"/api/v1/posts/{pid}/comments").json()["items"] == [made]


def test_non_admin_cannot_moderate(live_server, user, other):
    pid = new_post(live_server, user["token"])["id"]
    for token in (user["token"], other["token"]):
        for verb, reason in (("approve", None), ("reject", "spam")):
            resp = moderate(live_server, pid, verb, reason, token=token)
            assert resp.status_code == 403, resp.text
            assert resp.json()["error"]["code"] == "forbidden"
        assert live_server.api("GET", "/api/v1/admin/posts", token).status_code == 403
    anonymous = live_server.api("POST", f"/api/v1/admin/posts/{pid}/approve")
    assert anonymous.status_code == 401
    assert live_server.api("GET", "/api/v1/admin/posts").status_code == 401
    assert get_post(live_server, pid, user["token"]).json()["post"]["status"] == "pending"


def test_only_author_and_admin_reach_a_hidden_post(live_server, user, other, admin):
    pid = new_post(live_server, user["token"])["id"]
    for token in (None, other["token"]):
        assert get_post(live_server, pid, token).status_code == 404
        assert live_server.api("GET", f"/api/v1/posts/{pid}/comments", token).status_code == 404
    for method, body in (("PATCH", {"title": "mine now"}), ("DELETE", None)):
        resp = live_server.api(method, f"/api/v1/posts/{pid}", other["token"], json=body)
        assert resp.status_code == 404, resp.text
    # Comments only on approved posts: not even the author or an admin may comment on a pending one.
    for token in (other["token"], user["token"], admin["token"]):
        resp = comment(live_server, pid, token)
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "not_found"
    assert get_post(live_server, pid, admin["token"]).json()["post"]["comment_count"] == 0


def test_edit_is_for_the_author_delete_for_author_or_admin(live_server, user, other, admin):
    pid = approved_post(live_server, user["token"])["id"]
    for token in (other["token"], admin["token"]):
        resp = live_server.api("PATCH", f"/api/v1/posts/{pid}", token, json={"body": "taken over"})
        assert resp.status_code == 403, resp.text
    assert live_server.api("DELETE", f"/api/v1/posts/{pid}", other["token"]).status_code == 403
    assert get_post(live_server, pid).json()["post"]["body"] == "A body"
    assert live_server.api("DELETE", f"/api/v1/posts/{pid}", admin["token"]).status_code == 204
    assert get_post(live_server, pid, admin["token"]).status_code == 404
    assert live_server.api("DELETE", f"/api/v1/posts/{pid}", user["token"]).status_code == 404


def test_anonymous_writes_are_401(live_server):
    assert live_server.api("POST", "/api/v1/posts", json={"title": "t", "body": "b"}).status_code == 401
    assert live_server.api("GET", "/api/v1/posts/mine").status_code == 401
    assert live_server.api("POST", "/api/v1/posts/x/comments", json={"body": "b"}).status_code == 401
    for path in ("/api/v1/posts", "/api/v1/posts/x", "/api/v1/posts/x/comments"):
        assert live_server.api("GET", path, "junk").status_code == 401  # public, but a bad token is still 401


def test_moderation_conflicts_and_unknown_posts(live_server, user):
    pid = approved_post(live_server, user["token"])["id"]
    twice = moderate(live_server, pid, "approve")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "conflict"
    assert moderate(live_server, pid, "reject", "no").status_code == 200
    assert moderate(live_server, pid, "reject", "no").status_code == 409
    assert audit_actions(live_server.app, f"posts/{pid}") == ["post.approve", "post.create", "post.reject"]
    for verb, reason in (("approve", None), ("reject", "x")):
        assert moderate(live_server, "nosuchpost", verb, reason).status_code == 404
    assert get_post(live_server, "nosuchpost", live_server.admin_token()).status_code == 404
    assert get_post(live_server, "bad%20id").status_code == 422


# --- the comment counter ----------------------------------------------------------


def test_twenty_concurrent_comments_count_exactly(live_server, user):
    pid = approved_post(live_server, user["token"])["id"]
    commenters = [live_server.signup()["token"] for _ in range(20)]
    barrier = threading.Barrier(len(commenters))
    results = []

    def write(token, n):
        barrier.wait()
        resp = comment(live_server, pid, token, f"comment {n}")
        results.append((resp.status_code, resp.text))

    threads = [threading.Thread(target=write, args=(t, n)) for n, t in enumerate(commenters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [201] * 20, results
    assert get_post(live_server, pid).json()["post"]["comment_count"] == 20
    listed = all_pages(live_server, f"/api/v1/posts/{pid}/comments", limit=7)
    assert sorted(c["body"] for c in listed) == sorted(f"comment {n}" for n in range(20))
    assert [c["created_at"] for c in listed] == sorted(c["created_at"] for c in listed)  # oldest first
    assert len(stored_comment_ids(live_server.app, pid)) == 20
    for c in listed:
        assert audit_actions(live_server.app, f"comments/{c['id']}") == ["comment.create"]


def test_comment_fails_whole_when_post_stops_being_approved(live_server, user, other):
    """The race the gate document closes: the post was approved when read, not when committed."""
    app = live_server.app
    pid = approved_post(live_server, user["token"])["id"]
    assert comment(live_server, pid, other["token"]).status_code == 201
    assert moderate(live_server, pid, "reject", "late").status_code == 200

    from server.moderation.store import Gone

    caller = Caller(other["user"]["id"], other["user"]["username"])
    doc = {"post_id": pid, "author_id": caller.id, "author_username": caller.username,
           "body": "raced", "created_at": stored(app, "posts", pid)["updated_at"]}
    with app.app_context(), pytest.raises(Gone):
        app.extensions["posts"].store.add_comment("racedcomment" + pid[:8], doc, caller)
    assert stored(app, "comments", "racedcomment" + pid[:8]) is None
    assert stored(app, "posts", pid)["comment_count"] == 1
    assert audit_actions(app, f"comments/racedcomment{pid[:8]}") == []


def test_comments_racing_a_rejection_stay_consistent(live_server, user):
    pid = approved_post(live_server, user["token"])["id"]
    commenters = [live_server.signup()["token"] for _ in range(10)]
    barrier = threading.Barrier(len(commenters) + 1)
    statuses = []

    def write(token):
        barrier.wait()
        statuses.append(comment(live_server, pid, token).status_code)

    def reject():
        barrier.wait()
        statuses.append(("reject", moderate(live_server, pid, "reject", "closed").status_code))

    threads = [threading.Thread(target=write, args=(t,)) for t in commenters] + [threading.Thread(target=reject)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ("reject", 200) in statuses
    comment_statuses = [s for s in statuses if not isinstance(s, tuple)]
    assert set(comment_statuses) <= {201, 404}, statuses
    post = get_post(live_server, pid, user["token"]).json()["post"]
    assert post["status"] == "rejected"
    assert post["comment_count"] == comment_statuses.count(201) == len(stored_comment_ids(live_server.app, pid))
    assert stored(live_server.app, "approved_posts", pid) is None


# --- text is data ---------------------------------------------------------------


def test_markup_comes_back_byte_for_byte_as_json_strings(live_server, user, other):
    post = new_post(live_server, user["token"], XSS_TITLE, XSS_BODY)
    assert post["title"] == XSS_TITLE and post["body"] == XSS_BODY
    moderate(live_server, post["id"], "approve")
    resp = get_post(live_server, post["id"])
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    body = json.loads(resp.content.decode("utf-8"))
    assert isinstance(body["post"]["body"], str)
    assert (body["post"]["title"], body["post"]["body"]) == (XSS_TITLE, XSS_BODY)
    feed = live_server.api("GET", "/api/v1/posts").json()["items"]
    assert [(p["title"], p["body"]) for p in feed if p["id"] == post["id"]] == [(XSS_TITLE, XSS_BODY)]
    made = comment(live_server, post["id"], other["token"], "<script>alert(1)</script>").json()["comment"]
    assert made["body"] == "<script>alert(1)</script>"
    listed = live_server.api("GET", f"/api/v1/posts/{post['id']}/comments").json()["items"]
    assert listed[0]["body"] == "<script>alert(1)</script>"
    doc = stored(live_server.app, "posts", post["id"])
    assert (doc["title"], doc["body"]) == (XSS_TITLE, XSS_BODY)  # stored as given, not escaped


def test_text_is_not_stripped_and_lengths_count_characters(live_server, user):
    title, body = "😀" * 200, "  é\n" * 2500  # 200 and 10000 characters, more bytes and UTF-16 units
    post = new_post(live_server, user["token"], title, body)
    assert (post["title"], post["body"]) == (title, body)
    padded = new_post(live_server, user["token"], "  padded  ", " x ")
    assert (padded["title"], padded["body"]) == ("  padded  ", " x ")
    pid = approved_post(live_server, user["token"])["id"]
    assert comment(live_server, pid, user["token"], "ü" * 2000).status_code == 201


# --- validation -------------------------------------------------------------------

BAD_POSTS = [
    {"title": "", "body": "b"},
    {"title": "t", "body": ""},
    {"title": "x" * 201, "body": "b"},
    {"title": "t", "body": "x" * 10001},
    {"title": "   ", "body": "b"},
    {"title": "t", "body": " \n\t\u3000"},
    {"title": "\u200b", "body": "b"},
    {"title": "line\nbreak", "body": "b"},
    {"title": "nul\x00", "body": "b"},
    {"title": "bell\x07", "body": "b"},
    {"title": "\ud800", "body": "b"},
    {"title": 123, "body": "b"},
    {"title": "t", "body": ["b"]},
    {"title": "t", "body": None},
    {"title": "t"},
    {"body": "b"},
    {"title": "t", "body": "b", "status": "approved"},
    {"title": "t", "body": "b", "comment_count": 5},
    {},
]


@pytest.mark.parametrize("body", BAD_POSTS)
def test_bad_post_bodies_are_422(live_server, user, body):
    resp = live_server.api("POST", "/api/v1/posts", user["token"], json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "validation_error"
    assert resp.json()["error"]["details"]


@pytest.mark.parametrize("body", [
    {}, {"title": None}, {"body": None}, {"title": ""}, {"body": " "}, {"title": "t\r"},
    {"status": "approved"}, {"title": "t", "author_id": "x"}, {"body": 5},
])
def test_bad_edits_are_422(live_server, user, body):
    pid = new_post(live_server, user["token"])["id"]
    resp = live_server.api("PATCH", f"/api/v1/posts/{pid}", user["token"], json=body)
    assert resp.status_code == 422, resp.text
    assert get_post(live_server, pid, user["token"]).json()["post"]["title"] == "A title"


@pytest.mark.parametrize("body", [
    {"body": ""}, {"body": "x" * 2001}, {"body": " \n "}, {"body": 1}, {"body": "ok", "post_id": "x"},
    {"body": "ok", "author_id": "x"}, {},
])
def test_bad_comments_are_422(live_server, user, body):
    pid = approved_post(live_server, user["token"])["id"]
    resp = live_server.api("POST", f"/api/v1/posts/{pid}/comments", user["token"], json=body)
    assert resp.status_code == 422, resp.text
    assert get_post(live_server, pid).json()["post"]["comment_count"] == 0


@pytest.mark.parametrize("body", [None, {}, {"reason": ""}, {"reason": "  "}, {"reason": "x" * 501},
                                  {"reason": 7}, {"reason": "ok", "by": "someone"}])
def test_bad_rejections_are_422(live_server, user, body):
    pid = new_post(live_server, user["token"])["id"]
    resp = live_server.api("POST", f"/api/v1/admin/posts/{pid}/reject", live_server.admin_token(), json=body)
    assert resp.status_code == 422, resp.text
    assert get_post(live_server, pid, user["token"]).json()["post"]["status"] == "pending"


def test_bad_list_queries_are_422(live_server):
    token = live_server.admin_token()
    for path in ("/api/v1/posts?limit=0", "/api/v1/posts?limit=101", "/api/v1/posts?cursor=%25%25",
                 "/api/v1/admin/posts?status=deleted"):
        assert live_server.api("GET", path, token).status_code == 422, path


# --- audit ------------------------------------------------------------------------


def test_every_change_has_exactly_one_audit_event(live_server, user, other, admin):
    app = live_server.app
    pid = new_post(live_server, user["token"])["id"]
    moderate(live_server, pid, "approve", token=admin["token"])
    cid = comment(live_server, pid, other["token"]).json()["comment"]["id"]
    live_server.api("PATCH", f"/api/v1/posts/{pid}", user["token"], json={"body": "changed"})
    moderate(live_server, pid, "reject", "because", token=admin["token"])
    # Refused requests change nothing and record nothing.
    moderate(live_server, pid, "reject", "again", token=admin["token"])
    live_server.api("PATCH", f"/api/v1/posts/{pid}", other["token"], json={"body": "x"})
    comment(live_server, pid, other["token"])
    assert live_server.api("DELETE", f"/api/v1/posts/{pid}", user["token"]).status_code == 204

    assert audit_actions(app, f"posts/{pid}") == sorted(
        ["post.create", "post.approve", "post.update", "post.reject", "post.delete"])
    assert audit_actions(app, f"comments/{cid}") == ["comment.create"]
    ref = app.extensions["datastore"].collection("audit")
    events = {s.get("action"): s.to_dict() for s in ref.where(filter=FieldFilter("target", "==", f"posts/{pid}"))
              .stream()}
    assert events["post.create"]["actor_id"] == user["user"]["id"]
    assert events["post.approve"]["actor_id"] == admin["user"]["id"]
    assert events["post.reject"]["details"]["reason"] == "because"
    assert events["post.update"]["details"] == {"fields": ["body"], "from_status": "approved"}
    assert events["post.delete"]["details"]["comment_count"] == 1
    assert all(e["request_id"] for e in events.values())


# --- delete -----------------------------------------------------------------------


def test_delete_takes_the_comments_with_it(live_server, user, other, monkeypatch):
    from server.posts import store

    monkeypatch.setattr(store.PostStore, "delete_chunk", 2)  # so the first commit cannot hold them all
    app = live_server.app
    pid = approved_post(live_server, user["token"])["id"]
    ids = [comment(live_server, pid, other["token"], f"c{n}").json()["comment"]["id"] for n in range(5)]
    assert stored_comment_ids(app, pid) == set(ids)
    assert live_server.api("DELETE", f"/api/v1/posts/{pid}", user["token"]).status_code == 204
    assert stored(app, "posts", pid) is None and stored(app, "approved_posts", pid) is None
    assert stored_comment_ids(app, pid) == set()
    for token in (None, user["token"], live_server.admin_token()):
        assert get_post(live_server, pid, token).status_code == 404
        assert live_server.api("GET", f"/api/v1/posts/{pid}/comments", token).status_code == 404
    assert comment(live_server, pid, other["token"]).status_code == 404
    assert pid not in feed_ids(live_server)
    assert audit_actions(app, f"posts/{pid}").count("post.delete") == 1


# --- lists --------------------------------------------------------------------------


def test_lists_page_and_never_leak_hidden_posts(live_server, admin):
    author = live_server.signup()
    token = author["token"]
    pending = new_post(live_server, token, "pending one")["id"]
    shown = [approved_post(live_server, token, title=f"shown {n}")["id"] for n in range(3)]
    rejected = new_post(live_server, token, "rejected one")["id"]
    moderate(live_server, rejected, "reject", "no")

    mine = all_pages(live_server, "/api/v1/posts/mine", token, limit=2)
    assert [p["id"] for p in mine] == [rejected, *reversed(shown), pending]  # newest first, any status
    feed = all_pages(live_server, "/api/v1/posts", limit=50)
    assert {p["status"] for p in feed} == {"approved"}
    feed_ids_ = [p["id"] for p in feed]
    assert pending not in feed_ids_ and rejected not in feed_ids_
    assert [i for i in feed_ids_ if i in shown] == list(reversed(shown))
    assert len(feed_ids_) == len(set(feed_ids_))
    for status in ("pending", "rejected"):
        queue = all_pages(live_server, "/api/v1/admin/posts", admin["token"], limit=50, status=status)
        assert {p["status"] for p in queue} == {status}
    other_mine = feed_ids(live_server, "/api/v1/posts/mine", live_server.signup()["token"])
    assert other_mine == []


def test_openapi_document_describes_posts(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/posts", "/api/v1/posts/mine", "/api/v1/posts/{post_id}",
                 "/api/v1/posts/{post_id}/comments", "/api/v1/admin/posts",
                 "/api/v1/admin/posts/{post_id}/approve", "/api/v1/admin/posts/{post_id}/reject"):
        assert path in spec["paths"], path
    schema = spec["components"]["schemas"]["PostCreate"]
    assert schema["properties"]["title"]["maxLength"] == 200
    assert schema["additionalProperties"] is False


# --- rules and rate limits -------------------------------------------------------------


def test_rules_refuse_direct_client_writes(emulator, project_id, live_server, user):
    app = live_server.app
    pid = new_post(live_server, user["token"])["id"]
    rest = UserRest(emulator.url, project_id, user["user"]["id"])
    approved = {"status": {"stringValue": "approved"}, "comment_count": {"integerValue": "999"}}
    assert rest.patch(f"posts/{pid}", approved).status_code == 403
    assert rest.create("posts", approved, doc_id=unique_name("p")).status_code == 403
    assert rest.create("comments", {"post_id": {"stringValue": pid}}).status_code == 403
    assert rest.create("approved_posts", {}, doc_id=pid).status_code == 403
    assert rest.delete(f"posts/{pid}").status_code == 403
    assert rest.get(f"posts/{pid}").status_code == 403  # reads go through the API
    doc = stored(app, "posts", pid)
    assert doc["status"] == "pending" and doc["comment_count"] == 0
    assert stored(app, "approved_posts", pid) is None


def test_post_and_comment_creation_is_rate_limited_per_user(emulator, project_id):
    app = create_app(make_test_config(emulator, project_id, CONTENT_RATE_LIMIT="3/minute"))
    client = app.test_client()

    def signup():
        resp = client.post("/api/v1/auth/signup", json={"username": unique_name(), "password": PASSWORD})
        return auth(resp.json["token"])

    first, second = signup(), signup()
    statuses = [client.post("/api/v1/posts", json={"title": "t", "body": "b"}, headers=first).status_code
                for _ in range(5)]
    assert statuses == [201, 201, 201, 429, 429]
    limited = client.post("/api/v1/posts", json={"title": "t", "body": "b"}, headers=first)
    assert limited.json["error"]["code"] == "rate_limited"
    created = client.post("/api/v1/posts", json={"title": "t", "body": "b"}, headers=second)
    assert created.status_code == 201  # another user's quota
    pid = created.json["post"]["id"]
    with app.app_context():
        admin = Caller("admin-test", "admin-test", role="admin")
        app.extensions["posts"].approve(admin, pid)
    statuses = [client.post(f"/api/v1/posts/{pid}/comments", json={"body": "c"}, headers=first).status_code
                for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    app.extensions["shutdown"]()


def test_a_list_pages_on_when_the_last_item_seen_is_gone(live_server, user):
    """The cursor is a position, not a document: deleting the item a page ended with
    neither breaks (it used to be a 422) nor shifts the next page."""
    mine = [new_post(live_server, user["token"], title=f"queued {i}") for i in range(4)]  # newest last

    def page(status, cursor=None):
        resp = live_server.api("GET", "/api/v1/posts/mine", user["token"], params={"limit": 2, "cursor": cursor})
        assert resp.status_code == status, resp.text
        return resp.json()

    first = page(200)
    assert [p["id"] for p in first["items"]] == [mine[3]["id"], mine[2]["id"]]
    assert live_server.api("DELETE", f"/api/v1/posts/{mine[2]['id']}", user["token"]).status_code == 204
    rest = page(200, first["next_cursor"])
    assert [p["id"] for p in rest["items"]] == [mine[1]["id"], mine[0]["id"]]
    assert rest["next_cursor"] is None


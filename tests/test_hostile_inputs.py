"""Inputs chosen to break things: every one must get a 4xx in the contract's shape, never a 500."""

import base64
import time

import jwt
import pytest
from conftest import PASSWORD, SECRET

RESERVED_IDS = ["__x__", "__name__", ".", "..", "a/b", "x" * 1500, "%2F", "é"]


def b64(text):
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def assert_client_error(resp):
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    error = resp.json()["error"]
    assert error["code"] and error["message"]


@pytest.mark.parametrize("to", ["a/b", ".", "..", "__x__", "x" * 1000, "ünï", "a b", ""])
@pytest.mark.parametrize("path", ["/api/v1/transfers", "/api/v1/admin/deposits"])
def test_odd_recipients(live_server, admin, path, to):
    resp = live_server.api("POST", path, admin["token"], json={"to": to, "amount": 1},
                           headers={"Idempotency-Key": f"k-{time.time_ns()}"})
    assert_client_error(resp)


@pytest.mark.parametrize("doc_id", RESERVED_IDS)
def test_odd_ids_in_paths(live_server, admin, doc_id):
    token = admin["token"]
    calls = [
        ("GET", f"/api/v1/transfers/{doc_id}", None),
        ("POST", f"/api/v1/admin/transfers/{doc_id}/reverse", {"reason": "x"}),
        ("GET", f"/api/v1/posts/{doc_id}", None),
        ("PATCH", f"/api/v1/posts/{doc_id}", {"title": "t"}),
        ("DELETE", f"/api/v1/posts/{doc_id}", None),
        ("GET", f"/api/v1/posts/{doc_id}/comments", None),
        ("POST", f"/api/v1/posts/{doc_id}/comments", {"body": "hi"}),
        ("POST", f"/api/v1/admin/posts/{doc_id}/approve", None),
        ("POST", f"/api/v1/admin/posts/{doc_id}/reject", {"reason": "no"}),
    ]
    for method, path, body in calls:
        resp = live_server.api(method, path, token, json=body, headers={"Idempotency-Key": "odd-id"})
        assert_client_error(resp)


# Positions the server never made: a sort value of another type than the field's, or out of range.
FORGED_POSITIONS = [b64(x) for x in ('["zzz","' + "a" * 32 + '"]', '[-99999999999999999999,"x"]',
                                     '[{"t":"0001-01-01T00:00:00+00:00"},"x"]', '[null,"x"]', '[1e308,"x"]',
                                     '[{"t":"9999-12-31T23:59:59-01:00"},"x"]',
                                     '[{"t":"0001-01-01T00:00:00+01:00"},"x"]')]
# Strings of the documented pattern: every one is a position, of either kind on any list (200).
PATTERN_POSITIONS = ["n-999999999999999999.x", "n999999999999999999." + "z" * 128, "t99999999999999999.x",
                     "t0.abc", "n0.__x", "t1764800000000000." + "a" * 32]


@pytest.mark.parametrize("cursor", [b64(x) for x in RESERVED_IDS] + ["", "====", "not base64!", "A" * 400]
                         + FORGED_POSITIONS + PATTERN_POSITIONS)
def test_odd_cursors(live_server, admin, cursor):
    for path in ("/api/v1/posts", "/api/v1/transfers", "/api/v1/accounts/me/postings",
                 "/api/v1/admin/accounts", "/api/v1/admin/audit", "/api/v1/admin/posts",
                 "/api/v1/conversations", "/api/v1/photos"):
        resp = live_server.api("GET", path, admin["token"], params={"cursor": cursor})
        assert resp.status_code in ((200,) if cursor in PATTERN_POSITIONS else (200, 422)), (path, resp.text)
        if resp.status_code == 422:
            assert_client_error(resp)


@pytest.mark.parametrize("cursor", FORGED_POSITIONS + PATTERN_POSITIONS)
def test_forged_positions_on_queries_with_a_range_on_the_sort_field(live_server, admin, cursor):
    """The cursor's value meets a range filter on the same field (audit `since`, messages `after`)."""
    other = live_server.signup()
    conv = live_server.api("POST", "/api/v1/conversations", admin["token"],
                           json={"with": other["user"]["username"]}).json()["conversation"]
    live_server.api("POST", f"/api/v1/conversations/{conv['id']}/messages", admin["token"], json={"body": "hi"})
    for path, params in (("/api/v1/admin/audit", {"since": "2020-01-01T00:00:00Z", "until": "2099-01-01T00:00:00Z"}),
                         (f"/api/v1/conversations/{conv['id']}/messages", {"after": 0})):
        resp = live_server.api("GET", path, admin["token"], params={**params, "cursor": cursor})
        assert resp.status_code in ((200,) if cursor in PATTERN_POSITIONS else (200, 422)), (path, resp.text)


@pytest.mark.parametrize("params", [
    {"since": "0001-01-01T00:00:00+01:00"}, {"until": "9999-12-31T23:59:59-01:00"},
    {"since": "2026-13-45T00:00:00Z"}, {"since": "yesterday"}, {"limit": "1e9"}, {"limit": "-1"},
    {"action": "x" * 500}, {"actor": "a/b"}, {"target": "__x__"},
])
def test_odd_audit_filters(live_server, admin, params):
    resp = live_server.api("GET", "/api/v1/admin/audit", admin["token"], params=params)
    assert resp.status_code in (200, 422), resp.text


@pytest.mark.parametrize("claims", [
    {"sid": "a/b", "sub": "x"}, {"sid": "__x__", "sub": "__y__"}, {"sid": 5, "sub": ["x"]},
    {"sid": "ok", "sub": "ok", "exp": "tomorrow"},
])
def test_tokens_with_odd_claims_are_401(live_server, claims):
    token = jwt.encode({"exp": int(time.time()) + 60, **claims}, SECRET, algorithm="HS256")
    resp = live_server.api("GET", "/api/v1/me", token)
    assert resp.status_code == 401, resp.text


@pytest.mark.parametrize("value", ["é".encode("latin-1"), b"\x00", b"a" * 300, b"\x7f"])
def test_odd_idempotency_keys_are_422(live_server, user, value):
    resp = live_server.api("POST", "/api/v1/transfers", user["token"], json={"to": "nobody_x", "amount": 1},
                           headers={"Idempotency-Key": value})
    assert resp.status_code == 422, resp.text


def test_usernames_that_look_like_reserved_firestore_ids_work(live_server):
    signed = live_server.signup("__x__")
    assert signed["user"]["username"] == "__x__"
    login = live_server.api("POST", "/api/v1/auth/login", json={"username": "__X__", "password": PASSWORD})
    assert login.status_code == 200

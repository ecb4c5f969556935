"""Issue 21.5: a server with only Firestore configured (no Auth emulator or credentials to
sign custom tokens, no Storage) does not offer the operations that need the missing part
(404, or 405 where the path has other methods, saying why; never 500 and never a 503 that
invites retries for ever), leaves them out of its OpenAPI document, works everywhere else,
and /readyz names what is missing."""

from conftest import PASSWORD, unique_name
from photo_samples import encode, marked

PNG_1X1 = encode(marked((1, 1)), "PNG")


def assert_not_offered(resp, status, part):
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == ("not_found" if status == 404 else "method_not_allowed")
    assert f"This deployment has no {part}" in error["message"]


def test_firebase_routes_are_not_offered_without_firebase_auth(firestore_only):
    token = firestore_only.signup()["token"]
    assert_not_offered(firestore_only.api("POST", "/api/v1/auth/firebase-token", token), 404, "Firebase Auth")
    assert_not_offered(firestore_only.api("POST", "/api/v1/auth/firebase", json={"id_token": "x.y.z"}), 404,
                       "Firebase Auth")


def test_photo_uploads_and_images_are_not_offered_without_storage(firestore_only):
    token = firestore_only.signup()["token"]
    for headers in ({}, {"Authorization": f"Bearer {token}"}):  # the same answer signed in or not
        resp = firestore_only.api("POST", "/api/v1/photos", files={"image": ("a.png", PNG_1X1, "image/png")},
                                  headers=headers)
        assert_not_offered(resp, 405, "Cloud Storage")
        assert resp.headers["Allow"] == "GET, HEAD"
    # Nothing half-made: the caller has no photo.
    assert firestore_only.api("GET", "/api/v1/photos/mine", token).json()["items"] == []
    for kind in ("image", "thumbnail"):
        assert_not_offered(firestore_only.api("GET", f"/api/v1/photos/abc/{kind}", token), 404, "Cloud Storage")
    allowed = firestore_only.api("OPTIONS", "/api/v1/photos", token).headers["Allow"]
    assert "POST" not in allowed and "GET" in allowed


def test_the_rest_works_and_readyz_names_the_missing_parts(firestore_only):
    name = unique_name()
    assert firestore_only.api("POST", "/api/v1/auth/signup", json={"username": name, "password": PASSWORD}).ok
    assert firestore_only.api("GET", "/api/v1/photos").status_code == 200
    ready = firestore_only.api("GET", "/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "parts": {"firestore": "ok", "firebase_auth": "missing",
                                                      "storage": "missing"}}


def test_readyz_of_the_whole_stack(client):
    assert client.get("/readyz").json == {"status": "ok", "parts": {
        "firestore": "ok", "firebase_auth": "configured", "storage": "configured"}}


NEEDS_A_PART = {("/api/v1/auth/firebase", "post"), ("/api/v1/auth/firebase-token", "post"),
                ("/api/v1/photos", "post"), ("/api/v1/photos/{photo_id}/image", "get"),
                ("/api/v1/photos/{photo_id}/thumbnail", "get")}


def _operations(document):
    return {(path, method) for path, item in document["paths"].items() for method in item}


def test_the_document_offers_only_what_the_deployment_can_do(firestore_only, live_server):
    """Operations that could only answer 503 here are left out of this server's document (and
    so out of a fuzzer's reach), and the description says why; the whole stack lists them all."""
    partial = firestore_only.api("GET", "/api/v1/openapi.json").json()
    whole = live_server.api("GET", "/api/v1/openapi.json").json()
    assert NEEDS_A_PART <= _operations(whole)
    assert _operations(partial) == _operations(whole) - NEEDS_A_PART
    assert ("/api/v1/photos", "get") in _operations(partial)
    assert "no firebase_auth or storage" in partial["info"]["description"]
    assert "left out" not in whole["info"]["description"]
    again = firestore_only.api("GET", "/api/v1/openapi.json").json()  # built once, not appended to each time
    assert again["info"]["description"] == partial["info"]["description"]

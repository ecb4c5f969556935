"""Issue 21.5: a server with only Firestore configured (no Auth emulator or credentials to
sign custom tokens, no Storage) answers 503 `unavailable` on the routes that need the
missing part, works everywhere else, and /readyz names what is missing."""

import threading

import pytest
from conftest import PASSWORD, LiveServer, make_test_config, unique_name
from photo_samples import encode, marked
from werkzeug.serving import make_server

from server import create_app

PNG_1X1 = encode(marked((1, 1)), "PNG")


@pytest.fixture(scope="module")
def firestore_only(emulator, project_id):
    app = create_app(make_test_config(emulator, project_id, FIREBASE_AUTH_EMULATOR_HOST=None,
                                      STORAGE_EMULATOR_HOST=None))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    app.extensions["shutdown"]()


def assert_unavailable(resp):
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "unavailable"
    assert resp.headers["Retry-After"]


def test_custom_token_is_503_without_firebase_auth(firestore_only):
    token = firestore_only.signup()["token"]
    assert_unavailable(firestore_only.api("POST", "/api/v1/auth/firebase-token", token))


def test_photo_upload_is_503_without_storage(firestore_only):
    token = firestore_only.signup()["token"]
    resp = firestore_only.api("POST", "/api/v1/photos", token, files={"image": ("a.png", PNG_1X1, "image/png")})
    assert_unavailable(resp)
    # Nothing half-made: the caller has no photo.
    assert firestore_only.api("GET", "/api/v1/photos/mine", token).json()["items"] == []


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

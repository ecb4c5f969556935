"""Fixtures shared by every test: the real emulators, the app, a live server.

One local stack serves the whole session (devstack/stack.py: the Firestore
emulator, the Firebase Auth emulator, the Cloud Storage emulator and
redis-server for rate limits, each on a free port, or the one its environment
variable names). Each session uses its own project id, so runs never see each
other's data.
"""

import os
import threading
import uuid

import pytest
import requests
from werkzeug.serving import make_server

from devstack import emulator as harness
from devstack import stack as local_stack
from server import create_app

PASSWORD = "correct-horse-battery"
SECRET = "test-secret-key-with-at-least-32-bytes"


def unique_name(prefix="u"):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


_STACK = []  # the session's local stack, for make_test_config


@pytest.fixture(scope="session")
def stack():
    pid = f"demo-test-{uuid.uuid4().hex[:8]}"
    started = local_stack.start(pid, ports=dict.fromkeys(local_stack.COMPONENTS, 0))
    _port, rules = harness.firebase_settings()
    harness.load_rules(started.firestore.host, pid, rules)
    _STACK.append(started)
    yield started
    _STACK.remove(started)
    started.stop()


@pytest.fixture(scope="session")
def emulator(stack):
    return stack.firestore


@pytest.fixture(scope="session")
def project_id(stack):
    return stack.project_id


def make_test_config(emulator, project_id, **overrides):
    config = _STACK[-1].app_config() if _STACK else {}
    config.update({
        "TESTING": True,
        "PROJECT_ID": project_id,
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "FIRESTORE_EMULATOR_PUBLIC_URL": emulator.url,
        # Each app counts its own limits unless a test shares a prefix on purpose.
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "SECRET_KEY": SECRET,
        "BCRYPT_ROUNDS": 4,
        # Tests sign in far more often than people; the rate-limit tests set their own.
        "LOGIN_RATE_LIMIT": "100000/minute",
        "LOGIN_IP_RATE_LIMIT": "100000/minute",
        "SIGNUP_RATE_LIMIT": "100000/minute",
        "CONTENT_RATE_LIMIT": "100000/minute",
        "MESSAGE_RATE_LIMIT": "100000/minute",
    })
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def app(emulator, project_id):
    app = create_app(make_test_config(emulator, project_id))
    yield app
    shutdown = app.extensions.get("shutdown")
    if shutdown:
        shutdown()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class LiveServer:
    """The app served over real HTTP on a free port, with helpers to make users."""

    def __init__(self, app, url, stop=None):
        self.app = app
        self.url = url
        self.stop = stop  # shuts the HTTP server down
        self._local = threading.local()
        self._admin = None

    def api(self, method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {}) or {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http().request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def http(self):
        """One keep-alive session per thread (requests.Session is not thread-safe)."""
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def signup(self, username=None, password=PASSWORD):
        username = username or unique_name()
        resp = self.api("POST", "/api/v1/auth/signup", json={"username": username, "password": password})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def make_admin(self, username=None):
        username = username or unique_name("admin")
        self.app.extensions["auth"].create_admin(username, PASSWORD)
        resp = self.api("POST", "/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def admin_token(self):
        if self._admin is None:
            self._admin = self.make_admin()
        return self._admin["token"]


@pytest.fixture(scope="session")
def live_server(app):
    live = serve(app)
    yield live
    live.stop()


def serve(app):
    """A LiveServer of `app` on a free port, in a thread; stop() it when done."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return LiveServer(app, f"http://127.0.0.1:{server.server_port}", stop=server.shutdown)


@pytest.fixture(scope="module")
def firestore_only(emulator):
    """A server with only Firestore configured: no Auth emulator to sign custom tokens, no Storage.
    Its own project: what it lists (and a fuzzer walks) is its own data, not the whole suite's."""
    app = create_app(make_test_config(emulator, f"demo-partial-{uuid.uuid4().hex[:8]}",
                                      FIREBASE_AUTH_EMULATOR_HOST=None, STORAGE_EMULATOR_HOST=None))
    live = serve(app)
    yield live
    live.stop()
    app.extensions["shutdown"]()


@pytest.fixture
def user(live_server):
    """A fresh signed-up user: the signup response (user, token, expires_at)."""
    return live_server.signup()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def created(resp, key):
    """The `key` part of a 201 answer."""
    assert resp.status_code == 201, resp.text
    return resp.json()[key]


def moderate_item(live, item_id, verb, reason=None, token=None, *, kind):
    """An admin's approve or reject of a post or a photo (`kind`), as the API answers it."""
    body = {"reason": reason} if reason is not None else None
    return live.api("POST", f"/api/v1/admin/{kind}s/{item_id}/{verb}", token or live.admin_token(), json=body)


def approve_item(live, kind, item):
    """Approves a post or photo just created; its body afterwards."""
    resp = moderate_item(live, item["id"], "approve", kind=kind)
    assert resp.status_code == 200, resp.text
    return resp.json()[kind]


@pytest.fixture(scope="module")
def demo_server(emulator):
    """The app of a fresh project with the run command's demo data (alice, bob, carol, admin with
    the demo password), over real HTTP on a free port: what the READMEs' snippets expect."""
    from devstack import demo_data

    app = create_app(make_test_config(emulator, f"demo-readme-{uuid.uuid4().hex[:8]}"))
    demo_data.seed(app, lambda *_: None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["shutdown"]()


@pytest.fixture(scope="session")
def admin(live_server):
    return live_server.make_admin()


os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

"""Fixtures shared by every test: the real Firestore emulator, the app, a live server.

One emulator serves the whole session (the one in FIRESTORE_EMULATOR_HOST
if set, else one started by the project's harness on a free port). Each
session uses its own project id, so runs never see each other's data.
"""

import os
import threading
import uuid

import pytest
import requests
from werkzeug.serving import make_server

from server import create_app
from server import emulator as harness

PASSWORD = "correct-horse-battery"
SECRET = "test-secret-key-with-at-least-32-bytes"


def unique_name(prefix="u"):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def emulator():
    emu = harness.start(port=0)
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def project_id(emulator):
    pid = f"demo-test-{uuid.uuid4().hex[:8]}"
    _port, rules = harness.firebase_settings()
    harness.load_rules(emulator.host, pid, rules)
    return pid


def make_test_config(emulator, project_id, **overrides):
    config = {
        "TESTING": True,
        "PROJECT_ID": project_id,
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "FIRESTORE_EMULATOR_PUBLIC_URL": emulator.url,
        "SECRET_KEY": SECRET,
        "BCRYPT_ROUNDS": 4,
        # Tests sign in far more often than people; the rate-limit tests set their own.
        "LOGIN_RATE_LIMIT": "100000/minute",
        "LOGIN_IP_RATE_LIMIT": "100000/minute",
        "SIGNUP_RATE_LIMIT": "100000/minute",
        "CONTENT_RATE_LIMIT": "100000/minute",
        "MESSAGE_RATE_LIMIT": "100000/minute",
    }
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

    def __init__(self, app, url):
        self.app = app
        self.url = url
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
        from server.auth import service

        username = username or unique_name("admin")
        with self.app.app_context():
            service.create_admin(username, PASSWORD)
        resp = self.api("POST", "/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def admin_token(self):
        if self._admin is None:
            self._admin = self.make_admin()
        return self._admin["token"]


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()


@pytest.fixture
def user(live_server):
    """A fresh signed-up user: the signup response (user, token, expires_at)."""
    return live_server.signup()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def admin(live_server):
    return live_server.make_admin()


os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

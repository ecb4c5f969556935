"""Browser fixtures for the end-to-end tests: Debian's Chromium driven by Playwright.

The server, the emulator and user helpers come from tests/conftest.py (live_server).
"""

import os
import shutil

import pytest
from conftest import PASSWORD, unique_name

if os.environ.get("CI"):
    from playwright import sync_api  # in CI a missing install must fail, not skip
else:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-test.txt")
expect = sync_api.expect

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# The emulator is slow under contention; UI waits must outlast it.
TIMEOUT_MS = 20_000
expect.set_options(timeout=TIMEOUT_MS)


def _chromium_path():
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.path.exists(path) else None


@pytest.fixture(scope="session")
def browser():
    path = _chromium_path()
    if not path:
        message = "Chromium not found: apt-get install -y chromium (or set CHROMIUM_PATH)"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a skip would hide a missing install step
        pytest.skip(message)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class BrowserProblems:
    """Uncaught page errors and CSP violations: either one fails the test."""

    def __init__(self):
        self.items = []

    def console(self, msg):
        if msg.type == "error" and "Content Security Policy" in msg.text:
            self.items.append(f"CSP: {msg.text}")

    def pageerror(self, exc):
        self.items.append(f"page error: {exc}")


@pytest.fixture
def new_page(browser, live_server):
    """Factory of pages, each in its own context (own sessionStorage: one user per page)."""
    contexts = []
    problems = BrowserProblems()

    def make(viewport=None):
        context = browser.new_context(base_url=live_server.url, viewport=viewport or {"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("console", problems.console)
        page.on("pageerror", problems.pageerror)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems.items, problems.items


@pytest.fixture
def page(new_page):
    return new_page()


class Ui:
    """Steps a person takes in the demo client."""

    def __init__(self, live_server):
        self.url = live_server.url

    def open(self, page, route):
        page.goto(f"{self.url}/#{route}")
        expect(page.locator("body[data-ready='true']")).to_be_attached()

    def _enter(self, page, form, username, password):
        """Fills the login or signup form; the wallet shows when it worked."""
        self.open(page, f"/{form}")
        page.get_by_test_id(f"{form}-username").fill(username)
        page.get_by_test_id(f"{form}-password").fill(password)
        page.get_by_test_id(f"{form}-submit").click()
        expect(page.get_by_test_id("view-wallet")).to_be_visible()

    def login(self, page, username, password=PASSWORD):
        self._enter(page, "login", username, password)
        expect(page.get_by_test_id("nav-user")).to_contain_text(username)

    def signup(self, page, username, password=PASSWORD):
        self._enter(page, "signup", username, password)

    def go(self, page, route, view_testid):
        page.evaluate("route => { location.hash = route; }", f"#{route}")
        expect(page.get_by_test_id(view_testid)).to_be_visible()

    def send(self, page, prefix, to, amount, memo=""):
        page.get_by_test_id(f"{prefix}-to").fill(to)
        page.get_by_test_id(f"{prefix}-amount").fill(amount)
        page.get_by_test_id(f"{prefix}-memo").fill(memo)
        page.get_by_test_id(f"{prefix}-submit").click()


@pytest.fixture
def ui(live_server):
    return Ui(live_server)


class Api:
    """Direct API calls, to set up state and to check what the UI claims."""

    def __init__(self, live_server):
        self.live = live_server

    def call(self, method, path, token=None, **kwargs):
        return self.live.api(method, f"/api/v1{path}", token, **kwargs)

    def balance(self, token):
        resp = self.call("GET", "/accounts/me", token)
        assert resp.status_code == 200, resp.text
        return resp.json()["balance"]

    def deposit(self, username, amount, memo="seed"):
        resp = self.call("POST", "/admin/deposits", self.live.admin_token(), json={
            "to": username, "amount": amount, "memo": memo}, headers={"Idempotency-Key": unique_name("dep")})
        assert resp.status_code == 201, resp.text
        return resp.json()["transfer"]

    def post(self, token, title, body, approve=True):
        resp = self.call("POST", "/posts", token, json={"title": title, "body": body})
        assert resp.status_code == 201, resp.text
        post = resp.json()["post"]
        if approve:
            ok = self.call("POST", f"/admin/posts/{post['id']}/approve", self.live.admin_token())
            assert ok.status_code == 200, ok.text
        return post


@pytest.fixture
def api(live_server):
    return Api(live_server)


@pytest.fixture
def admin_user(live_server):
    """A fresh admin: the login response (user, token); password is PASSWORD."""
    return live_server.make_admin()


@pytest.fixture
def pair(live_server):
    """Two fresh users: (alice, bob) signup responses."""
    return live_server.signup(unique_name("alice")), live_server.signup(unique_name("bob"))


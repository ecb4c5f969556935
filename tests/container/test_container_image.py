"""The production image, built and run against the local stack (host network): the whole
scenario through the container only, its logs, its metrics, and SIGTERM under load.

Select with `-m container` (or leave out with `-m "not container"`); needs podman
and runc (scripts/bootstrap.sh --test installs them and the local base image).
"""

import concurrent.futures
import json
import re
import threading
import time
import uuid

import pytest
import requests
from conftest import PASSWORD, SECRET, unique_name
from container_image import Container, image, podman, run_once
from photo_samples import HTML, encode, marked
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.container

HIGH = "100000/minute"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
# The container's production settings, on the session's stack; a login limit low enough to meet.
SETTINGS = {"SECRET_KEY": SECRET, "BCRYPT_ROUNDS": "4", "WEB_WORKERS": "2", "WEB_THREADS": "16",
            "LOGIN_RATE_LIMIT": "3/minute", "LOGIN_IP_RATE_LIMIT": HIGH, "SIGNUP_RATE_LIMIT": HIGH,
            "CONTENT_RATE_LIMIT": HIGH, "MESSAGE_RATE_LIMIT": HIGH}


@pytest.fixture(scope="module")
def tag():
    return image()


@pytest.fixture(scope="module")
def container_env(stack):
    return dict(stack.env(), **SETTINGS, RATELIMIT_KEY_PREFIX=f"container-{uuid.uuid4().hex}")


@pytest.fixture(scope="module")
def server(tag, container_env):
    container = Container(tag, container_env)
    print(f"\ncold start (podman run to /readyz 200): {container.cold_start_seconds:.1f} s")
    yield container
    container.remove()


class Api:
    def __init__(self, url):
        self.url = url
        self.http = requests.Session()

    def __call__(self, method, path, token=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def signup(self):
        resp = self("POST", "/api/v1/auth/signup", json={"username": unique_name(), "password": PASSWORD})
        assert resp.status_code == 201, resp.text
        return resp.json()

    def login(self, username):
        resp = self("POST", "/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert resp.status_code == 200, resp.text
        return resp.json()["token"]


def scrape(url):
    text = requests.get(url, timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def moved(before, after, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


@pytest.fixture(scope="module")
def scenario(tag, server, container_env):
    """Sign-up, deposit, transfer and replay, photo, message, audit: through the container only."""
    api, seen = Api(server.url), {}
    seen["metrics_before"] = scrape(server.metrics_url)
    alice, bob = api.signup(), api.signup()
    seen["tokens"] = [alice["token"], bob["token"]]

    admin_name = unique_name("admin")
    created = run_once(tag, dict(container_env, ADMIN_PASSWORD=PASSWORD),
                       "flask", "--app", "server", "create-admin", admin_name)
    seen["create_admin"] = created
    admin = api.login(admin_name)
    seen["tokens"].append(admin)
    deposit = api("POST", "/api/v1/admin/deposits", admin, headers={"Idempotency-Key": uuid.uuid4().hex},
                  json={"to": alice["user"]["username"], "amount": 1000})
    key, body = uuid.uuid4().hex, {"to": bob["user"]["username"], "amount": 250, "memo": "rent"}
    first = api("POST", "/api/v1/transfers", alice["token"], headers={"Idempotency-Key": key}, json=body)
    replay = api("POST", "/api/v1/transfers", alice["token"], headers={"Idempotency-Key": key}, json=body)
    seen["ledger"] = (deposit, first, replay)
    seen["balances"] = [api("GET", "/api/v1/accounts/me", t).json()["balance"] for t in seen["tokens"][:2]]

    upload = encode(marked(), "JPEG")
    seen["photo"] = api("POST", "/api/v1/photos", alice["token"], data={"caption": "a cat"},
                        files={"image": ("cat.jpg", upload, "image/jpeg")})
    seen["refused_photo"] = api("POST", "/api/v1/photos", alice["token"],
                                files={"image": ("cat.jpg", HTML, "image/jpeg")})
    conversation = api("POST", "/api/v1/conversations", alice["token"], json={"with": bob["user"]["username"]})
    seen["message"] = api("POST", f"/api/v1/conversations/{conversation.json()['conversation']['id']}/messages",
                          alice["token"], json={"body": "hello from the container"})
    seen["logins"] = [api("POST", "/api/v1/auth/login", json={"username": bob["user"]["username"],
                                                              "password": "wrong-password"}).status_code
                      for _ in range(4)]
    seen["traced"] = api("GET", "/api/v1/me", alice["token"],
                         headers={"X-Cloud-Trace-Context": f"{TRACE}/7;o=1"})
    seen["public_metrics"] = api("GET", "/metrics")
    seen["audit"] = server.exec("flask", "--app", "server", "audit", "verify")
    seen["healthcheck"] = podman("healthcheck", "run", server.id, check=False)  # the image's HEALTHCHECK
    seen["metrics_after"] = scrape(server.metrics_url)
    seen["logs"] = server.logs()
    return seen


def test_the_image_holds_the_server_and_nothing_else(tag):
    inspected = json.loads(podman("image", "inspect", tag).stdout)[0]
    assert inspected["Config"]["User"] == "10001:10001"
    health = inspected.get("Healthcheck") or inspected["Config"]["Healthcheck"]  # podman's place, docker's
    assert "/healthz" in " ".join(health["Test"])
    files = run_once(tag, {}, "find", "/app", "/opt/venv", "-type", "f").stdout.splitlines()
    assert "/app/server/__init__.py" in files and "/app/client_demo/index.html" in files
    shipped_by_mistake = [f for f in files if re.search(
        r"/(tests?|bench|devstack|node_modules|client_src|\.venv)/|emulator|/client_demo/python/|/pip/", f)]
    assert shipped_by_mistake == []
    assert run_once(tag, {}, "id", "-u").stdout.strip() == "10001"
    # PORT is honoured (Cloud Run sets it): the image's default command, on another port.
    assert run_once(tag, {}, "python3", "-c", "import server.gunicorn_conf as c; print(c.bind)").stdout.strip() \
        == "0.0.0.0:8080"


def test_the_scenario_through_the_container(scenario, project_id):
    created = scenario["create_admin"]
    assert created.returncode == 0 and "created admin" in created.stdout, created.stderr
    deposit, first, replay = scenario["ledger"]
    assert deposit.status_code == 201, deposit.text
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers, first.text
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["transfer"]["id"] == first.json()["transfer"]["id"]
    assert scenario["balances"] == [750, 250]
    assert scenario["photo"].status_code == 201, scenario["photo"].text
    assert scenario["photo"].json()["photo"]["status"] == "pending"
    assert scenario["refused_photo"].json()["error"]["code"] == "invalid_image"
    assert scenario["message"].status_code == 201, scenario["message"].text
    assert scenario["logins"] == [401, 401, 401, 429]
    assert scenario["public_metrics"].status_code == 404  # never on the public port
    assert scenario["healthcheck"].returncode == 0, scenario["healthcheck"].stdout + scenario["healthcheck"].stderr
    audit = scenario["audit"]
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout)["ok"] is True


def test_logs_are_cloud_logging_json_without_secrets(scenario, project_id):
    stdout, stderr = scenario["logs"]
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert lines and all({"severity", "message", "time"} <= set(line) for line in lines)
    assert [line for line in lines if line["severity"] in ("ERROR", "CRITICAL")] == []
    requests_logged = [line for line in lines if "httpRequest" in line]
    for line in requests_logged:
        assert {"status", "latency", "requestMethod", "requestUrl"} <= set(line["httpRequest"])
        assert re.fullmatch(r"\d+\.\d{6}s", line["httpRequest"]["latency"])
    traced = scenario["traced"]
    [line] = [line for line in requests_logged if line.get("request_id") == traced.headers["X-Request-ID"]]
    assert line["logging.googleapis.com/trace"] == f"projects/{project_id}/traces/{TRACE}"
    assert line["httpRequest"]["requestUrl"] == "/api/v1/me" and line["httpRequest"]["status"] == 200
    everything = stdout + stderr
    for secret in [PASSWORD, SECRET, "wrong-password", *scenario["tokens"]]:
        assert secret not in everything
    assert not re.search(r"\$2[aby]\$\d\d\$", everything)  # a bcrypt hash
    assert not re.search(r"(?i)bearer\s+\S|authorization", everything)


def test_metrics_moved_by_the_scenario(scenario):
    before, after = scenario["metrics_before"], scenario["metrics_after"]

    def request_count(method, route, status):
        return moved(before, after, "http_requests_total", method=method, route=route, status=str(status))

    assert request_count("POST", "/api/v1/auth/signup", 201) == 2
    assert request_count("POST", "/api/v1/transfers", 201) == 2
    assert request_count("POST", "/api/v1/auth/login", 429) == 1
    assert moved(before, after, "http_request_duration_seconds_count",
                 method="POST", route="/api/v1/transfers", status="201") == 2
    assert moved(before, after, "ledger_operations_total", outcome="done") == 3  # deposit, transfer, replay
    assert moved(before, after, "ledger_commits_total") == 3
    assert moved(before, after, "ledger_operations_per_commit_sum") == 3
    assert moved(before, after, "ledger_queue_wait_seconds_count") == 3
    assert moved(before, after, "ledger_conflicts_total") == 0
    assert moved(before, after, "ledger_unavailable_total") == 0
    assert moved(before, after, "messages_sent_total") == 1
    assert moved(before, after, "photo_uploads_total", outcome="accepted", reason="") == 1
    assert moved(before, after, "photo_uploads_total", outcome="refused", reason="invalid_image") == 1
    assert moved(before, after, "rate_limit_refusals_total", route="/api/v1/auth/login") == 1


# --- SIGTERM under load -------------------------------------------------------------

SENDERS, CLIENTS, FUNDS = 4, 24, 1_000_000


def _load(api, senders, sink, stop, attempts, lock):
    """Transfers of 1 from a sender to the sink, each with its own key, until stopped or refused."""
    n = 0
    while not stop.is_set():
        token = senders[n % len(senders)]
        n += 1
        key = uuid.uuid4().hex
        try:
            resp = api("POST", "/api/v1/transfers", token, headers={"Idempotency-Key": key},
                       json={"to": sink, "amount": 1})
            answer = (resp.status_code, resp.json().get("transfer", {}).get("id") if resp.status_code < 300 else None)
        except (requests.RequestException, ValueError) as exc:
            answer = (type(exc).__name__, None)
        with lock:
            attempts.append({"token": token, "key": key, "answer": answer, "at": time.monotonic()})
        if isinstance(answer[0], str):
            return  # the server is gone


def test_sigterm_under_load_answers_exactly_once_and_exits_in_time(tag, container_env, live_server):
    container = Container(tag, container_env)
    try:
        api = Api(container.url)
        admin = live_server.admin_token()  # the same project and key: its token is good in the container
        senders = [api.signup() for _ in range(SENDERS)]
        sink = api.signup()["user"]["username"]
        for sender in senders:
            resp = api("POST", "/api/v1/admin/deposits", admin, headers={"Idempotency-Key": uuid.uuid4().hex},
                       json={"to": sender["user"]["username"], "amount": FUNDS})
            assert resp.status_code == 201, resp.text
        tokens = [s["token"] for s in senders]
        stop, lock, attempts = threading.Event(), threading.Lock(), []
        clients = [threading.Thread(target=_load, args=(Api(container.url), tokens, sink, stop, attempts, lock))
                   for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        while len(attempts) < 200:  # the writer's queue is never empty with 24 clients waiting on it
            time.sleep(0.05)
        killed_at = time.monotonic()
        status, seconds = container.terminate()
        stop.set()
        for client in clients:
            client.join(60)
        stdout, stderr = container.logs()
    finally:
        container.remove()
    counts = {str(k): sum(1 for a in attempts if str(a["answer"][0]) == str(k))
              for k in {a["answer"][0] for a in attempts}}
    print(f"\nSIGTERM under load: {counts}, exit {seconds:.1f} s after the signal")
    assert status == 0, stdout[-3000:] + stderr[-3000:]
    assert seconds < 10, f"exited {seconds:.1f} s after SIGTERM"
    drained = [a for a in attempts if a["at"] > killed_at and a["answer"][0] == 201]
    assert drained, "no request in flight at SIGTERM was answered"

    # Every attempt again with its key, against another server: answered ones replay the
    # same transfer; the rest (refused connections, 503s) are repaired by the retry.
    def retry(attempt):
        resp = live_server.api("POST", "/api/v1/transfers", attempt["token"],
                               headers={"Idempotency-Key": attempt["key"]}, json={"to": sink, "amount": 1})
        return attempt, resp

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        retried = list(pool.map(retry, attempts))
    for attempt, resp in retried:
        assert resp.status_code == 201, (attempt["answer"], resp.text)
        if attempt["answer"][0] == 201:
            assert resp.headers.get("Idempotent-Replayed") == "true"
            assert resp.json()["transfer"]["id"] == attempt["answer"][1]
    answered = [a["answer"][0] for a in attempts]
    assert all(s in (201, 503) or isinstance(s, str) for s in answered), sorted(set(map(str, answered)))
    # Each key moved money exactly once: the balances say so.
    for sender in senders:
        keys = sum(a["token"] == sender["token"] for a in attempts)
        balance = live_server.api("GET", "/api/v1/accounts/me", sender["token"]).json()["balance"]
        assert balance == FUNDS - keys

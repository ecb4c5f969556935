"""deploy/ and the Containerfile against the server's settings: what Cloud Run is told exists."""

import json
import os
import re
import runpy

import pytest
import yaml

from server import config, create_app

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as fh:
        return fh.read()


SERVICE = yaml.safe_load(_read("deploy", "service.yaml"))
TEMPLATE = SERVICE["spec"]["template"]
CONTAINER = TEMPLATE["spec"]["containers"][0]
ENV = {e["name"]: e for e in CONTAINER["env"]}
CONTAINERFILE = _read("Containerfile")


def _variables_read(*files):
    """Every environment variable the server's settings read."""
    pattern = re.compile(r"""(?:environ\.get|environ\[|_int|_float|_bool)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
    return {name for f in files for name in pattern.findall(_read("server", f))}


KNOWN = _variables_read("config.py", "gunicorn_conf.py") | {"PROMETHEUS_MULTIPROC_DIR"}


def _service_environment():
    """The environment Cloud Run gives the container (a stand-in for the secret's value)."""
    env = {name: e.get("value", "secret-from-secret-manager-" + "x" * 32) for name, e in ENV.items()}
    env["PORT"] = str(CONTAINER["ports"][0]["containerPort"])  # Cloud Run sets it
    return env


def test_every_variable_the_service_sets_is_one_the_server_reads():
    assert set(ENV) <= KNOWN, set(ENV) - KNOWN
    assert "PORT" not in ENV  # reserved: Cloud Run sets it


def test_the_service_has_what_production_needs(monkeypatch):
    for name in list(os.environ):
        if name in KNOWN or name.endswith("_EMULATOR_HOST"):
            monkeypatch.delenv(name)
    for name, value in _service_environment().items():
        monkeypatch.setenv(name, value)
    settings = config.from_environment()
    assert settings["SECRET_KEY"]
    assert ENV["SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] in _read("deploy", "service-account.sh")
    assert not settings["PROJECT_ID"].startswith("demo-")
    assert settings["RATELIMIT_STORAGE_URI"].startswith("redis://")  # limits shared by every instance
    assert not any(settings[k] for k in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST",
                                         "STORAGE_EMULATOR_HOST"))
    assert settings["LOG_FORMAT"] == "json"


def test_concurrency_cpu_and_instances(monkeypatch):
    for name, value in _service_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BIND", raising=False)
    monkeypatch.setenv("HOST", "0.0.0.0")  # the image's
    gunicorn = runpy.run_path(os.path.join(ROOT, "server", "gunicorn_conf.py"))
    assert TEMPLATE["spec"]["containerConcurrency"] == gunicorn["workers"] * gunicorn["threads"]
    assert gunicorn["bind"] == f"0.0.0.0:{CONTAINER['ports'][0]['containerPort']}"
    annotations = TEMPLATE["metadata"]["annotations"]
    assert annotations["run.googleapis.com/cpu-throttling"] == "false"  # the ledger writer runs between requests
    assert 1 <= int(annotations["autoscaling.knative.dev/minScale"]) <= int(
        annotations["autoscaling.knative.dev/maxScale"])
    assert gunicorn["graceful_timeout"] < 10  # Cloud Run's SIGTERM-to-SIGKILL window


@pytest.fixture(scope="module")
def routes():
    app = create_app({"PROJECT_ID": "demo-unit", "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9",
                      "SECRET_KEY": "x" * 40, "SESSION_REVOCATION_WATCH": False, "LEDGER_FAST_WRITES": False})
    yield {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    app.extensions["shutdown"]()


@pytest.mark.parametrize("probe", ["startupProbe", "livenessProbe"])
def test_probes_are_routes_on_the_served_port(probe, routes):
    get = CONTAINER[probe]["httpGet"]
    assert get["path"] in routes
    assert get["port"] == CONTAINER["ports"][0]["containerPort"]
    assert f"PORT={get['port']}" in CONTAINERFILE


def test_the_image_runs_the_server_as_a_user_with_a_health_check(routes):
    assert re.search(r"^ARG BASE_IMAGE=python:3\.12-slim$", CONTAINERFILE, re.M)
    user = re.findall(r"^USER (\S+)", CONTAINERFILE, re.M)
    assert user and not user[-1].startswith(("0", "root"))
    health = re.search(r"^HEALTHCHECK .*\n.*'http://127\.0\.0\.1:%s(/\w+)'", CONTAINERFILE, re.M)
    assert health and health[1] in routes
    assert '"gunicorn", "-c", "python:server.gunicorn_conf", "server:create_app()"' in CONTAINERFILE


def test_firebase_deploy_covers_rules_indexes_and_ttl():
    assert "firebase deploy --only firestore,storage" in _read("deploy", "firebase-deploy.sh")
    firebase = json.loads(_read("firebase.json"))
    for path in (firebase["firestore"]["rules"], firebase["firestore"]["indexes"], firebase["storage"]["rules"]):
        assert os.path.isfile(os.path.join(ROOT, path)), path
    indexes = json.loads(_read(firebase["firestore"]["indexes"]))
    ttl = {(f["collectionGroup"], f["fieldPath"]) for f in indexes["fieldOverrides"] if f.get("ttl")}
    assert {("idempotency", "expire_at"), ("sessions", "expire_at")} <= ttl


def test_the_service_account_has_the_roles_the_server_uses():
    script = _read("deploy", "service-account.sh")
    for role in ("datastore.user", "firebaseauth.viewer", "storage.objectAdmin", "secretmanager.secretAccessor",
                 "iam.serviceAccountTokenCreator"):
        assert f"roles/{role}" in script
    assert TEMPLATE["spec"]["serviceAccountName"].startswith("trusted-backend@")

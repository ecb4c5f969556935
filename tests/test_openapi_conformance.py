"""The OpenAPI document against the running server: schemathesis's conformance checks.

Runs the schemathesis CLI against the emulator-backed live server (its pytest
integration, `schemathesis.pytest.from_fixture`, fails on pytest 9:
'Function' object has no attribute '_nodeid'). Every check is on, including
`not_a_server_error`; the examples are bounded and the seed is fixed.

Signed in as an admin, so every operation is exercised past its 401/403. The
token is fetched by logging in, and again whenever an answer is 401: the run
calls POST /auth/logout, which revokes the session it was given (a fixed
`Authorization` header left 21 operations answering only 401).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import requests
from conftest import PASSWORD

TESTS = Path(__file__).parent
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

CONFIG = """
seed = 20261122
workers = 1
hooks = "schemathesis_hooks"  # tests/schemathesis_hooks.py: the one narrow filter, and why

[auth.dynamic.openapi.bearer]
path = "/api/v1/auth/login"
payload = { username = "${ST_ADMIN_USERNAME}", password = "${ST_ADMIN_PASSWORD}" }
extract_selector = "/token"

[generation]
max-examples = 10
database = "none"

[phases]
examples.enabled = true
coverage.enabled = true
fuzzing.enabled = true
stateful.enabled = true  # chains of calls reach real posts, transfers and conversations

[checks]
enabled = true

# A new post or photo is pending: until a moderator approves it, it takes no comments (404,
# the contract), so "created, then commented on" is no broken promise.
[[operations]]
include-path-regex = "/comments$"
checks.ensure_resource_availability.enabled = false
"""


def run_schemathesis(url, admin, workdir, config_text=CONFIG, timeout=300):
    """The schemathesis CLI against `url`, signed in as `admin` (any user's signup answer)."""
    config = workdir / "schemathesis.toml"
    config.write_text(config_text)
    env = {**os.environ, "PYTHONPATH": str(TESTS),
           "ST_ADMIN_USERNAME": admin["user"]["username"], "ST_ADMIN_PASSWORD": PASSWORD}
    return subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(config), "--no-color", "run", f"{url}/api/v1/openapi.json"],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=workdir, check=False)


def test_openapi_document_matches_the_server(live_server, admin, tmp_path):
    result = run_schemathesis(live_server.url, admin, tmp_path)
    summary = result.stdout[result.stdout.rfind("SUMMARY"):]
    print(summary)
    assert result.returncode == 0, result.stdout[-30000:] + result.stderr[-3000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    assert selected and selected[1] == selected[2] and f"Tested: {selected[1]}" in summary, summary
    assert only_401(result.stdout) <= ANSWER_401_BY_DESIGN, summary


# Operations whose 401 is not about the token: a wrong current password.
ANSWER_401_BY_DESIGN = {"POST /api/v1/auth/password"}


def only_401(output):
    """The operations schemathesis saw answer nothing but 401/403 (its warning's list)."""
    block = re.search(r"Authentication failed:.*?\n\n(?:40[13] [^\n]*\n(?:  - [^\n]+\n)+\n?)+", output, re.S)
    return set(re.findall(r"^  - (.+)$", block[0], re.M)) if block else set()


def test_a_too_long_request_line_is_the_http_servers_414(live_server):
    """The HTTP server answers it before the app (Werkzeug above 65536 bytes,
    gunicorn above limit_request_line), with HTML: no answer of the API, so no
    operation lists it (no client expects a JSON error or a text body there);
    the document's description says so."""
    resp = requests.get(f"{live_server.url}/api/v1/posts?cursor={'A' * 70_000}", timeout=30)
    assert resp.status_code == 414
    assert resp.headers["Content-Type"].startswith("text/html")
    document = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=30).json()
    assert "414" not in document["paths"]["/api/v1/posts"]["get"]["responses"]
    assert "414" in document["info"]["description"]

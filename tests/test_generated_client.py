"""Clients generated from the served OpenAPI document by third-party tools (issue 24).

The document as served loads in openapi-spec-validator, and openapi-python-client
builds a client from it without a warning; a scenario then runs only through that
generated client: signup, login, a deposit, a transfer and its replay, a 409 and a
429 as typed errors, a photo upload and its thumbnail as bytes, a post, a message.
"""

import importlib
import os
import subprocess
import sys
import threading
import uuid

import pytest
import requests
from conftest import PASSWORD, make_test_config, unique_name
from photo_samples import encode, marked
from werkzeug.serving import make_server

from server import create_app

BIN = os.path.dirname(sys.executable)
PACKAGE = "generated_api"


@pytest.fixture(scope="module")
def served(emulator, project_id):
    """A server of its own: a login limit low enough to reach, a fresh count."""
    app = create_app(make_test_config(emulator, project_id, LOGIN_RATE_LIMIT="4/minute"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["shutdown"]()


def _run(*command, cwd=None):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # the generator runs ruff
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=cwd, check=False)


def test_the_served_document_passes_openapi_spec_validator(served, tmp_path):
    _app, url = served
    document = tmp_path / "openapi.json"  # the bytes as served (the CLI reads files)
    document.write_bytes(requests.get(f"{url}/api/v1/openapi.json", timeout=30).content)
    result = _run(os.path.join(BIN, "openapi-spec-validator"), str(document))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


@pytest.fixture(scope="module")
def api(served, tmp_path_factory):
    """The package openapi-python-client generates from the served document, imported."""
    _app, url = served
    where = tmp_path_factory.mktemp("generated")
    result = _run(os.path.join(BIN, "openapi-python-client"), "generate", "--url", f"{url}/api/v1/openapi.json",
                  "--meta", "none", "--output-path", str(where / PACKAGE), cwd=where)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for sign in ("warning", "error", "cannot", "unsupported", "skipping"):
        assert sign not in output.lower(), output
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(api, dotted):
    return importlib.import_module(f"{api.__name__}.{dotted}")


def test_a_scenario_through_the_generated_client_only(served, api):
    app, url = served
    models, types = _module(api, "models"), _module(api, "types")
    # Modules named by the operationIds: short and stable.
    op = {name: _module(api, f"api.{group}.{name}") for group, name in (
        ("auth", "signup"), ("auth", "login"), ("ledger", "create_transfer"), ("admin", "create_deposit"),
        ("ledger", "my_account"), ("posts", "create_post"), ("photos", "upload_photo"),
        ("photos", "photo_thumbnail"), ("messages", "start_conversation"), ("messages", "send_message"))}
    anonymous = api.Client(base_url=url, raise_on_unexpected_status=True)

    alice_name, bob_name = unique_name("ga"), unique_name("gb")
    signed_up = op["signup"].sync(client=anonymous, body=models.Credentials(username=alice_name, password=PASSWORD))
    assert isinstance(signed_up, models.Session) and signed_up.user.username == alice_name
    op["signup"].sync(client=anonymous, body=models.Credentials(username=bob_name, password=PASSWORD))
    again = op["signup"].sync_detailed(client=anonymous,
                                       body=models.Credentials(username=alice_name, password=PASSWORD))
    assert again.status_code == 409 and isinstance(again.parsed, models.ErrorBody)
    assert again.parsed.error.code == "username_taken"

    session = op["login"].sync(client=anonymous, body=models.Credentials(username=alice_name, password=PASSWORD))
    assert isinstance(session, models.Session)
    alice = api.AuthenticatedClient(base_url=url, token=session.token, raise_on_unexpected_status=True)

    admin_name = unique_name("gadm")
    app.extensions["auth"].create_admin(admin_name, PASSWORD)
    admin_session = op["login"].sync(client=anonymous,
                                     body=models.Credentials(username=admin_name, password=PASSWORD))
    operator = api.AuthenticatedClient(base_url=url, token=admin_session.token, raise_on_unexpected_status=True)
    deposit = op["create_deposit"].sync(client=operator, idempotency_key=uuid.uuid4().hex,
                                        body=models.TransferRequest(to=alice_name, amount=10_000))
    assert isinstance(deposit, models.TransferEnvelope) and deposit.transfer.amount == 10_000

    key = uuid.uuid4().hex
    first = op["create_transfer"].sync_detailed(client=alice, idempotency_key=key,
                                                body=models.TransferRequest(to=bob_name, amount=2_500, memo="lunch"))
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    replay = op["create_transfer"].sync_detailed(client=alice, idempotency_key=key,
                                                 body=models.TransferRequest(to=bob_name, amount=2_500, memo="lunch"))
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.parsed.transfer.id == first.parsed.transfer.id
    assert "Retry-After" not in replay.headers  # only where it means something (429, 503)
    assert op["my_account"].sync(client=alice).balance == 7_500

    too_much = op["create_transfer"].sync_detailed(client=alice, idempotency_key=uuid.uuid4().hex,
                                                   body=models.TransferRequest(to=bob_name, amount=1_000_000))
    assert too_much.status_code == 409 and isinstance(too_much.parsed, models.ErrorBody)
    assert too_much.parsed.error.code == "insufficient_funds"

    post = op["create_post"].sync(client=alice, body=models.PostCreate(title="Generated", body="Hello from a client."))
    assert isinstance(post, models.PostEnvelope) and post.post.status.value == "pending"

    image = encode(marked(), "PNG")
    form = models.UploadPhotoPhotoUploadForm(
        image=types.File(payload=image, file_name="marked.png", mime_type="image/png"), caption="A red square")
    uploaded = op["upload_photo"].sync(client=alice, body=form)
    assert isinstance(uploaded, models.PhotoEnvelope)
    thumbnail = op["photo_thumbnail"].sync(uploaded.photo.id, client=alice)
    assert isinstance(thumbnail, types.File)
    assert thumbnail.payload.read()[:8] == b"\x89PNG\r\n\x1a\n"

    conversation = op["start_conversation"].sync(client=alice, body=models.ConversationCreate(with_=bob_name))
    sent = op["send_message"].sync(conversation.conversation.id, client=alice, body=models.MessageCreate(body="hi"))
    assert isinstance(sent, models.MessageEnvelope) and sent.message.body == "hi"

    wrong = models.Credentials(username=bob_name, password="wrong-password")
    answers = [op["login"].sync_detailed(client=anonymous, body=wrong) for _ in range(5)]
    limited = answers[-1]
    assert [a.status_code for a in answers[:4]] == [401] * 4
    assert limited.status_code == 429 and isinstance(limited.parsed, models.ErrorBody)
    assert limited.parsed.error.code == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 0
    assert int(answers[0].headers["X-RateLimit-Remaining"]) >= 0 and "Retry-After" not in answers[0].headers

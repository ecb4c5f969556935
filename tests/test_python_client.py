"""The Python client (client_demo/python/trusted_client) and its chat script, against the live test server."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
from conftest import PASSWORD, unique_name

CLIENT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "client_demo", "python")
sys.path.insert(0, CLIENT_DIR)
README_URL = "http://127.0.0.1:5000"  # where the README's snippets expect the run command's server

from trusted_client import (  # noqa: E402
    Conflict,
    InvalidCredentials,
    NotFound,
    TrustedClient,
    Unauthenticated,
    ValidationFailed,
)


@pytest.fixture
def alice(live_server):
    client = TrustedClient(live_server.url)
    client.signup(unique_name("al"), PASSWORD)
    return client


@pytest.fixture
def bob(live_server):
    client = TrustedClient(live_server.url)
    client.signup(unique_name("bo"), PASSWORD)
    return client


def test_login_and_typed_errors(live_server, alice):
    again = TrustedClient(live_server.url)
    assert again.login(alice.user["username"], PASSWORD)["user"]["id"] == alice.user["id"]
    assert again.me()["user"]["username"] == alice.user["username"]
    with pytest.raises(InvalidCredentials) as failed:
        TrustedClient(live_server.url).login(alice.user["username"], "wrong-password!")
    assert (failed.value.status, failed.value.code) == (401, "invalid_credentials")
    with pytest.raises(NotFound) as missing:
        alice.start_conversation(unique_name("nobody"))
    assert missing.value.code == "not_found"
    with pytest.raises(Unauthenticated):
        TrustedClient(live_server.url).me()  # never logged in: nothing to renew


def test_logs_in_again_when_the_session_ended(live_server, alice):
    old_token = alice.token
    # The session ends behind the client's back (revoked; an expired one answers the same 401).
    assert live_server.api("POST", "/api/v1/auth/logout", old_token).status_code == 204
    assert live_server.api("GET", "/api/v1/me", old_token).status_code == 401
    assert alice.me()["user"]["id"] == alice.user["id"]
    assert alice.token != old_token
    alice.token = "not-a-jwt"  # a broken or expired token: the same way back
    assert alice.balance() == 0


def test_money_retries_with_the_same_idempotency_key(live_server, alice, bob):
    admin = TrustedClient(live_server.url)
    admin.token = live_server.admin_token()
    admin.deposit(alice.user["username"], 10_000, memo="seed")

    keys = []

    class LostResponse(requests.Session):
        """The first transfer reaches the server, but its answer is lost on the way back."""

        def request(self, method, url, **kwargs):
            if url.endswith("/transfers"):
                keys.append(kwargs["headers"]["Idempotency-Key"])
                resp = super().request(method, url, **kwargs)
                if len(keys) == 1:
                    raise requests.ConnectionError("connection reset")
                return resp
            return super().request(method, url, **kwargs)

    flaky = TrustedClient(live_server.url, session=LostResponse(), backoff=0.01)
    flaky.login(alice.user["username"], PASSWORD)
    transfer = flaky.transfer(bob.user["username"], 2_500, memo="once")
    assert len(keys) == 2 and keys[0] == keys[1]  # the retry carried the same key
    assert transfer["amount"] == 2_500
    assert alice.balance() == 7_500 and bob.balance() == 2_500  # moved once
    # Replaying a key by hand: the same transfer again, no money moved.
    assert alice.transfer(bob.user["username"], 2_500, memo="once", idempotency_key=keys[0])["id"] == transfer["id"]
    assert alice.balance() == 7_500
    with pytest.raises(Conflict) as reused:
        alice.transfer(bob.user["username"], 1, idempotency_key=keys[0])
    assert reused.value.code == "idempotency_conflict"
    with pytest.raises(Conflict) as poor:
        bob.transfer(alice.user["username"], 1_000_000)
    assert poor.value.code == "insufficient_funds"


def test_send_and_poll_messages(alice, bob):
    conv = alice.start_conversation(bob.user["username"])
    assert bob.start_conversation(alice.user["username"])["id"] == conv["id"]
    first = alice.send_message(conv["id"], "<b>hi</b> bob")
    assert first["seq"] == 1 and first["body"] == "<b>hi</b> bob"
    assert [m["body"] for m in bob.new_messages(conv["id"])] == ["<b>hi</b> bob"]
    for i in range(120):  # more than one page
        bob.send_message(conv["id"], f"r{i}")
    got = alice.new_messages(conv["id"], after=1)
    assert [m["seq"] for m in got] == list(range(2, 122))
    assert alice.new_messages(conv["id"], after=121) == []
    assert alice.conversations()["items"][0]["id"] == conv["id"]
    with pytest.raises(ValidationFailed) as bad:
        alice.send_message(conv["id"], "")
    assert bad.value.code == "validation_error" and bad.value.details


def run_bot(live_server, sender, to, *extra):
    env = dict(os.environ, TRUSTED_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "trusted_client.chat_bot", "--url", live_server.url,
         "--username", sender.user["username"], "--to", to.user["username"], *extra],
        cwd=CLIENT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_chat_bot_help():
    done = subprocess.run([sys.executable, "-m", "trusted_client.chat_bot", "--help"], cwd=CLIENT_DIR,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert "--every" in done.stdout and "--to" in done.stdout


def test_chat_bot_sends_every_n_seconds_until_stopped(live_server, alice, bob):
    conv = bob.start_conversation(alice.user["username"])
    bob.send_message(conv["id"], "hello bot")  # before it starts: not a reply
    bot = run_bot(live_server, alice, bob, "--every", "0.3", "--text", "tick {n}")
    try:
        deadline = time.monotonic() + 30
        while len(bob.new_messages(conv["id"], after=1)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        bob.send_message(conv["id"], "a reply")
        seen_reply_at = len(bob.new_messages(conv["id"]))
        while len(bob.new_messages(conv["id"])) < seen_reply_at + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        bot.send_signal(signal.SIGINT)
        out, err = bot.communicate(timeout=30)
    assert bot.returncode == 0, err
    ticks = [m for m in bob.new_messages(conv["id"]) if m["author_id"] == alice.user["id"]]
    assert len(ticks) >= 4
    assert [m["body"] for m in ticks] == [f"tick {n}" for n in range(1, len(ticks) + 1)]
    assert f"stopped after {len(ticks)} message(s)" in out
    assert f"{bob.user['username']} (message #" in out and "a reply" in out  # the reply was shown
    # Its own count is not the conversation's number (bob's message came first).
    assert "sent 1 (message #2): tick 1" in out
    assert "hello bot" not in out


def test_chat_bot_stops_after_count_and_reports_refusals(live_server, alice, bob):
    bot = run_bot(live_server, alice, bob, "--every", "0.1", "--count", "2")
    out, err = bot.communicate(timeout=60)
    assert bot.returncode == 0, err
    assert "sent 1 (message #1)" in out and "sent 2 (message #2)" in out and "stopped after 2 message(s)" in out
    nobody = subprocess.run(
        [sys.executable, "-m", "trusted_client.chat_bot", "--url", live_server.url, "--username",
         alice.user["username"], "--to", unique_name("nobody")],
        cwd=CLIENT_DIR, env=dict(os.environ, TRUSTED_PASSWORD=PASSWORD), capture_output=True, text=True, timeout=60)
    assert nobody.returncode == 1
    assert "not_found" in nobody.stderr


def test_the_python_client_is_not_served_as_part_of_the_web_page(client):
    assert client.get("/js/main.js").status_code == 200
    assert client.get("/python/trusted_client/client.py").status_code == 404
    assert client.get("/python/README.md").status_code == 404


def readme_blocks(language):
    with open(os.path.join(CLIENT_DIR, "README.md"), encoding="utf-8") as readme:
        return re.findall(rf"```{language}\n(.*?)```", readme.read(), re.S)


def test_readme_snippet_runs_as_written(demo_server):
    (snippet,) = readme_blocks("python")
    code = snippet.replace(README_URL, demo_server)
    done = subprocess.run([sys.executable, "-c", code], cwd=CLIENT_DIR, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seq, balance = done.stdout.splitlines()
    assert int(seq) >= 1 and balance == f"{48_750} cents"


def test_readme_chat_bot_command_runs_as_written(demo_server):
    """The documented command, in a shell from the repository's root, until Ctrl-C."""
    (command,) = readme_blocks("sh")
    env = dict(os.environ, PATH=f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
               PYTHONUNBUFFERED="1")
    shell = subprocess.Popen(["bash", "-c", f"exec 2>&1; {command.replace(README_URL, demo_server)}"],
                             cwd=os.path.dirname(os.path.dirname(CLIENT_DIR)),
                             env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    lines = []
    try:
        for line in shell.stdout:
            lines.append(line)
            if line.startswith("sent 1 "):
                break
    finally:
        os.killpg(shell.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        rest, _ = shell.communicate(timeout=30)
    out = "".join(lines) + rest
    assert shell.returncode == 0, out
    assert "logged in as alice" in out and "sent 1 (message #" in out and "stopped after 1 message(s)" in out

"""The emulator harness: finding an emulator, starting, stopping, and the run command's Ctrl-C."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from server import emulator as harness

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def test_explicit_jar_that_does_not_exist_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("FIRESTORE_EMULATOR_JAR", "/nonexistent/emulator.jar")
    with pytest.raises(harness.EmulatorNotFound, match="does not exist"):
        harness.find_emulator_command()


def test_no_emulator_anywhere_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("FIRESTORE_EMULATOR_JAR", raising=False)
    monkeypatch.setattr(harness, "_gcloud_sdk_roots", lambda: [str(tmp_path)])
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(harness.EmulatorNotFound) as info:
        harness.find_emulator_command()
    assert "google-cloud-cli-firestore-emulator" in str(info.value)
    assert "firebase setup:emulators:firestore" in str(info.value)


def test_firebase_json_gives_port_and_rules():
    port, rules = harness.firebase_settings()
    assert port == 8080
    assert rules.endswith(os.path.join("rules", "firestore.rules")) and os.path.isfile(rules)


def test_started_emulator_answers_and_stops_without_leftovers(monkeypatch):
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    emu = harness.start(port=0)
    try:
        assert answers(emu.url)
        process = emu.process
    finally:
        emu.stop()
    assert process.poll() is not None
    assert not answers(emu.url)


def test_run_command_ctrl_c_stops_api_and_emulator(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "FIRESTORE_EMULATOR_HOST"}
    port = harness.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "server.devrun", "--port", str(port), "--no-demo-data"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    emulator_url, lines = None, []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            found = re.search(r"Firestore emulator at (http://\S+)", line)
            emulator_url = emulator_url or (found and found.group(1))
            if "API and demo client" in line:
                break
        assert emulator_url, "".join(lines)
        api = f"http://127.0.0.1:{port}/healthz"
        for _ in range(100):
            if answers(api):
                break
            time.sleep(0.2)
        assert answers(api)
        assert answers(emulator_url)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert not answers(f"http://127.0.0.1:{port}/healthz")
    assert not answers(emulator_url)

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
import redis

from devstack import emulator as harness
from devstack import processes
from devstack import stack as local_stack

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
    env = {k: v for k, v in os.environ.items()
           if k not in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST", "STORAGE_EMULATOR_HOST",
                        "RATELIMIT_STORAGE_URI")}
    port = processes.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "devstack.run", "--port", str(port), "--no-demo-data"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    emulator_url, auth, lines = None, None, []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            found = re.search(r"Firestore emulator at (http://\S+)", line)
            emulator_url = emulator_url or (found and found.group(1))
            auth = auth or re.search(r"Auth (http://\S+?),", line)
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
    assert auth and not answers(auth.group(1))


def test_local_stack_starts_every_part_and_stops_without_leftovers(monkeypatch):
    for variable in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST", "STORAGE_EMULATOR_HOST",
                     "RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(variable, raising=False)
    started = local_stack.start("demo-harness", ports=dict.fromkeys(local_stack.COMPONENTS, 0))
    try:
        children = [m.process for m in started._managed]
        assert len(children) == 4
        assert answers(started.firestore.url)
        assert answers(f"http://{started.auth_host}/emulator/v1/projects/demo-harness/config")
        assert answers(f"{started.storage_url}/storage/v1/b")
        assert redis.Redis.from_url(started.redis_url).ping()
        assert started.env()["GOOGLE_CLOUD_PROJECT"] == "demo-harness"
    finally:
        started.stop()
    assert all(child.poll() is not None for child in children)
    assert not answers(started.firestore.url)
    assert not answers(f"http://{started.auth_host}/emulator/v1/projects/demo-harness/config")
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(started.redis_url, socket_connect_timeout=1).ping()


def test_missing_node_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(local_stack.MissingComponent, match="Node.js"):
        local_stack.firebase_cli()


def test_a_part_that_dies_at_start_is_relaunched_then_reported():
    launches = []

    def launch(_port):
        launches.append(1)
        managed = processes.spawn("dies-at-once", [sys.executable, "-c", "raise SystemExit(3)"])
        return "unused", managed, lambda: False

    started = local_stack.LocalStack("demo-x")
    _address, managed, ready = launch(0)
    started._managed.append(managed)
    with pytest.raises(processes.StartFailed, match="exited with status 3") as info:
        local_stack._wait_or_relaunch(started, "dies-at-once", managed, ready, "auth_host", launch, 0)
    assert info.value.exited and len(launches) == 3


def _processes_marked(marker):
    """Pids of the processes whose environment holds `marker` (the run command's children inherit it)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                if marker.encode() in environ.read():
                    found.append(int(pid))
        except OSError:  # gone, or not ours to read
            continue
    return found


@pytest.mark.parametrize("step", ["starting the local stack", "seeding demo data", "starting the API"])
def test_ctrl_c_during_start_up_is_as_clean_as_later(step):
    """Ctrl-C as a terminal sends it (to the whole foreground group) while the run command is
    still starting: every part it started stops, none is killed, nothing is left behind."""
    marker = f"RUN_MARKER_{os.getpid()}_{time.monotonic_ns()}"
    env = {k: v for k, v in os.environ.items()
           if k not in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST", "STORAGE_EMULATOR_HOST",
                        "RATELIMIT_STORAGE_URI")}
    env[marker] = "1"
    port = processes.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "devstack.run", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(step):
                break
        assert lines and lines[-1].startswith(step), "".join(lines)
        time.sleep(0.5)  # well inside the step
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    out = "".join(lines) + rest
    assert proc.returncode == 0, out
    assert "stopping…" in out and "Traceback" not in out, out
    assert "SIGKILL" not in out and "Perhaps out of memory" not in out, out
    if step != "starting the local stack":
        assert "emulators stopped" in out, out
    deadline = time.monotonic() + 10
    while _processes_marked(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_marked(marker) == [], out
    assert not answers(f"http://127.0.0.1:{port}/healthz")

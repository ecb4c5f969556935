"""The local stack: every emulator and server the product needs, started by one harness.

- Firestore: the Cloud Firestore emulator (devstack/emulator.py);
- Firebase Auth: the Auth emulator of the project-local firebase-tools (npm);
- Cloud Storage: `gcp-storage-emulator` (PyPI), in memory;
- rate limits shared by every process: Debian's `redis-server`, in memory.

The run command, the tests and the benchmark all start it through `start()`:
free ports (or firebase.json's when free), one `demo-` project id for every
emulator, every process stopped at exit, on SIGTERM, or when this program
dies, and a clear message when a part is missing. A part whose environment
variable is already set (FIRESTORE_EMULATOR_HOST, FIREBASE_AUTH_EMULATOR_HOST,
STORAGE_EMULATOR_HOST, RATELIMIT_STORAGE_URI) is used as it is.
"""

import json
import os
import shutil
import socket
import sys
import tempfile
import urllib.error
import urllib.request

from . import emulator, processes

ROOT = emulator.ROOT
COMPONENTS = ("firestore", "auth", "storage", "redis")

NODE_HELP = """The Firebase Auth emulator needs Node.js 18+ and the project's npm packages:
  apt-get install nodejs npm   (or your platform's Node.js)
  npm ci                       (in the project folder; scripts/bootstrap.sh does it)"""
STORAGE_HELP = """The Cloud Storage emulator is missing: .venv/bin/pip install -r requirements-local.txt
(scripts/bootstrap.sh does it)."""
REDIS_HELP = """redis-server is missing (rate limits shared by all processes): apt-get install redis-server
(scripts/bootstrap.sh does it), or set RATELIMIT_STORAGE_URI to a running store."""


class MissingComponent(emulator.EmulatorNotFound):
    pass


def _emulator_port(name, default):
    with open(os.path.join(ROOT, "firebase.json"), encoding="utf-8") as fh:
        return int(json.load(fh).get("emulators", {}).get(name, {}).get("port", default))


def _http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except urllib.error.URLError:
        return False


def firebase_cli():
    """The project-local firebase-tools command (never a global install)."""
    node = shutil.which("node")
    cli = os.path.join(ROOT, "node_modules", "firebase-tools", "lib", "bin", "firebase.js")
    if not node:
        raise MissingComponent(f"Node.js was not found.\n{NODE_HELP}")
    if not os.path.isfile(cli):
        raise MissingComponent(f"firebase-tools is not installed in node_modules.\n{NODE_HELP}")
    return [node, cli]


def _launch_auth(project_id, port, quiet):
    port = processes.choose_port(port, _emulator_port("auth", 9099))
    # A config of our own: only the Auth emulator, every port of firebase-tools free.
    config = {"emulators": {"auth": {"host": "127.0.0.1", "port": port},
                            "hub": {"host": "127.0.0.1", "port": processes.free_port()},
                            "logging": {"host": "127.0.0.1", "port": processes.free_port()},
                            "ui": {"enabled": False}}}
    folder = tempfile.mkdtemp(prefix="auth-emulator-")
    with open(os.path.join(folder, "firebase.json"), "w", encoding="utf-8") as fh:
        json.dump(config, fh)
    env = dict(os.environ, NO_UPDATE_NOTIFIER="1", FIREBASE_CLI_DISABLE_UPDATE_CHECK="true",
               CI="true", HOME=os.environ.get("HOME") or folder)
    command = firebase_cli() + ["emulators:start", "--only", "auth", "--project", project_id,
                                "--config", os.path.join(folder, "firebase.json")]
    managed = processes.spawn("auth-emulator", command, quiet, env=env, cwd=folder)
    host = f"127.0.0.1:{port}"
    return host, managed, lambda: _http_ok(f"http://{host}/emulator/v1/projects/{project_id}/config")


def _launch_storage(port, quiet):
    exe = os.path.join(os.path.dirname(sys.executable), "gcp-storage-emulator")
    if not os.path.isfile(exe):
        exe = shutil.which("gcp-storage-emulator")
    if not exe:
        raise MissingComponent(STORAGE_HELP)
    port = processes.choose_port(port, _emulator_port("storage", 9199))
    command = [exe, "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"]
    managed = processes.spawn("storage-emulator", command, quiet)
    url = f"http://127.0.0.1:{port}"
    return url, managed, lambda: _http_ok(f"{url}/storage/v1/b")


def _redis_pong(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def _launch_redis(port, quiet):
    exe = shutil.which("redis-server") or ("/usr/sbin/redis-server" if os.path.isfile("/usr/sbin/redis-server")
                                           else None)
    if not exe:
        raise MissingComponent(REDIS_HELP)
    port = processes.choose_port(port, 6379)
    # In memory only: nothing written to disk, nothing to clean up.
    command = [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
               "--protected-mode", "yes"]
    managed = processes.spawn("redis", command, quiet)
    return f"redis://127.0.0.1:{port}/0", managed, lambda: _redis_pong(port)


class LocalStack:
    """What start() brought up: addresses, and the processes to stop."""

    def __init__(self, project_id):
        self.project_id = project_id
        self.firestore = None  # an emulator.Emulator
        self.auth_host = None  # host:port
        self.storage_url = None  # http://host:port
        self.redis_url = None  # redis://host:port/0
        self._managed = []

    def env(self):
        """The standard environment variables that point a program at this stack."""
        values = {
            "GOOGLE_CLOUD_PROJECT": self.project_id,
            "FIRESTORE_EMULATOR_HOST": self.firestore and self.firestore.host,
            "FIREBASE_AUTH_EMULATOR_HOST": self.auth_host,
            "STORAGE_EMULATOR_HOST": self.storage_url,
            "RATELIMIT_STORAGE_URI": self.redis_url,
        }
        return {k: v for k, v in values.items() if v}

    def app_config(self):
        """The same as create_app() settings (tests build apps in-process)."""
        return {
            "PROJECT_ID": self.project_id,
            "FIRESTORE_EMULATOR_HOST": self.firestore and self.firestore.host,
            "FIRESTORE_EMULATOR_PUBLIC_URL": self.firestore and self.firestore.url,
            "FIREBASE_AUTH_EMULATOR_HOST": self.auth_host,
            "STORAGE_EMULATOR_HOST": self.storage_url,
            "RATELIMIT_STORAGE_URI": self.redis_url or "memory://",
        }

    def describe(self):
        parts = [f"project {self.project_id}"]
        if self.firestore:
            parts.append(f"Firestore {self.firestore.url}")
        if self.auth_host:
            parts.append(f"Auth http://{self.auth_host}")
        if self.storage_url:
            parts.append(f"Storage {self.storage_url}")
        if self.redis_url:
            parts.append(f"rate limits {self.redis_url}")
        return ", ".join(parts)

    def stop(self):
        for managed in reversed(self._managed):
            managed.stop()
        self._managed = []


def _wait_or_relaunch(stack, name, managed, ready, attribute, launch, port, attempts=3):
    """Waits for a part; relaunches it when it died at start (a free port chosen for
    one of its helper ports can be taken by another program before it binds it)."""
    for attempt in range(attempts):
        try:
            processes.wait_until(ready, managed, name, 90)
            return
        except processes.StartFailed as exc:
            if attempt == attempts - 1 or not exc.exited:
                raise
        stack._managed.remove(managed)
        address, managed, ready = launch(port)
        setattr(stack, attribute, address)
        stack._managed.append(managed)


def start(project_id, components=COMPONENTS, ports=None, quiet=True):
    """Starts the missing parts at once, then waits for each to answer.

    ports: {component: port}; None (the default) means firebase.json's port
    when free, 0 a free port.
    """
    ports = ports or {}
    stack = LocalStack(project_id)
    waits = []
    try:
        if "firestore" in components:
            if os.environ.get("FIRESTORE_EMULATOR_HOST"):
                stack.firestore = emulator.start()
            else:
                stack.firestore = emulator.launch(ports.get("firestore"), quiet=quiet)
                stack._managed.append(stack.firestore)
                host = stack.firestore.host
                waits.append((stack.firestore, lambda: emulator.wait_until_ready(host, process=stack.firestore)))
        for name, variable, launch in (
                ("auth", "FIREBASE_AUTH_EMULATOR_HOST", lambda p: _launch_auth(project_id, p, quiet)),
                ("storage", "STORAGE_EMULATOR_HOST", lambda p: _launch_storage(p, quiet)),
                ("redis", "RATELIMIT_STORAGE_URI", lambda p: _launch_redis(p, quiet))):
            if name not in components:
                continue
            attribute = {"auth": "auth_host", "storage": "storage_url", "redis": "redis_url"}[name]
            address = os.environ.get(variable)
            if address:
                setattr(stack, attribute, address)
                continue
            address, managed, ready = launch(ports.get(name))
            setattr(stack, attribute, address)
            stack._managed.append(managed)
            waits.append((managed, lambda n=name, m=managed, r=ready, a=attribute, f=launch:
                          _wait_or_relaunch(stack, n, m, r, a, f, ports.get(n))))
        for _managed, wait in waits:
            wait()
    except BaseException:
        stack.stop()
        raise
    return stack

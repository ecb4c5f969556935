"""The image as the container test builds and runs it: podman, host network.

An image is tagged with a hash of what goes into it (Containerfile, its ignore
file, requirements.txt, server/, client_demo/), so a run whose inputs did not
change reuses the image and only the first build pays minutes. The base is
CONTAINER_BASE_IMAGE when set (python:3.12-slim where a registry is reachable),
else the one scripts/container-base.sh makes from Debian packages.
Where the runtime cannot set rlimits (containers in containers), deploy/containers.conf
and runc (CONTAINER_RUNTIME) are what run; both are the defaults here.
"""

import hashlib
import os
import shutil
import subprocess
import time

import requests

from devstack import processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INPUTS = ("Containerfile", ".dockerignore", "requirements.txt", "server", "client_demo")
LOCAL_BASE = "localhost/trusted-backend-base:bookworm"
CA_BUNDLES = ("PIP_CERT", "SSL_CERT_FILE")


def _env():
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", os.path.join(ROOT, "deploy", "containers.conf"))
    return env


def podman(*args, check=True, timeout=120, **kwargs):
    if not shutil.which("podman"):
        raise RuntimeError("podman is missing: bash scripts/bootstrap.sh --test installs it (Debian's podman, runc)")
    runtime = os.environ.get("CONTAINER_RUNTIME", "runc")
    command = ["podman", *(["--runtime", runtime] if runtime else []), *args]
    return subprocess.run(command, env=_env(), check=check, timeout=timeout, capture_output=True, text=True,
                          **kwargs)


def _input_files():
    for name in INPUTS:
        path = os.path.join(ROOT, name)
        if os.path.isfile(path):
            yield name
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "python", "node_modules"))
            for file in sorted(files):
                if not file.endswith(".pyc"):
                    yield os.path.relpath(os.path.join(folder, file), ROOT)


def inputs_hash(base):
    digest = hashlib.sha256(base.encode())
    for rel in _input_files():
        digest.update(rel.encode() + b"\0")
        with open(os.path.join(ROOT, rel), "rb") as fh:
            digest.update(hashlib.sha256(fh.read()).digest())
    return digest.hexdigest()[:16]


def image():
    """The image of this checkout: built unless one with the same inputs exists."""
    base = os.environ.get("CONTAINER_BASE_IMAGE") or LOCAL_BASE
    tag = f"localhost/trusted-backend:test-{inputs_hash(base)}"
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    if base == LOCAL_BASE:
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "container-base.sh")], env=_env(), check=True,
                       timeout=900)
    secret = next((["--secret", f"id=pip_ca,src={os.environ[v]}"] for v in CA_BUNDLES
                   if os.path.isfile(os.environ.get(v, ""))), [])
    build = podman("build", "--network=host", "--format", "docker", "--build-arg", f"BASE_IMAGE={base}",
                   *secret, "-t", tag, ROOT, check=False, timeout=1800)
    if build.returncode:
        raise RuntimeError(f"podman build failed:\n{build.stdout[-5000:]}\n{build.stderr[-5000:]}")
    return tag


def _env_args(env):
    return [arg for name, value in sorted(env.items()) for arg in ("-e", f"{name}={value}")]


def run_once(tag, env, *command):
    """A one-off command in a fresh container of the image (`podman run --rm`)."""
    return podman("run", "--rm", "--network=host", *_env_args(env), tag, *command, check=False, timeout=300)


class Container:
    """The image's server on free ports of the host network."""

    def __init__(self, tag, env):
        self.port, self.metrics_port = processes.free_port(), processes.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.env = dict(env, PORT=str(self.port), METRICS_PORT=str(self.metrics_port))
        started = time.monotonic()
        self.id = podman("run", "-d", "--network=host", *_env_args(self.env), tag).stdout.strip()
        self._wait_ready(60)
        self.cold_start_seconds = time.monotonic() - started

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.state() != "running":
                break
            time.sleep(0.2)
        raise RuntimeError(f"the container did not become ready:\n{self.logs()[-5000:]}")

    def state(self):
        return podman("inspect", "--format", "{{.State.Status}}", self.id, check=False).stdout.strip()

    def exec(self, *command):
        return podman("exec", self.id, *command, check=False, timeout=300)

    def logs(self):
        """(stdout, stderr) of the container so far."""
        done = podman("logs", self.id, check=False)
        return done.stdout, done.stderr

    def terminate(self, grace=10):
        """SIGTERM as Cloud Run sends it; (exit status, seconds until the container exited)."""
        started = time.monotonic()
        podman("kill", "--signal", "TERM", self.id)
        status = podman("wait", self.id, timeout=grace + 60).stdout.strip()
        return int(status), time.monotonic() - started

    def remove(self):
        podman("rm", "-f", "-t", "0", self.id, check=False)

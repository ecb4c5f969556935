"""The app as real server processes (gunicorn), pointed at the session's local stack.

For tests where "another process" must really be another process: shared rate
limits, logouts that reach every process, the ledger under several workers.
"""

import os
import sys
import time

import requests

from devstack import processes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class GunicornServer:
    def __init__(self, env, workers=1, threads=16):
        self.port = processes.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, **env, BIND=f"127.0.0.1:{self.port}", WEB_WORKERS=str(workers),
                   WEB_THREADS=str(threads))
        self.managed = processes.spawn(
            "gunicorn", [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf",
                         "server:create_app()"], env=env, cwd=ROOT)
        processes.wait_until(self.healthy, self.managed, f"gunicorn on {self.url}", timeout=60)

    def healthy(self):
        """/healthz answered 200 within 1 s."""
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        self.managed.stop()


def stack_env(stack, secret, **settings):
    """Environment for server processes on this stack: same project, key and limits."""
    env = dict(stack.env(), SECRET_KEY=secret, BCRYPT_ROUNDS="4")
    env.update({k: str(v) for k, v in settings.items()})
    return env


def start_servers(count, env, **kwargs):
    servers = []
    try:
        for _ in range(count):
            servers.append(GunicornServer(env, **kwargs))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def wait_for(predicate, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()

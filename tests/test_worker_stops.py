"""A stop reaches a gunicorn worker at any moment of its life (server/edge/buffered.py).

A lost one leaves the worker serving until the master SIGKILLs it after graceful_timeout
("Perhaps out of memory?"): a deploy or a Ctrl-C right after a start then takes 8 s and
kills a process. uvloop drops a signal that comes while the app loads.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from devstack import processes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKERS = 2


@contextlib.contextmanager
def _gunicorn(load_seconds):
    """gunicorn with the project's settings; its whole group is SIGKILLed if a test leaves it running."""
    env = dict(os.environ, BIND=f"127.0.0.1:{processes.free_port()}", WEB_WORKERS=str(WORKERS),
               SLOW_APP_LOAD_SECONDS=str(load_seconds), LOG_FORMAT="text")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf", "--pythonpath", "tests",
         "slow_loading_app:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _read_until(proc, text, count):
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if sum(text in seen for seen in lines) == count:
            return lines
    raise AssertionError("".join(lines))


@pytest.mark.parametrize("sig, whole_group", [
    (signal.SIGTERM, False),  # a deploy, devstack.run: the master, which TERMs its workers
    (signal.SIGINT, True),  # a terminal's Ctrl-C: the master and every worker
])
def test_a_stop_while_the_app_loads_ends_the_workers_at_once(sig, whole_group):
    with _gunicorn(load_seconds=3) as proc:
        lines = _read_until(proc, "Booting worker", WORKERS)
        time.sleep(1)  # both workers well inside loading the app
        started = time.monotonic()
        os.killpg(proc.pid, sig) if whole_group else proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=30)
        took = time.monotonic() - started
    out = "".join(lines) + rest
    assert "SIGKILL" not in out, out
    assert "ASGI server listening" not in out, out  # stopped before serving anything
    assert took < 2.5, (took, out)  # not the app's load time, nor graceful_timeout (8 s)
    assert proc.returncode == 0, out


def test_a_stop_after_the_app_loaded_is_graceful():
    with _gunicorn(load_seconds=0) as proc:
        lines = _read_until(proc, "ASGI server listening", WORKERS)
        proc.send_signal(signal.SIGTERM)  # the master alone: it stops the workers
        rest, _ = proc.communicate(timeout=30)
    out = "".join(lines) + rest
    assert "SIGKILL" not in out and proc.returncode == 0, out
    assert out.count("Worker shutting down") == WORKERS, out  # the loop's handler, not an exit at once

"""Child processes of the local harness: free ports, start, wait until ready, stop.

Every process is started in its own session (so stopping it stops its whole
group, wrappers included), gets SIGTERM if this program dies without
cleaning up (Linux PR_SET_PDEATHSIG), and is stopped at interpreter exit.
"""

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def port_free(port, host="127.0.0.1"):
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def choose_port(port, preferred):
    """`preferred` when port is None and it is free; a free port when port is 0 or taken."""
    if port is None:
        return preferred if port_free(preferred) else free_port()
    return free_port() if port == 0 else port


class StartFailed(RuntimeError):
    def __init__(self, message, exited):
        super().__init__(message)
        self.exited = exited  # the process died (rather than never answering)


class ManagedProcess:
    """A process this program started (or None for a service it was given)."""

    def __init__(self, name, process=None, log_path=None):
        self.name = name
        self.process = process
        self.log_path = log_path

    def exited(self):
        return self.process is not None and self.process.poll() is not None

    def stop(self):
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass


def spawn(name, command, quiet=True, env=None, cwd=None):
    """Starts `command` as a managed child; its output goes to a log file when quiet."""
    log_file = tempfile.NamedTemporaryFile(prefix=f"{name}-", suffix=".log", delete=False)
    process = subprocess.Popen(
        command, stdout=log_file if quiet else None, stderr=subprocess.STDOUT if quiet else None,
        stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent,
        env=env, cwd=cwd)
    managed = ManagedProcess(name, process, log_file.name)
    atexit.register(managed.stop)
    _stop_on_sigterm(managed)
    return managed


def wait_until(ready, managed, what, timeout=60.0):
    """Polls `ready()` until it is true; fails early when the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if managed is not None and managed.exited():
            _fail(managed, f"{what} exited with status {managed.process.returncode}", exited=True)
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.2)
    _fail(managed, f"{what} did not answer within {timeout:.0f}s", exited=False)


def _fail(managed, message, exited):
    if managed is not None:
        managed.stop()
        if managed.log_path:
            sys.stderr.write(f"{managed.name} log: {managed.log_path}\n")
            message += "\n" + _tail(managed.log_path)
    raise StartFailed(message, exited)


def _tail(path, lines=15):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


def _die_with_parent():
    """Linux: the child gets SIGTERM if this process dies without cleaning up."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop_on_sigterm(managed):
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum, frame):
        managed.stop()
        if callable(previous):
            previous(signum, frame)
        else:
            raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        pass

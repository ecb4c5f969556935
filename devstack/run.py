"""The run command: the local stack (unless a datastore is configured), demo data, API and client.

    python -m devstack.run [--port 5000] [--no-demo-data]

With GOOGLE_APPLICATION_CREDENTIALS set nothing local is started and the API
serves the configured project.

Ctrl-C (SIGINT) or SIGTERM at any moment, start-up included, stops what was
started and nothing else: the first one ends the current step, later ones
are ignored while stopping so that the stopping is never cut short. Every
child runs in its own session (processes.spawn), so a terminal's Ctrl-C
reaches only this process, which then stops the API (gunicorn's graceful
stop) and the emulators in order.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

from . import emulator, processes, stack

# The local stack's project: a demo- id never reaches the cloud.
PROJECT_ID = "demo-trusted-backend"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def say(message):
    print(message, flush=True)


def _interrupt(signum, frame):
    """The first stop signal: ends whatever step is running (a KeyboardInterrupt)."""
    _hold_signals()
    raise KeyboardInterrupt


def _hold_signals():
    def still_stopping(signum, frame):
        say("still stopping…")
    for sig in STOP_SIGNALS:
        signal.signal(sig, still_stopping)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--no-demo-data", action="store_true")
    args = parser.parse_args(argv)

    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    os.environ.setdefault("GOOGLE_CLOUD_PROJECT", PROJECT_ID)
    local = api = None
    stopped_by_signal = False
    try:
        if not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
            say("starting the local stack: Firestore, Auth and Storage emulators, redis…")
            started = time.monotonic()
            try:
                local = stack.start(os.environ["GOOGLE_CLOUD_PROJECT"])
            except emulator.EmulatorNotFound as exc:
                sys.exit(str(exc))
            os.environ.update(local.env())
            _port, rules = emulator.firebase_settings()
            emulator.load_rules(local.firestore.host, local.project_id, rules)
            say(f"Firestore emulator at {local.firestore.url} ({local.describe()}) "
                f"in {time.monotonic() - started:.1f} s")
        # Demo users have a published password: never seed a real project.
        if local is not None and not args.no_demo_data:
            say("seeding demo data…")
            _seed()
        say("starting the API (gunicorn)…")
        env = dict(os.environ, BIND=f"127.0.0.1:{args.port}")
        api = processes.spawn(
            "api", [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf", "server:create_app()"],
            quiet=False, env=env)
        say(f"API and demo client at http://127.0.0.1:{args.port}/  (Ctrl-C stops everything)")
        api.process.wait()
    except KeyboardInterrupt:
        stopped_by_signal = True
        say("stopping…")
    finally:
        _hold_signals()
        if api is not None:
            _stop_api(api)
        if local is not None:
            local.stop()
            say("emulators stopped")
        # Python puts the default handler back while it finalizes: a stop signal then would
        # kill the process (status -2) after everything was stopped; there is nothing left to stop.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
    if stopped_by_signal:
        # Everything this command started is stopped. Leave without the interpreter's
        # finalization (the seeding app's gRPC threads): under load a stop during seeding still
        # ended with status -2 there once in a while, after every part had stopped.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _seed():
    from server import create_app

    from . import demo_data

    app = create_app()
    try:
        demo_data.seed(app, say)
    finally:
        app.extensions["shutdown"]()


def _stop_api(api, timeout=30):
    """gunicorn's graceful stop: SIGTERM to the master alone, which stops its workers
    (a worker still loading the app exits at once: server/edge/buffered.py)."""
    process = api.process
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    api.stop()  # the group, should anything be left


if __name__ == "__main__":
    main()

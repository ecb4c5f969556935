"""The run command: the local stack (unless a datastore is configured), demo data, API and client.

    python -m devstack.run [--port 5000] [--no-demo-data]

With GOOGLE_APPLICATION_CREDENTIALS set nothing local is started and the API
serves the configured project.
"""

import argparse
import os
import signal
import subprocess
import sys

from . import emulator, stack

# The local stack's project: a demo- id never reaches the cloud.
PROJECT_ID = "demo-trusted-backend"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--no-demo-data", action="store_true")
    args = parser.parse_args(argv)

    os.environ.setdefault("GOOGLE_CLOUD_PROJECT", PROJECT_ID)
    local = None
    if not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        try:
            local = stack.start(os.environ["GOOGLE_CLOUD_PROJECT"])
        except emulator.EmulatorNotFound as exc:
            sys.exit(str(exc))
        os.environ.update(local.env())
        _port, rules = emulator.firebase_settings()
        emulator.load_rules(local.firestore.host, local.project_id, rules)
        print(f"Firestore emulator at {local.firestore.url} ({local.describe()})", flush=True)
    try:
        # Demo users have a published password: never seed a real project.
        if local is not None and not args.no_demo_data:
            from server import create_app

            from . import demo_data

            app = create_app()
            try:
                demo_data.seed(app, print)
            finally:
                app.extensions["shutdown"]()
        env = dict(os.environ, BIND=f"127.0.0.1:{args.port}")
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf", "server:create_app()"],
            env=env)
        print(f"API and demo client at http://127.0.0.1:{args.port}/  (Ctrl-C stops everything)", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: server.terminate())
        try:
            server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait(timeout=15)
    finally:
        if local is not None:
            local.stop()
            print("emulators stopped", flush=True)


if __name__ == "__main__":
    main()

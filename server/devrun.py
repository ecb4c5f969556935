"""The run command: emulator (unless a datastore is configured), demo data, API and client.

    python -m server.devrun [--port 5000] [--no-demo-data]
"""

import argparse
import os
import signal
import subprocess
import sys

from . import config, emulator


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--no-demo-data", action="store_true")
    args = parser.parse_args(argv)

    os.environ.setdefault("GOOGLE_CLOUD_PROJECT", config.DEFAULT_PROJECT_ID)
    emu = None
    if not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        try:
            emu = emulator.start(quiet=True)
        except emulator.EmulatorNotFound as exc:
            sys.exit(str(exc))
        os.environ["FIRESTORE_EMULATOR_HOST"] = emu.host
        _port, rules = emulator.firebase_settings()
        emulator.load_rules(emu.host, os.environ["GOOGLE_CLOUD_PROJECT"], rules)
        print(f"Firestore emulator at http://{emu.host} (project {os.environ['GOOGLE_CLOUD_PROJECT']})",
              flush=True)
    try:
        # Demo users have a published password: never seed a real project.
        if emu is not None and not args.no_demo_data:
            from . import create_app, demo

            app = create_app()
            with app.app_context():
                demo.seed(print)
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
        if emu is not None:
            emu.stop()
            print("emulator stopped", flush=True)


if __name__ == "__main__":
    main()

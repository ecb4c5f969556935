"""A Flask app that takes SLOW_APP_LOAD_SECONDS to load, as the real one can under load
(tests/test_worker_stops.py stops gunicorn while its workers load it)."""

import os
import time

from flask import Flask


def create_app():
    time.sleep(float(os.environ.get("SLOW_APP_LOAD_SECONDS", "3")))
    app = Flask(__name__)
    app.get("/healthz")(lambda: {"status": "ok"})
    return app

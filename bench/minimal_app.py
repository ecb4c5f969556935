"""The HTTP ceiling: a minimal Flask endpoint that does no datastore work.

Served by the same gunicorn settings as the real server
(`gunicorn -c python:server.gunicorn_conf 'bench.minimal_app:create_app()'`)
and driven by the same client with the same requests, it measures what
Flask, gunicorn and the client cost on this machine with nothing behind them.
"""

import uuid

from flask import Flask, request


def create_app():
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.post("/api/v1/transfers")
    def transfer():
        body = request.get_json()
        return {"transfer": {"id": uuid.uuid4().hex, "to_username": body["to"], "amount": body["amount"],
                             "kind": "transfer", "status": "posted"}}, 201

    return app

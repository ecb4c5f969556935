"""gunicorn settings: `gunicorn -c python:server.gunicorn_conf 'server:create_app()'`.

One worker process by default: the ledger's group-commit writer funnels all
writes of a process through one Firestore transaction at a time, and two
processes would contend for the same hot account documents. Threads carry
the concurrency; raise WEB_WORKERS when the ledger runs on production
Firestore, where cross-process contention is retried, not deadlocked.
"""

import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "64"))
backlog = 2048
timeout = 60
graceful_timeout = 10
keepalive = 30
accesslog = os.environ.get("ACCESS_LOG") or None


def worker_exit(server, worker):
    # Stop the ledger writer (answering anything still queued) and close the datastore.
    shutdown = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("shutdown")
    if shutdown:
        shutdown()

"""gunicorn settings: `gunicorn -c python:server.gunicorn_conf 'server:create_app()'`.

One worker process per core by default (WEB_WORKERS). Each worker has its
own group-commit ledger writer; writers of different processes never lock
anything (optimistic batches with preconditions), so a race between them
costs one fast retry, not a lock wait. Threads carry the concurrency inside
a worker. Rate limits need a shared RATELIMIT_STORAGE_URI with more than one.
"""

import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_WORKERS") or len(os.sched_getaffinity(0)) or 1)
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

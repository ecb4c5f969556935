"""gunicorn settings: `gunicorn -c python:server.gunicorn_conf 'server:create_app()'`.

One worker process per core by default (WEB_WORKERS). With a shared redis
(RATELIMIT_STORAGE_URI, or LEDGER_CHANNEL_URI) one process of the whole
deployment holds the ledger writer's lease and the others hand it their
ledger operations (server/ledger/remote.py); without one, each worker writes
itself, and writers of different processes never lock anything (optimistic
batches with preconditions), so a race between them costs one fast retry.
Threads carry the concurrency inside a worker. Rate limits need a shared
RATELIMIT_STORAGE_URI with more than one.

Requests are read by an asyncio worker before a thread runs the app
(server/edge/buffered.py): slow clients hold a connection, never a thread, so
/healthz keeps answering while hundreds of them trickle their headers.
"""

import ctypes
import ctypes.util
import os
import shutil
import tempfile

from server.edge.buffered import hold_stop_signals, release_stop_signals
from server.observability import logs, metrics


def _return_large_blocks_to_the_system(threshold=1 << 20):
    """glibc raises its mmap threshold each time a large block is freed, after which
    big blocks (decoded images, upload buffers) come from its heaps and stay in the
    process after use. A fixed threshold gives every block of 1 MiB or more back when
    freed: 8 clients uploading 40-megapixel images peaked at 1.07 GiB and kept 0.76 GiB
    without it, 0.43 GiB and back to 0.12 GiB with it (bench/photos_memory.py).
    Set in the master, inherited by the forked workers; glibc's own
    MALLOC_MMAP_THRESHOLD_ variable, when set, wins.
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(-3, threshold)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


_return_large_blocks_to_the_system()

# HOST=0.0.0.0 in the container image; PORT is what Cloud Run sets.
bind = os.environ.get("BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_WORKERS") or len(os.sched_getaffinity(0)) or 1)
worker_class = "server.edge.buffered.BufferedWSGIWorker"
# libuv's loop under the asyncio worker (requirements.txt): the minimal request's server CPU
# 0.37 -> 0.32 ms against asyncio's own (bench/RESULTS.md). Without it gunicorn falls back to
# asyncio's, with a warning.
asgi_loop = "uvloop"
threads = int(os.environ.get("WEB_THREADS", "64"))  # per worker: the app's thread pool
# Open connections per worker (idle, slow or waiting for a thread): cheap in the asyncio worker.
worker_connections = int(os.environ.get("WEB_CONNECTIONS", "4096"))
backlog = 2048
# WEB_REUSE_PORT=true: each worker its own listening socket (SO_REUSEPORT), and the kernel spreads
# new connections over the workers evenly. Off by default: closing such a socket (a worker that ends:
# a deploy, a restart, the ledger writer's worker giving HTTP up, server/edge/buffered.py) resets the
# connections queued on it and not yet accepted (unless net.ipv4.tcp_migrate_req=1), where one shared
# socket loses nothing. Measured (bench/RESULTS.md): on one shared socket the asyncio worker that wakes
# first accepts a whole burst, and 16 keep-alive clients all landed on one of 4 workers.
reuse_port = os.environ.get("WEB_REUSE_PORT", "false").lower() == "true"
timeout = 60
graceful_timeout = 8  # under Cloud Run's 10 s between SIGTERM and SIGKILL
# The asyncio worker waits for open connections when it stops (up to graceful_timeout, then the
# master kills it before worker_exit runs): an idle kept-alive one must close well before that.
keepalive = 5
# gunicorn's largest: every path and query the OpenAPI document allows fits, percent-encoded
# (tests/test_openapi_schemas.py); past it gunicorn answers 414 before the app.
limit_request_line = 8190
accesslog = os.environ.get("ACCESS_LOG") or None
logger_class = "server.observability.gunicorn_logger.GunicornLogger"  # no access atoms built for nothing
# LOG_FORMAT=json: gunicorn's own lines and the app's as JSON on stdout (Cloud Logging).
logconfig_dict = logs.gunicorn_logconfig(os.environ.get("LOG_FORMAT") or logs.default_format(), bool(accesslog))

# Metrics: each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (set
# before any worker counts anything) and the master serves their sum on METRICS_PORT.
METRICS_PORT = os.environ.get("METRICS_PORT")
if METRICS_PORT:
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="prometheus-"))


def on_starting(server):
    os.register_at_fork(after_in_parent=release_stop_signals)
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:  # values of an earlier run would be summed in
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def when_ready(server):
    if METRICS_PORT:
        host = os.environ.get("METRICS_HOST", "127.0.0.1")
        port = metrics.serve(host, int(METRICS_PORT))
        server.log.info("metrics on http://%s:%s/metrics", host, port)


def child_exit(server, worker):
    metrics.process_exited(worker.pid)


def pre_fork(server, worker):
    # Until the new worker has its own handlers (server/edge/buffered.py); the master's
    # mask comes back right after the fork (on_starting).
    hold_stop_signals()


def worker_exit(server, worker):
    # Stop the ledger writer (answering anything still queued) and close the datastore.
    shutdown = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("shutdown")
    if shutdown:
        shutdown()

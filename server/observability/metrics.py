"""Prometheus metrics of a server process, summed over gunicorn's workers.

The hooks below are what the rest of the server calls; prometheus_client is
imported at the first one, so that gunicorn's settings can set
PROMETHEUS_MULTIPROC_DIR before (each worker then writes its values to files
there and the master serves the sum: serve()). Without that variable the
values live in this process (tests, `flask run`).

Exposed on a port of their own (METRICS_PORT, on 127.0.0.1 unless
METRICS_HOST says otherwise), never on the public port.
"""

import os
import threading

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 450)

_lock = threading.Lock()
_metrics = None


class _Metrics:
    def __init__(self):
        from prometheus_client import Counter, Histogram

        self.requests = Counter("http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
        self.latency = Histogram("http_request_duration_seconds", "Time to answer an HTTP request.",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS)
        self.ledger_operations = Counter("ledger_operations_total", "Ledger operations answered by the writer.",
                                         ["outcome"])
        self.ledger_commits = Counter("ledger_commits_total", "Ledger batches committed (one WriteBatch each).")
        self.ledger_ops_per_commit = Histogram("ledger_operations_per_commit", "Operations settled by a commit.",
                                               buckets=BATCH_BUCKETS)
        self.ledger_conflicts = Counter("ledger_conflicts_total",
                                        "Ledger rounds that met another writer's commit.")
        self.ledger_retries = Counter("ledger_retries_total", "Ledger operations sent to another round.",
                                      ["reason"])
        self.ledger_queue_wait = Histogram("ledger_queue_wait_seconds",
                                           "From a ledger operation's arrival to its first round.",
                                           buckets=LATENCY_BUCKETS)
        self.ledger_unavailable = Counter("ledger_unavailable_total",
                                          "Ledger operations answered 503 (nothing written; retry with the same key).")
        self.messages_sent = Counter("messages_sent_total", "Messages sent.")
        self.uploads = Counter("photo_uploads_total", "Photo uploads, accepted or refused (by error code).",
                               ["outcome", "reason"])
        self.rate_limited = Counter("rate_limit_refusals_total", "Requests refused by a rate limit (429).",
                                    ["route"])


def _get():
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = _Metrics()
    return _metrics


# --- hooks ------------------------------------------------------------------

def request_done(method, route, status, seconds):
    m = _get()
    m.requests.labels(method, route, str(status)).inc()
    m.latency.labels(method, route, str(status)).observe(seconds)


def upload(accepted, reason=None):
    _get().uploads.labels("accepted" if accepted else "refused", reason or "").inc()


def message_sent():
    _get().messages_sent.inc()


def rate_limited(route):
    _get().rate_limited.labels(route).inc()


def ledger_queued(seconds):
    """An operation's first round starts, `seconds` after it was submitted."""
    _get().ledger_queue_wait.observe(seconds)


def ledger_round(settled, conflicts):
    """A round of the writer: `settled` operations answered by its commit; did it meet other writers?"""
    m = _get()
    if settled:
        m.ledger_commits.inc()
        m.ledger_ops_per_commit.observe(settled)
    if conflicts:
        m.ledger_conflicts.inc()


def ledger_answered(status):
    """An operation answered: its HTTP status (201/200 done, 4xx refused, 503 unavailable, 500)."""
    m = _get()
    m.ledger_operations.labels(_OUTCOMES.get(status // 100, "failed")).inc()
    if status == 503:
        m.ledger_unavailable.inc()


_OUTCOMES = {2: "done", 4: "refused"}


def ledger_retry(reason):
    """An operation goes to another round: "conflict", "transient" (a datastore error) or "replay"
    (a key assumed new whose record its commit met: it is read and answered next round)."""
    _get().ledger_retries.labels(reason).inc()


# --- exposition ---------------------------------------------------------------

def registry():
    """What to expose: the sum of every worker's files in multiprocess mode, else this process's."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    summed = CollectorRegistry()
    multiprocess.MultiProcessCollector(summed)
    return summed


def serve(host, port):
    """Starts the exposition server (a thread of this process); returns the bound port."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=registry())
    return server.server_port


def process_exited(pid):
    """gunicorn's child_exit: a dead worker's live gauges go (its counters stay summed)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)

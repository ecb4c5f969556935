"""What an operator sees of a running server: its logs (logs.py) and its metrics (metrics.py).

init_app times every request, writes one request log line (Cloud Logging's
httpRequest shape in JSON mode) and counts it by route and status. Nothing
here imports prometheus_client before the first metric is used, so gunicorn's
settings can name the multiprocess folder first.
"""

import logging
import time

from flask import g, request

from . import logs, metrics

log = logging.getLogger("server.requests")

# Requests whose outcome is a product metric of its own (the rule as the URL map spells it).
_UPLOAD = ("POST", "/api/v1/photos")
_MESSAGE = ("POST", "/api/v1/conversations/<conversation_id>/messages")


def _start_timer():
    g.started = time.perf_counter()


def _error_code(response):
    body = response.get_json(silent=True) if response.is_json else None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code", "unknown") if isinstance(error, dict) else "unknown"


def _observe(response):
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    req = request._get_current_object()  # once: each use of the proxy costs a context lookup
    method, rule, status = req.method, req.url_rule.rule if req.url_rule else "unmatched", response.status_code
    metrics.request_done(method, rule, status, seconds)
    if (method, rule) == _UPLOAD:
        metrics.upload(status == 201, None if status == 201 else _error_code(response))
    elif (method, rule) == _MESSAGE and status == 201:
        metrics.message_sent()
    if status == 429:
        metrics.rate_limited(rule)
    # The path only: a query string is the caller's and may carry anything.
    environ = req.environ
    log.info("%s %s %s", method, req.path, status, extra={"httpRequest": {
        "requestMethod": method, "requestUrl": req.path, "status": status,
        "latency": f"{seconds:.6f}s", "responseSize": str(response.calculate_content_length() or 0),
        "userAgent": environ.get("HTTP_USER_AGENT", "")[:200], "remoteIp": req.remote_addr,
        "protocol": environ.get("SERVER_PROTOCOL")}})
    return response


def init_app(app):
    """Registered first, so its timer starts before and its log line is written after every other hook."""
    logs.configure(app.config["LOG_FORMAT"])
    app.before_request(_start_timer)
    app.after_request(_observe)

"""Log lines: plain text on a terminal, one JSON object per line in Cloud Logging's shape otherwise.

Cloud Logging reads `severity`, `message`, `httpRequest`, `time` and
`logging.googleapis.com/trace` from a JSON line on stdout
(https://cloud.google.com/logging/docs/structured-logging). Every line logged
while a request is served carries its request id and, when the platform sent
X-Cloud-Trace-Context, its trace, so one request's lines group together.
What is logged never includes a request's body, headers or query string.
"""

import datetime as dt
import json
import logging
import re
import sys

from flask import current_app, g, has_request_context, request

# TRACE_ID/SPAN_ID;o=OPTIONS (https://cloud.google.com/trace/docs/trace-context)
_TRACE_CONTEXT = re.compile(r"([0-9a-fA-F]{32})(?:/([0-9]{1,20}))?(?:;o=[0-9]+)?")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def default_format(stream=None):
    """LOG_FORMAT when unset: text for a person at a terminal, JSON for a log collector."""
    stream = stream or sys.stdout
    return "text" if hasattr(stream, "isatty") and stream.isatty() else "json"


def request_fields():
    """The fields that tie a line to the request being served (none outside one)."""
    if not has_request_context():
        return {}
    fields = {}
    request_id = g.get("request_id")
    if request_id:
        fields["request_id"] = request_id
        fields["logging.googleapis.com/labels"] = {"request_id": request_id}
    trace = request.environ.get("HTTP_X_CLOUD_TRACE_CONTEXT")
    match = _TRACE_CONTEXT.fullmatch(trace) if trace else None
    if match:
        fields["logging.googleapis.com/trace"] = f"projects/{current_app.config['PROJECT_ID']}/traces/{match[1]}"
        if match[2]:
            fields["logging.googleapis.com/spanId"] = match[2]
    return fields


# One encoder for every line: json.dumps with `default` builds a new one each call.
_encode = json.JSONEncoder(default=str).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per record, in the shape Cloud Logging's agent parses."""

    def format(self, record):
        entry = {
            "severity": record.levelname if record.levelname != "WARN" else "WARNING",
            "message": record.getMessage(),
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat().replace("+00:00", "Z"),
            "logger": record.name,
            "process": record.process,
        }
        http_request = getattr(record, "httpRequest", None)
        if http_request:
            entry["httpRequest"] = http_request
        entry.update(request_fields())
        if record.exc_info:
            entry["message"] += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            entry["message"] += "\n" + self.formatStack(record.stack_info)
        return _encode(entry)


def check_format(fmt):
    if fmt not in ("json", "text"):
        raise ValueError(f"LOG_FORMAT must be json or text, not {fmt!r}")
    return fmt


def configure(fmt):
    """Like logging.basicConfig: does nothing when logging is set up already (gunicorn, pytest, an embedder).

    On stderr: a command's stdout is its output (`flask audit verify` prints its report there).
    """
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if check_format(fmt) == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def gunicorn_logconfig(fmt, access=False):
    """gunicorn's logconfig_dict: its own lines and the app's through one JSON handler on stdout.

    gunicorn's access lines (with query strings) only when asked for (ACCESS_LOG): the
    app's own request line already carries httpRequest.
    """
    if check_format(fmt) != "json":
        return {}  # gunicorn's default text lines
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": ["json"]},
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
                    "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": access}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
    }

"""Production log lines: the shape Cloud Logging reads, tied to the request and its trace."""

import io
import json
import logging
import os
import runpy
from types import SimpleNamespace

import pytest
from flask import Flask, g

from server.observability import logs
from server.observability.gunicorn_logger import GunicornLogger


def _line(app, headers=None, **extra):
    record = logging.LogRecord("server.requests", logging.WARNING, __file__, 1, "GET %s %s", ("/x", 200), None)
    record.__dict__.update(extra)
    with app.test_request_context("/x", headers=headers or {}):
        g.request_id = "req-1"
        return json.loads(logs.JsonFormatter().format(record))


def test_a_request_line_carries_severity_http_request_request_id_and_trace():
    app = Flask(__name__)
    app.config["PROJECT_ID"] = "my-project"
    http = {"requestMethod": "GET", "requestUrl": "/x", "status": 200, "latency": "0.001000s"}
    line = _line(app, {"X-Cloud-Trace-Context": "105445aa7843bc8bf206b12000100000/1;o=1"}, httpRequest=http)
    assert line["severity"] == "WARNING" and line["message"] == "GET /x 200"
    assert line["httpRequest"] == http
    assert line["request_id"] == "req-1" and line["logging.googleapis.com/labels"] == {"request_id": "req-1"}
    assert line["logging.googleapis.com/trace"] == "projects/my-project/traces/105445aa7843bc8bf206b12000100000"
    assert line["logging.googleapis.com/spanId"] == "1"


@pytest.mark.parametrize("header", ["", "nothex/1", "105445aa7843bc8bf206b12000100000 /1", "a" * 33])
def test_a_malformed_trace_header_is_left_out(header):
    app = Flask(__name__)
    app.config["PROJECT_ID"] = "p"
    assert "logging.googleapis.com/trace" not in _line(app, {"X-Cloud-Trace-Context": header})


def test_outside_a_request_a_line_has_no_request_fields():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "booting", (), None)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["severity"] == "INFO" and "request_id" not in line and line["time"].endswith("Z")


def test_text_on_a_terminal_json_elsewhere_and_nothing_else():
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    assert logs.default_format(Terminal()) == "text"
    assert logs.default_format(io.StringIO()) == "json"
    assert logs.gunicorn_logconfig("text") == {}
    assert logs.gunicorn_logconfig("json")["handlers"]["json"]["stream"] == "ext://sys.stdout"
    assert not logs.gunicorn_logconfig("json")["loggers"]["gunicorn.access"]["propagate"]  # no query strings
    with pytest.raises(ValueError):
        logs.gunicorn_logconfig("xml")


@pytest.mark.parametrize("access_log, syslog, enabled", [(None, False, False), ("-", False, True), (None, True, True)])
def test_gunicorn_builds_access_lines_only_when_asked(monkeypatch, access_log, syslog, enabled):
    """Our JSON logconfig_dict alone must not make gunicorn build each request's atoms for nothing;
    ACCESS_LOG (or syslog, as in gunicorn) still asks for them."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    if access_log:
        monkeypatch.setenv("ACCESS_LOG", access_log)
    else:
        monkeypatch.delenv("ACCESS_LOG", raising=False)
    conf = runpy.run_path(os.path.join(os.path.dirname(logs.__file__), "..", "gunicorn_conf.py"))
    cfg = SimpleNamespace(accesslog=conf["accesslog"], logconfig_dict=conf["logconfig_dict"], logconfig=None,
                          logconfig_json=None, syslog=syslog, disable_redirect_access_to_syslog=False)
    assert cfg.logconfig_dict  # gunicorn's own rule would count this as asking
    assert conf["logger_class"] == "server.observability.gunicorn_logger.GunicornLogger"
    assert GunicornLogger.asks_for_access_lines(cfg) is enabled

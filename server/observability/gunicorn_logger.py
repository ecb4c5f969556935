"""gunicorn's logger class (server/gunicorn_conf.py `logger_class`), apart from logs.py so that
the app itself never imports gunicorn."""

from gunicorn.glogging import Logger


class GunicornLogger(Logger):
    """gunicorn's own logger, but a logconfig_dict (ours, for JSON lines: logs.gunicorn_logconfig)
    no longer counts as asking for access lines: gunicorn then built each request's log atoms
    (~3% of a transfer's CPU) for an access logger that writes nothing. ACCESS_LOG, a log config
    file and syslog still ask, as in gunicorn. (A logger class of our own means gunicorn does not
    switch to its statsd logger by itself: the server's metrics are Prometheus, METRICS_PORT.)"""

    @staticmethod
    def asks_for_access_lines(cfg):
        return bool(cfg.accesslog or cfg.logconfig or cfg.logconfig_json
                    or (cfg.syslog and not cfg.disable_redirect_access_to_syslog))

    def setup(self, cfg):
        super().setup(cfg)
        self._access_lines = self.asks_for_access_lines(cfg)  # once per (re)load, as gunicorn does, not per request

    @property
    def access_log_enabled(self):
        return self._access_lines

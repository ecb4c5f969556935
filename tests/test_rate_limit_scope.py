"""Which requests go through flask-limiter (server/edge/limits.py): every view a limit
decorates, none of the others (the limiter would only find, each time, that none applies)."""

import pytest

from server.edge import limits


@pytest.mark.parametrize("method, path, skipped", [
    ("POST", "/api/v1/auth/login", False),
    ("POST", "/api/v1/auth/signup", False),
    ("POST", "/api/v1/posts", False),
    ("POST", "/api/v1/transfers", True),
    ("GET", "/api/v1/me", True),
    ("GET", "/healthz", True),
    ("GET", "/api/v1/no-such-path", False),  # no view: left to the limiter, which exempts it itself
])
def test_only_views_without_a_limit_skip_the_limiter(app, method, path, skipped):
    with app.test_request_context(path, method=method):
        assert limits._no_limit_applies() is skipped


def test_a_limit_for_every_view_puts_every_request_through_the_limiter(app, monkeypatch):
    monkeypatch.setitem(app.extensions, limits._UNLIMITED, None)  # as init_app leaves it then
    with app.test_request_context("/healthz"):
        assert limits._no_limit_applies() is False

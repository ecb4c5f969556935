"""Rate limits (flask-limiter): login per address and per username, content per user."""

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.constants import ConfigVars
from flask_limiter.util import get_qualified_name, get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

# app.extensions key: {endpoint: True when no limit applies to it}, or None where every request
# must go through the limiter (limits configured for every view).
_UNLIMITED = "unlimited_endpoints"
_LIMITS_ON_EVERY_VIEW = (ConfigVars.DEFAULT_LIMITS, ConfigVars.APPLICATION_LIMITS, ConfigVars.META_LIMITS)


def rate_limited(view):
    """Whether a flask-limiter limit decorates the view."""
    # flask-limiter keeps the qualified names of the views it limits (no public accessor).
    return get_qualified_name(view) in limiter._marked_for_limiting  # noqa: SLF001


@limiter.request_filter
def _no_limit_applies():
    """Exempts a request to a view no limit decorates, where no limit covers every view.

    flask-limiter otherwise resolves, for every request, that such a view has no limit (about
    20 µs of the 65 µs it cost a /healthz here; its hooks take the rest: bench/RESULTS.md).
    Every limit of this server decorates its view (limiter.limit), and a decorated view checks
    its limits itself.
    """
    verdicts = current_app.extensions.get(_UNLIMITED)
    if verdicts is None:
        return False
    endpoint = request.endpoint
    verdict = verdicts.get(endpoint)
    if verdict is None:
        view = current_app.view_functions.get(endpoint)
        manager = limiter.limit_manager
        verdict = verdicts[endpoint] = bool(
            view is not None and not rate_limited(view) and not manager.has_hints(endpoint)
            and not manager.default_limits and not manager.application_limits
            and not (request.blueprint and manager.blueprint_limits(current_app, request.blueprint)))
    return verdict


def username_key():
    body = request.get_json(silent=True)
    name = body.get("username") if isinstance(body, dict) else None
    return f"user:{name.lower()}" if isinstance(name, str) else f"addr:{get_remote_address()}"


def caller_key():
    user = g.get("user")
    return f"uid:{user.id}" if user else f"addr:{get_remote_address()}"


def login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def login_ip_limit():
    return current_app.config["LOGIN_IP_RATE_LIMIT"]


def signup_limit():
    return current_app.config["SIGNUP_RATE_LIMIT"]


def content_limit():
    return current_app.config["CONTENT_RATE_LIMIT"]


def message_limit():
    return current_app.config["MESSAGE_RATE_LIMIT"]


def init_app(app):
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    every_view = any(app.config.get(name) for name in _LIMITS_ON_EVERY_VIEW)
    app.extensions[_UNLIMITED] = None if every_view else {}

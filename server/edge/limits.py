"""Rate limits (flask-limiter): login per address and per username, content per user."""

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


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

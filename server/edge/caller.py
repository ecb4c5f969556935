"""The caller at the HTTP edge: routes ask here who is calling.

create_app (server/__init__.py) wires the authenticator (auth's service) into
`app.extensions["authenticate"]`: a function of the Authorization header that
returns the `Caller` (kernel/caller.py) or None, or raises unauthenticated.
The edge attaches the request's `Origin` and keeps the result on `g` for the
rest of the request.
"""

from flask import current_app, g, request

from ..kernel.caller import Origin, is_admin
from ..kernel.errors import forbidden, unauthenticated


def request_origin() -> Origin:
    """The request id (web.py assigns one to every request) and the client's address."""
    return Origin(g.get("request_id"), request.remote_addr)


def current_caller():
    """The caller behind the request's bearer token, or None when there is none."""
    if "user" not in g:
        caller = current_app.extensions["authenticate"](request.headers.get("Authorization", ""))
        g.user = caller.acting_from(request_origin()) if caller is not None else None
    return g.user


def require_user():
    user = current_caller()
    if user is None:
        raise unauthenticated()
    return user


def require_admin():
    user = require_user()
    if not is_admin(user):
        raise forbidden("Administrators only.")
    return user


def enforce_view_role():
    """before_request: 401/403 come before any 4xx about the body."""
    view = current_app.view_functions.get(request.endpoint)
    role = getattr(view, "required_role", None)
    if role == "admin":
        require_admin()
    elif role == "user":
        require_user()

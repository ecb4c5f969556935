"""Request plumbing: request ids, the JSON-body guard, security headers,
health checks and the demo client's static files."""

import logging
import os
import re
import uuid
from typing import Literal

from flask import current_app, g, jsonify, request, send_from_directory
from flask.sessions import SessionInterface
from flask_openapi3 import Tag
from pydantic import BaseModel, Field
from werkzeug.exceptions import MethodNotAllowed, NotFound

from .. import config
from ..datastore import get_datastore
from ..kernel.errors import DomainError, validation_error
from ..kernel.models import ErrorInfo
from .caller import enforce_view_role
from .openapi import missing_part, no_datastore

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _assign_request_id():
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = supplied if _REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex


def accepts_upload(max_bytes):
    """Marks a view that takes a multipart/form-data body of up to max_bytes instead of JSON.

    Every other view keeps MAX_CONTENT_LENGTH (64 KiB) and the JSON-object rule.
    """
    def tag(view):
        view.upload_limit = max_bytes
        return view
    return tag


def _check_upload_body(max_bytes):
    request.max_content_length = max_bytes  # werkzeug answers 413 past it, while parsing
    if request.mimetype != "multipart/form-data":
        raise DomainError(415, "unsupported_media_type", "Send the body as multipart/form-data.")


# No request of the contract nests more than a few levels; deeper is refused before any
# code that recurses (validation, error rendering) sees it.
MAX_JSON_DEPTH = 32


def _depth_over(value, limit):
    """Whether a parsed JSON value nests deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _check_json_body():
    """A body must be a JSON object; anything else is refused before any view runs."""
    if request.method not in _BODY_METHODS or request.routing_exception is not None:
        return  # an unknown path or method is a 404 or 405 whatever the body
    upload_limit = getattr(current_app.view_functions.get(request.endpoint), "upload_limit", None)
    if upload_limit:
        return _check_upload_body(upload_limit)
    if not request.content_length and "chunked" not in request.headers.get("Transfer-Encoding", ""):
        return  # no body: the view's model decides whether one was required
    if not request.is_json:
        raise DomainError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # Python's parser recurses per bracket: ~1,000 nested ones in 2 KB exhaust it
        body = None
    if body is None:
        raise validation_error("The body is not valid JSON.", [{"field": "body", "message": "invalid JSON"}])
    if _depth_over(body, MAX_JSON_DEPTH):  # what parsed may still be too deep for validation and views
        raise validation_error(f"The body nests deeper than {MAX_JSON_DEPTH} levels.",
                               [{"field": "body", "message": "nested too deeply"}])
    if not isinstance(body, dict):
        raise validation_error("The body must be a JSON object.", [{"field": "body", "message": "not an object"}])


# Where the Firebase JS SDK connects when no emulator is configured.
FIRESTORE_ORIGIN = "https://firestore.googleapis.com"
FIREBASE_AUTH_ORIGINS = ("https://identitytoolkit.googleapis.com", "https://securetoken.googleapis.com")


def auth_emulator_public_url(config):
    host = config.get("FIREBASE_AUTH_EMULATOR_HOST")
    return config.get("FIREBASE_AUTH_EMULATOR_PUBLIC_URL") or (f"http://{host}" if host else None)


def _content_security_policy(config):
    """connect-src: the API itself and the Firestore and Auth endpoints the live layer uses
    (the emulators' origins when configured), nothing else."""
    firestore_url = config.get("FIRESTORE_EMULATOR_PUBLIC_URL")
    auth_url = auth_emulator_public_url(config)
    connect = ["'self'", firestore_url or FIRESTORE_ORIGIN, *([auth_url] if auth_url else FIREBASE_AUTH_ORIGINS)]
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src {' '.join(connect)}; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


# Sent on every answer unless the view set its own.
_DEFAULT_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                    ("X-Frame-Options", "DENY"))


def _finish(response):
    headers = response.headers
    headers["X-Request-ID"] = getattr(g, "request_id", "") or uuid.uuid4().hex
    # One pass over the headers, not one per default (Headers.setdefault scans them each time).
    present = {name.lower() for name in headers.keys()}
    defaults = [*_DEFAULT_HEADERS, ("Content-Security-Policy", current_app.config["CSP"])]
    if request.path.startswith("/api/"):
        defaults.append(("Cache-Control", "no-store"))
    headers.extend([(name, value) for name, value in defaults if name.lower() not in present])
    if response.status_code not in (429, 503) and "retry-after" in present:
        # flask-limiter sends it on every answer of a limited view; it means something only here.
        del headers["Retry-After"]
    return response


class Health(BaseModel):
    status: Literal["ok"]


PartState = Literal["ok", "configured", "missing"]


class Parts(BaseModel):
    """What each part of the deployment is: `ok` (answered just now: Firestore), `configured`
    (set up, not probed: a failure shows as 503 on the routes that need it) or `missing`
    (not configured: the operations that need it are not offered, 404/405, and not in the
    OpenAPI document)."""

    firestore: PartState
    firebase_auth: PartState = Field(description="Custom tokens (POST /auth/firebase-token) and Firebase sign-in.")
    storage: PartState = Field(description="Cloud Storage: photo uploads and image bytes.")


class Ready(BaseModel):
    status: Literal["ok"]
    parts: Parts


class NotReady(BaseModel):
    status: Literal["unavailable"]
    error: ErrorInfo
    parts: Parts


class ClientConfig(BaseModel):
    project_id: str
    firestore_emulator_url: str | None = Field(description="The Firestore emulator, when one is used.")


_HEALTH = [Tag(name="health")]


def _register_health(app):
    @app.get("/healthz", responses={200: Health}, tags=_HEALTH)
    @no_datastore
    def healthz():
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", responses={200: Ready, 503: NotReady}, tags=_HEALTH)
    def readyz():
        """Firestore answers (200; else 503). `parts` says which other parts are configured:
        a missing one leaves the app ready, without the operations that need it."""
        parts = {name: "configured" if on else "missing" for name, on in config.parts(app.config).items()}
        try:
            get_datastore().ping()
        except Exception as exc:  # any failure to answer means "not ready"
            log.warning("readiness check failed: %r", exc)
            return jsonify({"status": "unavailable", "error": {
                "code": "unavailable", "message": "Firestore does not answer."}, "parts": parts}), 503
        return {"status": "ok", "parts": {**parts, "firestore": "ok"}}

    @app.get("/api/v1/client-config", responses={200: ClientConfig}, tags=_HEALTH)
    @no_datastore
    def client_config():
        """What the demo client needs to know about this deployment."""
        return {
            "project_id": app.config["PROJECT_ID"],
            "firestore_emulator_url": app.config.get("FIRESTORE_EMULATOR_PUBLIC_URL"),
            # The Firebase JS SDK's settings for live reads and "Sign in with Firebase".
            "auth_emulator_url": auth_emulator_public_url(app.config),
            "firebase_api_key": app.config["FIREBASE_WEB_API_KEY"],
            "firebase_auth_domain": app.config.get("FIREBASE_AUTH_DOMAIN")
            or f"{app.config['PROJECT_ID']}.firebaseapp.com",
        }


# Folders of client_demo/ that are not part of the web page (the Python client, caches).
NOT_SERVED = {"python", "__pycache__", "node_modules"}


def _register_client(app):
    """One exact route per file of client_demo/, so unknown API paths stay 404."""
    client_dir = app.config.get("CLIENT_DIR") or os.path.join(
        os.path.dirname(app.root_path), "client_demo")
    if not os.path.isdir(client_dir):
        return

    def serve(filename):
        return send_from_directory(client_dir, filename, max_age=0)

    app.add_url_rule("/", "client_index", lambda: serve("index.html"))
    for root, dirs, files in os.walk(client_dir):
        dirs[:] = [d for d in dirs if d not in NOT_SERVED]
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), client_dir).replace(os.sep, "/")
            app.add_url_rule(f"/{rel}", f"client_file:{rel}", lambda rel=rel: serve(rel))


class NoCookieSession(SessionInterface):
    """The API authenticates by bearer token and never uses Flask's signed-cookie session;
    opening one (an itsdangerous serializer per request) cost about 4% of a transfer's CPU."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        pass


PART_NAMES = {"firebase_auth": "Firebase Auth", "storage": "Cloud Storage"}


def _offered_methods(app, pattern):
    """The methods of every route with this URL pattern, but those whose part is missing."""
    methods = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == pattern and not missing_part(app, app.view_functions[rule.endpoint]):
            methods |= rule.methods
    return methods


def _allow_of_the_matched_route(app):
    """OPTIONS lists the methods of the route the path matched, not of every route that could
    match it: /posts/mine is also a /posts/{post_id}, but PATCH and DELETE are not offered there."""

    def make_default_options_response():
        response = app.response_class()
        response.allow.update(_offered_methods(app, request.url_rule.rule))
        return response

    app.make_default_options_response = make_default_options_response


def _offered_here():
    """A deployment without a part (no Storage, no Firebase Auth: /readyz says `missing`) does
    not offer the operations that need it, as if they did not exist: 405 where the path has
    other methods, else 404, saying why. (A configured part that fails answers 503.)"""
    if request.url_rule is None:
        return
    part = missing_part(current_app, current_app.view_functions.get(request.endpoint))
    if part is None:
        return
    why = (f"This deployment has no {PART_NAMES[part]}: {request.method} {request.path} is not offered "
           "(GET /readyz lists the parts).")
    others = _offered_methods(current_app, request.url_rule.rule) - {"OPTIONS"}
    if others:
        raise MethodNotAllowed(valid_methods=sorted(others), description=why)
    raise NotFound(description=why)


def init_app(app):
    app.session_interface = NoCookieSession()
    _allow_of_the_matched_route(app)
    # The demo client's "try to cheat" panel talks to the emulator directly.
    app.config["CSP"] = _content_security_policy(app.config)
    app.before_request(_assign_request_id)
    app.before_request(_offered_here)
    app.before_request(enforce_view_role)
    app.before_request(_check_json_body)
    app.after_request(_finish)
    _register_health(app)
    _register_client(app)

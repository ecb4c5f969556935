"""The OpenAPI document: what flask-openapi3 builds from the models and the routes'
`responses=`, plus the statuses that the shared request machinery adds to every
route, derived from that same machinery so that the two cannot drift:

- 401 / 403 from `requires("user" | "admin")` (auth's before_request check);
- 413, 415 and 422 for every POST, PUT and PATCH (the body guard in web.py,
  MAX_CONTENT_LENGTH);
- 422 only where there is something to validate (flask-openapi3 lists it everywhere);
- 503 wherever the datastore is used (errors.py maps every datastore-unavailable
  exception to 503 on every route), i.e. everywhere but views marked `no_datastore`;
- 429 wherever flask-limiter limits the view;
Not 414: the HTTP server in front of the app (gunicorn's limit_request_line,
8190 bytes; Werkzeug's 65536) refuses a too-long request line before the app
runs, with its own small HTML page. It is no answer of the API (no JSON shape, no
X-Request-ID), and no request the document allows is that long (a test bounds
them): the document's description says so instead of every operation.

and what generated clients need (issue 24): the headers each response carries
(X-Request-ID; X-RateLimit-* where limited; Retry-After on 429 and 503;
Idempotent-Replayed where an Idempotency-Key is taken), short stable
operationIds (the view's name in camelCase, or its `operation_id`), and binary
responses also as `application/octet-stream`, the one binary media type the
common generators map to bytes (the server sends it to a client that asks).

It also holds what every domain's routes declare alike: the bearer security, the
error responses most routes share and `api_blueprint`.
"""

from flask_openapi3 import APIBlueprint, Tag

from .. import config
from ..kernel.models import ErrorBody
from .limits import rate_limited

BEARER = [{"bearer": []}]
# The errors most routes can answer; routes that change things add WRITE_ERRORS.
ERRORS = {401: ErrorBody, 404: ErrorBody, 422: ErrorBody, 503: ErrorBody}
WRITE_ERRORS = {403: ErrorBody, 429: ErrorBody}

# A token is optional (`{}`: none at all) but checked when sent: a bad one is a 401.
OPTIONAL_BEARER = [{}, {"bearer": []}]
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
_BODY_METHODS = {"post", "put", "patch"}
_DESCRIPTIONS = {
    401: "No, or an invalid, expired or revoked, bearer token (`unauthenticated`).",
    403: "Signed in but not allowed (`forbidden`).",
    413: "The body is larger than the limit (`payload_too_large`).",
    415: "The body is not `application/json` (`unsupported_media_type`).",
    422: "The request breaks the schema (`validation_error`); `details` lists the fields.",
    429: "Too many requests (`rate_limited`); retry after `Retry-After` seconds.",
    503: "The datastore is unavailable (`unavailable`); retry, with the same Idempotency-Key if any.",
}
# web.py's after_request puts it on every answer of the app (not on the HTTP server's 414).
REQUEST_ID_HEADER = {"X-Request-ID": {
    "description": "The request's id: the client's X-Request-ID when it sent a valid one, else a new one.",
    "required": True, "schema": {"type": "string"}}}
RETRY_AFTER_HEADER = {"Retry-After": {"description": "Seconds to wait before retrying.", "required": True,
                                      "schema": {"type": "integer", "minimum": 0}}}
# flask-limiter's, on the answers of a limited view once its limits were checked (not on a 413 or
# 415 refused before that: hence not required).
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed in the current window.",
                          "schema": {"type": "integer", "minimum": 0}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window.",
                              "schema": {"type": "integer", "minimum": 0}},
    "X-RateLimit-Reset": {"description": "When the window resets, in seconds since the Unix epoch.",
                          "schema": {"type": "integer", "minimum": 0}},
}
IDEMPOTENCY_KEY = "Idempotency-Key"
# ledger/routes.py sets it on an answer (success or refusal) replayed for a reused Idempotency-Key.
REPLAYED_HEADER = {"Idempotent-Replayed": {
    "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]}}}
URI_TOO_LONG_NOTE = ("A request line (path and query) over 8190 bytes is refused with 414 by the HTTP server, "
                     "before the app, with a short HTML page instead of the JSON error shape.")
BINARY = {"type": "string", "format": "binary"}
OCTET_STREAM = "application/octet-stream"


def api_blueprint(name, import_name, tag=None, *, admin=False, security=None, responses=ERRORS):
    """A blueprint of the API under /api/v1 (/api/v1/admin for `admin`), its routes tagged `tag`
    (default: `name`), with `security` and `responses` on every route besides the route's own."""
    return APIBlueprint(name, import_name, url_prefix="/api/v1/admin" if admin else "/api/v1",
                        abp_tags=[Tag(name=tag or name)], abp_security=security, abp_responses=responses)


def no_datastore(view):
    """Marks a view that never touches the datastore: no 503 in its documentation."""
    view.uses_datastore = False
    return view


def needs_part(part):
    """Marks a view that needs a part besides Firestore (`firebase_auth`, `storage`,
    config.parts): a deployment without it does not offer the view (web.py: 404/405) and leaves
    it out of its document."""
    def mark(view):
        view.needed_part = part
        return view
    return mark


def missing_part(app, view):
    """The part `view` needs (needs_part) when this deployment has not configured it, else None."""
    part = getattr(view, "needed_part", None)
    return part if part is not None and not config.parts(app.config)[part] else None


def with_operation_id(operation_id):
    """Names a view's operation when its camelCased name would not do (e.g. shared by two kinds)."""
    def name_it(view):
        view.operation_id = operation_id
        return view
    return name_it


def binary_response(description, media_types):
    """A response of bytes in one of `media_types`; `application/octet-stream` is listed too for
    generators that only map it to bytes (the view sends it when the client asks for it)."""
    return {"description": description, "content": {t: {"schema": BINARY} for t in (*media_types, OCTET_STREAM)}}


def _error(status):
    return {"description": _DESCRIPTIONS[status], "content": ERROR_CONTENT}


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _implied_statuses(view, method, operation):
    role = getattr(view, "required_role", None)
    if role in ("user", "admin"):
        yield 401
    if role == "admin":
        yield 403
    if method in _BODY_METHODS:
        yield from (413, 415, 422)
    elif operation.get("parameters") or operation.get("requestBody"):
        yield 422
    if getattr(view, "uses_datastore", True):
        yield 503
    if rate_limited(view):
        yield 429


def _operations(app, spec):
    """(view, method, operation) of every documented route."""
    paths = spec.get("paths", {})
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in rule.methods or ():
            operation = paths.get(path, {}).get(method.lower())
            if operation is not None:
                yield app.view_functions[rule.endpoint], method.lower(), operation


def complete(app, spec):
    """Adds the implied statuses, headers and operationIds to every operation of `spec` (in
    place) and returns it."""
    operation_ids = {}
    for view, method, operation in _operations(app, spec):
        operation_id = getattr(view, "operation_id", None) or _camel(view.__name__)
        if operation_ids.setdefault(operation_id, id(operation)) != id(operation):
            raise ValueError(f"operationId {operation_id} names two operations: give one `with_operation_id`")
        operation["operationId"] = operation_id
        responses = operation.setdefault("responses", {})
        implied = set(_implied_statuses(view, method, operation))
        responses.pop("422", None)  # flask-openapi3's, on every route
        for status in sorted(implied):
            responses.setdefault(str(status), _error(status))  # a route's own wording wins
        idempotent = any(p.get("in") == "header" and p.get("name") == IDEMPOTENCY_KEY
                         for p in operation.get("parameters", ()))
        for status, response in responses.items():
            response["headers"] = {**response.get("headers", {}), **REQUEST_ID_HEADER}
            if status == "429" or (status == "503" and response.get("content") == ERROR_CONTENT):
                response["headers"].update(RETRY_AFTER_HEADER)  # limits.py's and errors.unavailable()'s
            if rate_limited(view):
                response["headers"].update(RATE_LIMIT_HEADERS)
            if idempotent:
                response["headers"].update(REPLAYED_HEADER)
    _leave_out_missing_parts(app, spec)
    return spec


def _leave_out_missing_parts(app, spec):
    """The document of a deployment says what it offers: an operation whose part is not
    configured is not in it, and the description says so."""
    left_out = [operation for view, _, operation in _operations(app, spec) if missing_part(app, view)]
    if not left_out:
        return
    missing = sorted(name for name, on in config.parts(app.config).items() if not on)
    paths = spec["paths"]
    for path, item in list(paths.items()):
        paths[path] = {key: value for key, value in item.items() if not any(value is op for op in left_out)}
        if not paths[path]:
            del paths[path]
    note = (f" This deployment has no {' or '.join(missing)}: the operations that need it are left out of "
            "this document and not offered (GET /readyz lists the parts).")
    if note not in spec["info"]["description"]:
        spec["info"]["description"] += note

"""The OpenAPI document: what flask-openapi3 builds from the models and the routes'
`responses=`, plus the statuses that the shared request machinery adds to every
route, derived from that same machinery so that the two cannot drift:

- 401 / 403 from `requires("user" | "admin")` (auth's before_request check);
- 413, 415 and 422 for every POST, PUT and PATCH (the body guard in web.py,
  MAX_CONTENT_LENGTH);
- 422 only where there is something to validate (flask-openapi3 lists it everywhere);
- 503 wherever the datastore is used (errors.py maps every datastore-unavailable
  exception to 503 on every route), i.e. everywhere but views marked `no_datastore`;
- 414 everywhere: the HTTP server in front of the app (gunicorn's
  limit_request_line, 4094 bytes; Werkzeug's 65536) refuses a too-long request
  line before the app runs, with its own small HTML page, not the JSON error shape.

It also holds what every domain's routes declare alike: the bearer security, the
error responses most routes share and `api_blueprint`.
"""

from flask_openapi3 import APIBlueprint, Tag

from ..kernel.models import ErrorBody

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
    414: "The request line (path and query) is too long for the HTTP server; it answers "
         "before the app, with a short HTML page instead of the JSON error shape.",
    415: "The body is not `application/json` (`unsupported_media_type`).",
    422: "The request breaks the schema (`validation_error`); `details` lists the fields.",
    503: "The datastore is unavailable (`unavailable`); retry, with the same Idempotency-Key if any.",
}
# web.py's after_request puts it on every answer of the app (not on the HTTP server's 414).
REQUEST_ID_HEADER = {"X-Request-ID": {
    "description": "The request's id: the client's X-Request-ID when it sent a valid one, else a new one.",
    "required": True, "schema": {"type": "string"}}}
RETRY_AFTER_HEADER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}}
URI_TOO_LONG = {"description": _DESCRIPTIONS[414], "content": {"text/html": {"schema": {"type": "string"}}}}


def api_blueprint(name, import_name, tag=None, *, admin=False, security=None, responses=ERRORS):
    """A blueprint of the API under /api/v1 (/api/v1/admin for `admin`), its routes tagged `tag`
    (default: `name`), with `security` and `responses` on every route besides the route's own."""
    return APIBlueprint(name, import_name, url_prefix="/api/v1/admin" if admin else "/api/v1",
                        abp_tags=[Tag(name=tag or name)], abp_security=security, abp_responses=responses)


def no_datastore(view):
    """Marks a view that never touches the datastore: no 503 in its documentation."""
    view.uses_datastore = False
    return view


def _error(status):
    return {"description": _DESCRIPTIONS[status], "content": ERROR_CONTENT}


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
    """Adds the implied statuses to every operation of `spec` (in place) and returns it."""
    for view, method, operation in _operations(app, spec):
        responses = operation.setdefault("responses", {})
        implied = set(_implied_statuses(view, method, operation))
        responses.pop("422", None)  # flask-openapi3's, on every route
        for status in sorted(implied):
            responses.setdefault(str(status), _error(status))  # a route's own wording wins
        for status, response in responses.items():
            if status == "414":  # the HTTP server's, set below (this runs on every fetch of the document)
                continue
            response["headers"] = {**response.get("headers", {}), **REQUEST_ID_HEADER}
            if status == "503" and response.get("content") == ERROR_CONTENT:  # errors.unavailable()
                response["headers"].update(RETRY_AFTER_HEADER)
        responses.setdefault("414", {**URI_TOO_LONG})
    return spec

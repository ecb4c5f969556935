"""One JSON error shape for every failure: {"error": {"code", "message", "details"?}}."""

import logging

from flask import has_request_context, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from ..datastore import TRANSIENT_ERRORS
from ..kernel.errors import DomainError, unavailable, validation_error

log = logging.getLogger(__name__)


# Statuses werkzeug raises by itself, mapped to the contract's codes.
_HTTP_CODES = {
    400: "validation_error",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}



def _size(n):
    return f"{n // 1024} KiB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.2f} MiB"


def pydantic_details(exc: ValidationError):
    """The offending fields of a pydantic error, without echoing input values."""
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "body",
            "message": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]


def validation_response(exc: ValidationError):
    """flask-openapi3's validation_error_callback: the contract's 422."""
    return _respond(validation_error("The request does not match the schema.", pydantic_details(exc)))


def _respond(error: DomainError):
    response = jsonify(error.to_dict())
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def init_app(app):
    @app.errorhandler(DomainError)
    def handle_api_error(error):
        return _respond(error)

    @app.errorhandler(ValidationError)
    def handle_validation(error):
        return validation_response(error)

    @app.errorhandler(HTTPException)
    def handle_http(error):
        # abort(response) from flask-openapi3 carries a finished response.
        if error.response is not None:
            return error.response
        code = _HTTP_CODES.get(error.code, "http_error")
        message = error.description or error.name
        if error.code == 413:
            limit = request.max_content_length if has_request_context() else None
            message = f"The request body is larger than {_size(limit) if limit else 'allowed'}."
        api_error = DomainError(error.code, code, message)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            api_error.headers["Allow"] = ", ".join(error.valid_methods)
        return _respond(api_error)

    def handle_datastore_down(error):
        log.warning("datastore unavailable: %r", error)
        return _respond(unavailable())

    for exc_class in TRANSIENT_ERRORS:
        app.register_error_handler(exc_class, handle_datastore_down)

    @app.errorhandler(Exception)
    def handle_unexpected(error):
        log.exception("unhandled error")
        message = repr(error) if app.debug else "Internal server error."
        return _respond(DomainError(500, "internal", message))

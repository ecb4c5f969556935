"""Typed errors: one class per error code of the API contract, each carrying the code itself."""


class ApiError(Exception):
    """A non-2xx answer: `status`, the contract's `code`, `message` and `details`."""

    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = dict(headers or {})


class Unauthenticated(ApiError):
    """401 unauthenticated: no, bad, expired or revoked token."""


class InvalidCredentials(ApiError):
    """401 invalid_credentials: wrong username or password."""


class Forbidden(ApiError):
    """403 forbidden."""


class NotFound(ApiError):
    """404 not_found (also: something the caller may not see)."""


class Conflict(ApiError):
    """409: username_taken, insufficient_funds, idempotency_conflict or conflict (see `code`)."""


class PayloadTooLarge(ApiError):
    """413 payload_too_large."""


class ValidationFailed(ApiError):
    """422 validation_error; `details` lists the offending fields."""


class RateLimited(ApiError):
    """429 rate_limited; `retry_after` is the server's hint in seconds (or None)."""

    @property
    def retry_after(self):
        try:
            return float(self.headers.get("Retry-After"))
        except (TypeError, ValueError):
            return None


class ServerError(ApiError):
    """A 5xx: the outcome is unknown; retry money only with the same Idempotency-Key."""


class Unavailable(ServerError):
    """503 unavailable: safe to retry (with the same Idempotency-Key for money)."""


class NetworkError(ApiError):
    """The server could not be reached, or did not answer in time (status 0): the outcome is unknown."""


BY_CODE = {
    "unauthenticated": Unauthenticated,
    "invalid_credentials": InvalidCredentials,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "username_taken": Conflict,
    "insufficient_funds": Conflict,
    "idempotency_conflict": Conflict,
    "conflict": Conflict,
    "payload_too_large": PayloadTooLarge,
    "validation_error": ValidationFailed,
    "rate_limited": RateLimited,
    "unavailable": Unavailable,
}


def error_from_response(resp):
    """The typed error for a non-2xx `requests` response (any body, even not JSON)."""
    try:
        error = resp.json()["error"]
        code, message, details = error["code"], error.get("message", ""), error.get("details")
    except (ValueError, KeyError, TypeError):
        code, message, details = "http_error", resp.text[:200] or resp.reason, None
    cls = BY_CODE.get(code) or (ServerError if resp.status_code >= 500 else ApiError)
    return cls(resp.status_code, code, message, details, resp.headers)

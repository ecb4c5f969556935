"""Domain errors: what went wrong, with the contract's code.

Services raise these; server/edge/errors.py turns each into the one JSON
shape {"error": {"code", "message", "details"?}}. The status travels with the
error so that the edge needs no table per domain.
"""


class DomainError(Exception):
    """An expected failure that maps to one status and contract error code."""

    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def to_dict(self):
        error = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


def unauthenticated(message="Authentication required.", code="unauthenticated"):
    return DomainError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message="You are not allowed to do this."):
    return DomainError(403, "forbidden", message)


def not_found(message="Not found."):
    return DomainError(404, "not_found", message)


def conflict(message, code="conflict"):
    return DomainError(409, code, message)


def too_large(message):
    return DomainError(413, "payload_too_large", message)


class FirebaseTokenRefused(Exception):
    """A forged, expired, revoked or otherwise unusable Firebase ID token, or a disabled user
    (raised by the datastore adapter's Firebase Auth)."""


class FirebaseAuthUnavailable(Exception):
    """Firebase Auth did not answer (or signing failed): safe to retry."""


UNAVAILABLE_MESSAGE = "The datastore is unavailable; retry with the same Idempotency-Key."


def unavailable(message=UNAVAILABLE_MESSAGE):
    return DomainError(503, "unavailable", message, headers={"Retry-After": "1"})


def validation_error(message, details=None, code="validation_error"):
    return DomainError(422, code, message, details or [])

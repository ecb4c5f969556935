"""A Python client of the trusted API: sessions with automatic re-login, money with
Idempotency-Key retries, messages, and typed errors carrying the contract's codes."""

from .client import TrustedClient
from .errors import (
    ApiError,
    Conflict,
    Forbidden,
    InvalidCredentials,
    NetworkError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)

__all__ = [
    "ApiError", "Conflict", "Forbidden", "InvalidCredentials", "NetworkError", "NotFound", "PayloadTooLarge",
    "RateLimited", "ServerError", "TrustedClient", "Unauthenticated", "Unavailable", "ValidationFailed",
]

"""HTTP routes of the operator's audit endpoints: the filtered trail and the verifier."""

from flask import current_app

from ..edge.openapi import BEARER, api_blueprint
from ..kernel.caller import requires
from ..kernel.models import ErrorBody
from .models import AuditPage, AuditQuery, VerifyReport
from .service import AuditService


def audit() -> AuditService:
    return current_app.extensions["audit"]


admin_bp = api_blueprint("audit_admin", __name__, "audit", admin=True, security=BEARER,
                         responses={401: ErrorBody, 403: ErrorBody, 422: ErrorBody, 503: ErrorBody})


@admin_bp.get("/audit", responses={200: AuditPage})
@requires("admin")
def list_audit(query: AuditQuery):
    """Audit events, newest first. `actor` is a username (case-insensitive) or a user id (32 hex
    characters); `since` is inclusive, `until` exclusive; filters combine with AND."""
    return audit().list_events(query)


@admin_bp.get("/audit/verify", responses={200: VerifyReport})
@requires("admin")
def verify_audit():
    """Proves the books: hash chains, balances, transfers and their audit events (see the report's problems)."""
    return audit().verify()

"""HTTP routes of the operator's endpoints: the filtered trail and its export, the
dashboard's statistics, an account's statement, and the verifier (streamed, and its last run)."""

import json

from flask import Response, current_app, stream_with_context

from ..edge.caller import require_user
from ..edge.openapi import BEARER, api_blueprint
from ..kernel.caller import requires
from ..kernel.clock import rfc3339, utcnow
from ..kernel.models import ErrorBody
from ..kernel.paging import ListQuery
from .export import export_lines
from .models import (
    AuditExportQuery,
    AuditPage,
    AuditQuery,
    Statement,
    StatementAccountPath,
    StatsQuery,
    StatsReport,
    VerifyReport,
    VerifyRun,
)
from .service import AuditService

# Generated clients know no JSON Lines or CSV: listed as bytes too, they read the stream as a file.
BYTES_FOR_GENERATORS = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
EXPORT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
EXPORT_RESPONSE = {"description": "The filtered events, newest first, streamed: one AuditEvent per line "
                                  "(jsonl), or CSV with a header row and `details` as JSON.",
                   "content": {**{t: {"schema": {"type": "string"}} for t in EXPORT_TYPES.values()},
                               **BYTES_FOR_GENERATORS}}
VERIFY_STREAM_RESPONSE = {
    "description": "JSON Lines, streamed while the verifier runs: "
                   '`{"progress": {"phase", "done", "total", "final"}}` lines, then one '
                   '`{"run": VerifyRun}` line (or `{"error": {"message"}}` when it stopped).',
    "content": {"application/x-ndjson": {"schema": {"type": "string"}}, **BYTES_FOR_GENERATORS}}


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


@admin_bp.get("/audit/export", responses={"200": EXPORT_RESPONSE})
@requires("admin")
def export_audit(query: AuditExportQuery):
    """Every event the filters match (as GET /admin/audit, all pages), newest first, streamed as a download."""
    events = audit().export_filtered(query)
    stamp = rfc3339(utcnow()).replace(":", "").replace("-", "")[:15]
    return Response(stream_with_context(export_lines(events, query.format)),
                    mimetype=EXPORT_TYPES[query.format],
                    headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.{query.format}"',
                             "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@admin_bp.get("/audit/verify", responses={200: VerifyReport})
@requires("admin")
def verify_audit():
    """Proves the books: hash chains, balances, transfers and their audit events (see the report's problems).
    The run is kept as the last one (GET /admin/audit/verify/last)."""
    return audit().verify(by=require_user().username)


@admin_bp.post("/audit/verify/runs", responses={"200": VERIFY_STREAM_RESPONSE})
@requires("admin")
def verify_audit_streamed():
    """Runs the verifier, streaming its progress as JSON Lines; the last line is the kept run."""
    items = audit().verify_with_progress(by=require_user().username)

    def lines():
        for kind, value in items:
            body = {"error": {"message": value}} if kind == "error" else {"run" if kind == "report" else kind: value}
            yield json.dumps(body, separators=(",", ":")) + "\n"

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@admin_bp.get("/audit/verify/last", responses={200: VerifyRun, 404: ErrorBody})
@requires("admin")
def last_verify_run():
    """The last run of the verifier (by the endpoints or `flask audit verify`), with its time; 404 before any."""
    return audit().last_verify_run()


@admin_bp.get("/stats", responses={200: StatsReport})
@requires("admin")
def stats(query: StatsQuery):
    """The dashboard: the books' totals now, and the audit trail counted per minute or hour over
    [since, until) (default: the last 60 minutes or 24 hours). 429 and 503 refusals are not
    recorded by the server, so not counted (see `not_recorded`)."""
    return audit().stats(query)


@admin_bp.get("/accounts/<account_id>/statement", responses={200: Statement, 404: ErrorBody})
@requires("admin")
def account_statement(path: StatementAccountPath, query: ListQuery):
    """An account's postings, newest first, each with its running balance, hash, chain checks and transfer."""
    return audit().statement(path.account_id, query)

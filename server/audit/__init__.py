"""The operator's audit: the trail's query and export, and the verifier that proves the books.

models, service (use cases, no Flask), verify (the verifier's rule passes),
stats (the dashboard's counting), store (every read and the kept verifier run),
routes (HTTP), cli (`flask audit verify|export`); init_app
wires them into an app.
"""


def init_app(app):
    """Builds the service (verifier sizes: AUDIT_VERIFY_PAGE_SIZE, AUDIT_VERIFY_QUERY_SIZE), registers the routes."""
    from .routes import admin_bp
    from .service import AuditService
    from .verify import PAGE_SIZE, QUERY_SIZE

    app.extensions["audit"] = AuditService(
        app.extensions["datastore"], page_size=app.config.get("AUDIT_VERIFY_PAGE_SIZE", PAGE_SIZE),
        query_size=app.config.get("AUDIT_VERIFY_QUERY_SIZE", QUERY_SIZE),
        currency=app.config.get("LEDGER_CURRENCY", "USD"))
    app.register_api(admin_bp)

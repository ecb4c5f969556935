"""Users and sessions: sign-up, login, Firebase sign-in, password change, logout.

models (pydantic), service (use cases, no Flask), store (all Firestore and
Firebase Auth access), routes (HTTP only); init_app wires them into an app.
"""


def init_app(app):
    """Builds the service from the app's config and registers the routes (create_app wires its
    authenticator into the edge)."""
    from .routes import bp
    from .service import AuthService
    from .store import AuthStore

    config = app.config
    app.extensions["auth"] = AuthService(
        AuthStore(app.extensions["datastore"]), secret_key=config["SECRET_KEY"],
        token_ttl=config["TOKEN_TTL_SECONDS"], cache_seconds=config["SESSION_CACHE_SECONDS"],
        bcrypt_rounds=config["BCRYPT_ROUNDS"], currency=config["LEDGER_CURRENCY"],
        watch_revocations=config["SESSION_REVOCATION_WATCH"])
    app.register_api(bp)

"""The trusted backend: a Flask app that is the only writer to Firestore."""

import json

from flask import Response
from flask_cors import CORS
from flask_openapi3 import Info, OpenAPI
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config, datastore, objectstore, observability
from .edge import errors, limits, openapi, web
from .kernel.models import ErrorBody
from .kernel.roles import DedicatedRole


def create_app(test_config=None):
    app = OpenAPI(
        __name__,
        info=Info(title="Trusted backend API", version="1",
                  description="The only writer to Firestore: accounts, ledger, posts, messages, photos and audit. "
                              + openapi.URI_TOO_LONG_NOTE),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        doc_prefix="/api/v1",
        doc_ui=False,
        validation_error_status=422,
        validation_error_model=ErrorBody,
        validation_error_callback=errors.validation_response,
    )
    app.config.from_mapping(config.from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    app.extensions["dedicated_role"] = DedicatedRole()  # the ledger writer's (kernel/roles.py)
    _check_secret_key(app)
    _check_auth_emulator(app)
    observability.init_app(app)  # first: its hooks wrap every other one
    errors.init_app(app)
    datastore.init_app(app)
    objectstore.init_app(app)
    web.init_app(app)
    limits.init_app(app)
    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if app.config["CORS_ORIGINS"]:
        CORS(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
             expose_headers=["X-Request-ID", "Idempotent-Replayed"])

    from . import audit, auth, cli, ledger, messages, photos, posts

    # Each domain builds its store and service from the config and registers its routes.
    for domain in (auth, ledger, photos, posts, audit, messages):
        domain.init_app(app)
    _wire_domains(app)
    cli.init_app(app)
    app.extensions["shutdown"] = lambda: _shutdown(app)
    app.add_url_rule("/api/v1/openapi.json", "openapi_document", lambda: _openapi_document(app))
    return app


def _wire_domains(app):
    """The hooks one part of the app offers another, named here rather than appended to shared lists."""
    auth_service, ledger_service = app.extensions["auth"], app.extensions["ledger"]
    # The edge's authenticator (edge/caller.py): the caller behind an Authorization header.
    app.extensions["authenticate"] = auth_service.authenticate
    # The treasury exists before any admin can list accounts or deposit: reads never create it.
    auth_service.admin_prerequisites.append(ledger_service.ensure_treasury)


def _shutdown(app):
    """Stops background workers (the revocation listener, the ledger writer) and closes the adapters."""
    app.extensions["objectstore"].close()
    app.extensions["auth"].stop()
    app.extensions["ledger"].stop()
    app.extensions["datastore"].close()


def _openapi_document(app):
    """The spec flask-openapi3 builds from the models, completed with the shared statuses.

    In UTF-8 rather than ASCII: patterns hold characters above U+FFFF, which ASCII JSON
    writes as surrogate-pair escapes that YAML-based readers (openapi-spec-validator) refuse."""
    document = json.dumps(openapi.complete(app, app.api_doc), ensure_ascii=False)
    return Response(document, mimetype="application/json")


def _check_auth_emulator(app):
    """Against the Auth emulator firebase-admin accepts unsigned ID tokens: never for a real project."""
    host = app.config.get("FIREBASE_AUTH_EMULATOR_HOST")
    if host and not app.config["PROJECT_ID"].startswith("demo-"):
        raise RuntimeError(
            f"FIREBASE_AUTH_EMULATOR_HOST={host} is set but the project id "
            f"{app.config['PROJECT_ID']!r} does not start with 'demo-': the Auth emulator's "
            "unsigned tokens would be accepted for a real project. Unset the variable or use a demo- project id.")


def _check_secret_key(app):
    if app.config["SECRET_KEY"]:
        return
    if not app.config["FIRESTORE_EMULATOR_HOST"]:
        raise RuntimeError("SECRET_KEY must be set when running against real Firestore.")
    app.config["SECRET_KEY"] = config.DEV_SECRET_KEY

"""HTTP routes of the operator's audit endpoints."""

from flask_openapi3 import APIBlueprint, Tag

admin_bp = APIBlueprint("audit_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="audit")])


def init_app(app):
    """Called by create_app before the blueprints are registered."""

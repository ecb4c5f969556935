"""HTTP routes of posts, comments and moderation."""

from flask_openapi3 import APIBlueprint, Tag

bp = APIBlueprint("posts", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="posts")])
admin_bp = APIBlueprint("posts_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="admin")])


def init_app(app):
    """Called by create_app before the blueprints are registered."""

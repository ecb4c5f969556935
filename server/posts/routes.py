"""HTTP routes of posts, comments and moderation."""

from flask import current_app

from ..edge import limits
from ..edge.caller import current_caller, require_user
from ..edge.limits import limiter
from ..edge.openapi import BEARER, OPTIONAL_BEARER, WRITE_ERRORS
from ..kernel.caller import requires
from ..kernel.paging import ListQuery
from ..moderation.routes import ModeratedRoutes
from .models import POST_RESPONSES, PostCreate, PostEnvelope, PostPage, PostPath, PostUpdate
from .service import PostService


def posts() -> PostService:
    return current_app.extensions["posts"]


shared = ModeratedRoutes("post", __name__, PostPath, POST_RESPONSES, posts, owner="author")
bp, admin_bp = shared.bp, shared.admin_bp


@bp.post("/posts", responses={201: PostEnvelope, **WRITE_ERRORS}, security=BEARER)
@requires("user")
@limiter.limit(limits.content_limit, key_func=limits.caller_key)
def create_post(body: PostCreate):
    """Creates a post; it stays `pending` (visible to its author and admins) until approved."""
    return posts().create_post(require_user(), body), 201


@bp.get("/posts", responses={200: PostPage}, security=OPTIONAL_BEARER)
def list_posts(query: ListQuery):
    """The public feed: approved posts, newest first. No token needed (a bad one is still 401)."""
    current_caller()
    return posts().list_feed(query)


shared.add_item_routes()


@bp.patch("/posts/<post_id>", responses={200: PostEnvelope, **WRITE_ERRORS}, security=BEARER)
@requires("user")
@limiter.limit(limits.content_limit, key_func=limits.caller_key)
def update_post(path: PostPath, body: PostUpdate):
    """Author only; the post goes back to `pending` until approved again."""
    return posts().update_post(require_user(), path.post_id, body)


shared.add_comment_and_moderation_routes(delete_doc="Author or admin; the post's comments go with it.")

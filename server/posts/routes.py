"""HTTP routes of posts, comments and moderation."""

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from .. import limits
from ..edge import current_caller, require_admin, require_user, requires
from ..kernel.models import ErrorBody
from ..kernel.paging import ListQuery
from ..limits import limiter
from ..openapi import OPTIONAL_BEARER
from .models import (
    CommentCreate,
    CommentEnvelope,
    CommentPage,
    ModerationQuery,
    PostCreate,
    PostEnvelope,
    PostPage,
    PostPath,
    PostUpdate,
    RejectRequest,
)
from .service import PostService

BEARER = [{"bearer": []}]
ERRORS = {401: ErrorBody, 404: ErrorBody, 422: ErrorBody, 503: ErrorBody}
WRITE_ERRORS = {403: ErrorBody, 429: ErrorBody}


def posts() -> PostService:
    return current_app.extensions["posts_service"]

bp = APIBlueprint("posts", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="posts")],
                  abp_responses=ERRORS)
admin_bp = APIBlueprint("posts_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="admin")],
                        abp_security=BEARER, abp_responses={**ERRORS, 403: ErrorBody, 409: ErrorBody})


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


@bp.get("/posts/mine", responses={200: PostPage}, security=BEARER)
@requires("user")
def list_my_posts(query: ListQuery):
    """The caller's own posts in any status, newest first."""
    return posts().list_mine(require_user(), query)


@bp.get("/posts/<post_id>", responses={200: PostEnvelope}, security=OPTIONAL_BEARER)
def get_post(path: PostPath):
    """An approved post for anyone; a pending or rejected one for its author and admins only."""
    return posts().get_post(current_caller(), path.post_id)


@bp.patch("/posts/<post_id>", responses={200: PostEnvelope, **WRITE_ERRORS}, security=BEARER)
@requires("user")
@limiter.limit(limits.content_limit, key_func=limits.caller_key)
def update_post(path: PostPath, body: PostUpdate):
    """Author only; the post goes back to `pending` until approved again."""
    return posts().update_post(require_user(), path.post_id, body)


@bp.delete("/posts/<post_id>", responses={204: None, 403: ErrorBody}, security=BEARER)
@requires("user")
def delete_post(path: PostPath):
    """Author or admin; the post's comments go with it."""
    posts().delete_post(require_user(), path.post_id)
    return "", 204


@bp.post("/posts/<post_id>/comments", responses={201: CommentEnvelope, **WRITE_ERRORS}, security=BEARER)
@requires("user")
@limiter.limit(limits.content_limit, key_func=limits.caller_key)
def create_comment(path: PostPath, body: CommentCreate):
    """Approved posts only (404 otherwise); `comment_count` rises by exactly one."""
    return posts().add_comment(require_user(), path.post_id, body), 201


@bp.get("/posts/<post_id>/comments", responses={200: CommentPage}, security=OPTIONAL_BEARER)
def list_comments(path: PostPath, query: ListQuery):
    """Comments of a post the caller may see, oldest first."""
    return posts().list_comments(current_caller(), path.post_id, query)


@admin_bp.get("/posts", responses={200: PostPage})
@requires("admin")
def moderation_queue(query: ModerationQuery):
    """Posts in one status (default `pending`), newest first."""
    return posts().list_queue(query)


@admin_bp.post("/posts/<post_id>/approve", responses={200: PostEnvelope})
@requires("admin")
def approve_post(path: PostPath):
    """Makes the post public. 409 when it is already approved."""
    return posts().approve_post(require_admin(), path.post_id)


@admin_bp.post("/posts/<post_id>/reject", responses={200: PostEnvelope})
@requires("admin")
def reject_post(path: PostPath, body: RejectRequest):
    """Hides the post (also an approved one) with a reason. 409 when it is already rejected."""
    return posts().reject_post(require_admin(), path.post_id, body.reason)

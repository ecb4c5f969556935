"""Posts, comments and moderation: who may see and do what, and the documents that result.

Visibility: an approved post and its comments are public; a pending or
rejected one exists only for its author and admins (404 for everyone else,
never 403, so its existence does not leak). Comments are accepted on
approved posts only.
"""

from flask import current_app

from ..common import new_id, page_response, rfc3339, utcnow
from ..content import Change, comment_view, is_admin, moderation_decision, moderation_view, visible
from ..errors import forbidden, not_found
from .store import Gone, PostStore


def get_store() -> PostStore:
    return current_app.extensions["posts"]


def post_view(post_id, doc):
    return {
        "id": post_id,
        "author_id": doc["author_id"],
        "author_username": doc["author_username"],
        "title": doc["title"],
        "body": doc["body"],
        "status": doc["status"],
        "comment_count": doc["comment_count"],
        "created_at": rfc3339(doc["created_at"]),
        "updated_at": rfc3339(doc["updated_at"]),
        "moderation": moderation_view(doc.get("moderation")),
    }


post_comment_view = comment_view("post_id")


def _require_visible(doc, caller):
    """The post itself, or 404 (never 403) for anyone who may not see it."""
    if not visible(doc, caller, "author_id"):
        raise not_found("No such post.")
    return doc


def _visible_post(post_id, caller):
    return _require_visible(get_store().get(post_id), caller)


# --- posts --------------------------------------------------------------------


def create_post(caller, body):
    now = utcnow()
    post_id = new_id()
    doc = {
        "author_id": caller["id"], "author_username": caller["username"],
        "title": body.title, "body": body.body, "status": "pending", "comment_count": 0,
        "created_at": now, "updated_at": now, "moderation": None,
    }
    get_store().create_post(post_id, doc, caller)
    return {"post": post_view(post_id, doc)}


def get_post(caller, post_id):
    return {"post": post_view(post_id, _visible_post(post_id, caller))}


def _change(post_id, caller, decide):
    doc = get_store().change(post_id, decide, caller)
    return None if doc is None else {"post": post_view(post_id, doc)}


def update_post(caller, post_id, body):
    changes = {name: value for name, value in (("title", body.title), ("body", body.body)) if value is not None}

    def decide(doc):
        _require_visible(doc, caller)
        if doc["author_id"] != caller["id"]:
            raise forbidden("Only the author can edit a post.")
        return Change("post.update", {**changes, "status": "pending", "moderation": None, "updated_at": utcnow()},
                      {"fields": sorted(changes), "from_status": doc["status"]})

    return _change(post_id, caller, decide)


def delete_post(caller, post_id):
    def decide(doc):
        _require_visible(doc, caller)
        if doc["author_id"] != caller["id"] and not is_admin(caller):
            raise forbidden("Only the author or an admin can delete a post.")
        return Change("post.delete", None, {"status": doc["status"], "comment_count": doc["comment_count"],
                                            "author_id": doc["author_id"]})

    _change(post_id, caller, decide)


def approve_post(admin, post_id):
    return _change(post_id, admin, moderation_decision("post", admin, "approved"))


def reject_post(admin, post_id, reason):
    return _change(post_id, admin, moderation_decision("post", admin, "rejected", reason))


def list_feed(query):
    return page_response(get_store().posts_with_status("approved", query.limit, query.cursor), post_view)


def list_mine(caller, query):
    return page_response(get_store().posts_of(caller["id"], query.limit, query.cursor), post_view)


def list_queue(query):
    return page_response(get_store().posts_with_status(query.status, query.limit, query.cursor), post_view)


# --- comments -----------------------------------------------------------------


def add_comment(caller, post_id, body):
    post = get_store().get(post_id)
    if post is None or post["status"] != "approved":
        raise not_found("No such post, or it does not take comments.")
    comment_id = new_id()
    doc = {"post_id": post_id, "author_id": caller["id"], "author_username": caller["username"],
           "body": body.body, "created_at": utcnow()}
    try:
        get_store().add_comment(comment_id, doc, caller)
    except Gone as exc:
        raise not_found("No such post, or it does not take comments.") from exc
    return {"comment": post_comment_view(comment_id, doc)}


def list_comments(caller, post_id, query):
    _visible_post(post_id, caller)
    return page_response(get_store().comments_of(post_id, query.limit, query.cursor), post_comment_view)


def init_app(app):
    app.extensions["posts"] = PostStore(app.extensions["datastore"])

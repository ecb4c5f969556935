"""Posts, comments and moderation: who may see and do what, and the documents that result.

Visibility: an approved post and its comments are public; a pending or
rejected one exists only for its author and admins (404 for everyone else,
never 403, so its existence does not leak). Comments are accepted on
approved posts only.
"""

from ..content import Change, comment_view, is_admin, moderation_decision, moderation_view, visible
from ..kernel.clock import utcnow
from ..kernel.errors import forbidden, not_found
from ..kernel.ids import new_id
from ..kernel.paging import page_response
from ..kernel.views import document_view
from .models import Comment, Post
from .store import Gone, PostStore


def post_view(post_id, doc):
    return document_view(Post, doc, id=post_id, moderation=moderation_view(doc.get("moderation")))


post_comment_view = comment_view(Comment)


def _require_visible(doc, caller):
    """The post itself, or 404 (never 403) for anyone who may not see it."""
    if not visible(doc, caller, "author_id"):
        raise not_found("No such post.")
    return doc


class PostService:
    """The use cases of posts and comments over a PostStore."""

    def __init__(self, store: PostStore):
        self.store = store

    def _visible_post(self, post_id, caller):
        return _require_visible(self.store.get(post_id), caller)

    # --- posts ----------------------------------------------------------------
    def create_post(self, caller, body):
        now = utcnow()
        post_id = new_id()
        doc = {
            "author_id": caller.id, "author_username": caller.username,
            "title": body.title, "body": body.body, "status": "pending", "comment_count": 0,
            "created_at": now, "updated_at": now, "moderation": None,
        }
        self.store.create_post(post_id, doc, caller)
        return {"post": post_view(post_id, doc)}

    def get_post(self, caller, post_id):
        return {"post": post_view(post_id, self._visible_post(post_id, caller))}

    def _change(self, post_id, caller, decide):
        doc = self.store.change(post_id, decide, caller)
        return None if doc is None else {"post": post_view(post_id, doc)}

    def update_post(self, caller, post_id, body):
        changes = {name: value for name, value in (("title", body.title), ("body", body.body)) if value is not None}

        def decide(doc):
            _require_visible(doc, caller)
            if doc["author_id"] != caller.id:
                raise forbidden("Only the author can edit a post.")
            return Change("post.update", {**changes, "status": "pending", "moderation": None, "updated_at": utcnow()},
                          {"fields": sorted(changes), "from_status": doc["status"]})

        return self._change(post_id, caller, decide)

    def delete_post(self, caller, post_id):
        def decide(doc):
            _require_visible(doc, caller)
            if doc["author_id"] != caller.id and not is_admin(caller):
                raise forbidden("Only the author or an admin can delete a post.")
            return Change("post.delete", None, {"status": doc["status"], "comment_count": doc["comment_count"],
                                                "author_id": doc["author_id"]})

        self._change(post_id, caller, decide)

    def approve_post(self, admin, post_id):
        return self._change(post_id, admin, moderation_decision("post", admin, "approved"))

    def reject_post(self, admin, post_id, reason):
        return self._change(post_id, admin, moderation_decision("post", admin, "rejected", reason))

    def list_feed(self, query):
        return page_response(self.store.posts_with_status("approved", query.limit, query.cursor), post_view)

    def list_mine(self, caller, query):
        return page_response(self.store.posts_of(caller.id, query.limit, query.cursor), post_view)

    def list_queue(self, query):
        return page_response(self.store.posts_with_status(query.status, query.limit, query.cursor), post_view)

    # --- comments -------------------------------------------------------------
    def add_comment(self, caller, post_id, body):
        post = self.store.get(post_id)
        if post is None or post["status"] != "approved":
            raise not_found("No such post, or it does not take comments.")
        comment_id = new_id()
        doc = {"post_id": post_id, "author_id": caller.id, "author_username": caller.username,
               "body": body.body, "created_at": utcnow()}
        try:
            self.store.add_comment(comment_id, doc, caller)
        except Gone as exc:
            raise not_found("No such post, or it does not take comments.") from exc
        return {"comment": post_comment_view(comment_id, doc)}

    def list_comments(self, caller, post_id, query):
        self._visible_post(post_id, caller)
        return page_response(self.store.comments_of(post_id, query.limit, query.cursor), post_comment_view)


def init_app(app):
    store = app.extensions["posts"] = PostStore(app.extensions["datastore"])
    app.extensions["posts_service"] = PostService(store)

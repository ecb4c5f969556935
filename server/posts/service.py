"""Posts: creating and editing them; seeing, deleting, moderating and commenting are
ModeratedService's (server/moderation/service.py), with its visibility rules.

Only the author edits a post, and an edit sends it back to `pending`.
"""

from ..kernel.clock import utcnow
from ..kernel.errors import forbidden
from ..kernel.ids import new_id
from ..kernel.views import document_view
from ..moderation.models import Change, comment_view, moderation_view
from ..moderation.service import ModeratedService
from .models import Comment, Post


def post_view(post_id, doc, caller=None):
    return document_view(Post, doc, id=post_id, moderation=moderation_view(doc.get("moderation"), caller))


post_comment_view = comment_view(Comment)


class PostService(ModeratedService):
    """The use cases of posts and comments over a PostStore."""

    kind = "post"
    owner_field = "author_id"
    item_view = staticmethod(post_view)
    comment_view = staticmethod(post_comment_view)

    def create_post(self, caller, body):
        now = utcnow()
        post_id = new_id()
        doc = {
            "author_id": caller.id, "author_username": caller.username,
            "title": body.title, "body": body.body, "status": "pending", "comment_count": 0,
            "created_at": now, "updated_at": now, "moderation": None,
        }
        self.store.create_post(post_id, doc, caller)
        return self.envelope(post_id, doc, caller)

    def update_post(self, caller, post_id, body):
        changes = {name: value for name, value in (("title", body.title), ("body", body.body)) if value is not None}

        def decide(doc):
            self.require_visible(doc, caller)
            if doc["author_id"] != caller.id:
                raise forbidden("Only the author can edit a post.")
            return Change("post.update", {**changes, "status": "pending", "moderation": None, "updated_at": utcnow()},
                          {"fields": sorted(changes), "from_status": doc["status"]})

        return self.change(post_id, caller, decide)

    def list_feed(self, caller, query):
        """The public feed: approved posts, newest first."""
        return self.page(self.store.newest_where("status", "approved", query.limit, query.cursor), caller)

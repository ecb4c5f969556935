"""Posts: creating and editing them; seeing, deleting, moderating and commenting are
ModeratedService's (server/moderation/service.py), with its visibility rules.

Only the author edits a post, and an edit sends it back to `pending`.

Photos in posts: a post names up to four photos of its author (`photo_ids`).
The rule: approving a post approves its pending photos in the same commit,
each with its own `photo.approve` event; rejecting or deleting a post leaves
its photos as they are (they are the gallery's too). A photo rejected or
deleted later simply drops out of the post's answers (PhotoService.shown_in_posts).
"""

from ..kernel.clock import utcnow
from ..kernel.errors import forbidden
from ..kernel.ids import new_id
from ..kernel.views import document_view
from ..moderation.models import Change, comment_view, moderation_decision, moderation_view
from ..moderation.service import ModeratedService
from .models import Comment, Post


def post_view(post_id, doc, photos=()):
    return document_view(Post, doc, id=post_id, moderation=moderation_view(doc.get("moderation")), photos=list(photos))


post_comment_view = comment_view(Comment)


class PostService(ModeratedService):
    """The use cases of posts and comments over a PostStore."""

    kind = "post"
    owner_field = "author_id"
    comment_view = staticmethod(post_comment_view)

    def __init__(self, store, photos):
        super().__init__(store)
        self.photos = photos  # the PhotoService: whose photos posts may name, and how they are shown

    def _views(self, items):
        """Views of [(post_id, doc)], with their photos read in one go."""
        photos = self.photos.shown_in_posts([doc for _id, doc in items])
        return [post_view(post_id, doc, shown) for (post_id, doc), shown in zip(items, photos, strict=True)]

    def item_view(self, post_id, doc):
        return self._views([(post_id, doc)])[0]

    def page(self, snapshots_and_cursor):
        snapshots, next_cursor = snapshots_and_cursor
        return {"items": self._views([(s.id, s.to_dict()) for s in snapshots]), "next_cursor": next_cursor}

    def create_post(self, caller, body):
        self.photos.require_own(caller, body.photo_ids)
        now = utcnow()
        post_id = new_id()
        doc = {
            "author_id": caller.id, "author_username": caller.username,
            "title": body.title, "body": body.body, "status": "pending", "comment_count": 0,
            "created_at": now, "updated_at": now, "moderation": None, "photo_ids": body.photo_ids,
        }
        self.store.create_post(post_id, doc, caller)
        return self.envelope(post_id, doc)

    def update_post(self, caller, post_id, body):
        changes = {name: value for name, value in (("title", body.title), ("body", body.body),
                                                   ("photo_ids", body.photo_ids)) if value is not None}
        if body.photo_ids:
            self.photos.require_own(caller, body.photo_ids)

        def decide(doc):
            self.require_visible(doc, caller)
            if doc["author_id"] != caller.id:
                raise forbidden("Only the author can edit a post.")
            return Change("post.update", {**changes, "status": "pending", "moderation": None, "updated_at": utcnow()},
                          {"fields": sorted(changes), "from_status": doc["status"]})

        return self.change(post_id, caller, decide)

    def approve(self, admin, post_id):
        """Approves the post and its pending photos in one commit (the rule above)."""
        doc = self.store.approve_with_photos(post_id, moderation_decision("post", admin, "approved"), admin)
        return self.envelope(post_id, doc)

    def list_feed(self, query):
        """The public feed: approved posts, newest first."""
        return self.page(self.store.newest_where("status", "approved", query.limit, query.cursor))

"""Use cases every kind of moderated content with comments shares (posts, photos).

Visibility: an approved item and its comments are public; a pending or
rejected one exists only for its owner and admins (404 for everyone else,
never 403, so its existence does not leak). Comments are accepted on
approved items only. How the documents change together is
server/moderation/store.py's.
"""

from ..kernel.caller import is_admin
from ..kernel.clock import utcnow
from ..kernel.errors import forbidden, not_found
from ..kernel.ids import new_id
from ..kernel.paging import page_response
from .models import Change, moderation_decision, visible
from .store import Gone


class ModeratedService:
    """The shared use cases over a ModeratedStore; a subclass names its kind and views
    and adds its own use cases (creating and editing items)."""

    kind: str         # e.g. "post": the envelope's field, audit actions ("post.delete"), messages
    owner_field: str  # e.g. "author_id": the field naming the item's owner ("author" in messages)

    def __init__(self, store):
        self.store = store

    @staticmethod
    def item_view(item_id, doc, caller=None):
        raise NotImplementedError

    @staticmethod
    def comment_view(comment_id, doc):
        raise NotImplementedError

    def envelope(self, item_id, doc, caller):
        """`{kind: item}` as `caller` (None when anonymous) sees it."""
        return {self.kind: self.item_view(item_id, doc, caller)}

    def page(self, snapshots_and_cursor, caller):
        return page_response(snapshots_and_cursor, lambda item_id, doc: self.item_view(item_id, doc, caller))

    def require_visible(self, doc, caller):
        """The item itself, or 404 (never 403) for anyone who may not see it."""
        if not visible(doc, caller, self.owner_field):
            raise not_found(f"No such {self.kind}.")
        return doc

    def visible_item(self, caller, item_id):
        return self.require_visible(self.store.get(item_id), caller)

    def change(self, item_id, caller, decide):
        """Applies decide() through the store; the item's envelope, or None once deleted."""
        doc = self.store.change(item_id, decide, caller)
        return None if doc is None else self.envelope(item_id, doc, caller)

    # --- items -------------------------------------------------------------------------

    def get(self, caller, item_id):
        return self.envelope(item_id, self.visible_item(caller, item_id), caller)

    def delete(self, caller, item_id):
        owner = self.owner_field

        def decide(doc):
            self.require_visible(doc, caller)
            if doc[owner] != caller.id and not is_admin(caller):
                raise forbidden(f"Only the {owner.removesuffix('_id')} or an admin can delete a {self.kind}.")
            return Change(f"{self.kind}.delete", None, {"status": doc["status"], "comment_count": doc["comment_count"],
                                                        owner: doc[owner]})

        self.change(item_id, caller, decide)

    def approve(self, admin, item_id):
        return self.change(item_id, admin, moderation_decision(self.kind, admin, "approved"))

    def reject(self, admin, item_id, reason):
        return self.change(item_id, admin, moderation_decision(self.kind, admin, "rejected", reason))

    def list_mine(self, caller, query):
        """The caller's own items in any status, newest first."""
        return self.page(self.store.newest_where(self.owner_field, caller.id, query.limit, query.cursor), caller)

    def list_queue(self, admin, query):
        """Items in one status, newest first (the moderation queue)."""
        return self.page(self.store.newest_where("status", query.status, query.limit, query.cursor), admin)

    # --- comments ----------------------------------------------------------------------

    def add_comment(self, caller, item_id, body):
        refused = f"No such {self.kind}, or it does not take comments."
        item = self.store.get(item_id)
        if item is None or item["status"] != "approved":
            raise not_found(refused)
        comment_id = new_id()
        doc = {self.store.parent_field: item_id, "author_id": caller.id, "author_username": caller.username,
               "body": body.body, "created_at": utcnow()}
        try:
            self.store.add_comment(comment_id, doc, caller)
        except Gone as exc:
            raise not_found(refused) from exc
        return {"comment": self.comment_view(comment_id, doc)}

    def list_comments(self, caller, item_id, query):
        self.visible_item(caller, item_id)
        return page_response(self.store.comments_of(item_id, query.limit, query.cursor), self.comment_view)

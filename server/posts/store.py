"""Firestore side of posts and comments: documents, commits with their audit events, queries.

Documents: `posts/{id}` (with `photo_ids`, the ids of its photos in order),
`comments/{id}` (with `post_id`) and the gates `approved_posts/{post_id}`; how
they change together is server/moderation/store.py's, but for the approval of a
post with its photos (approve_with_photos).
"""

from ..kernel.audit import write_event
from ..kernel.collections import APPROVED_POSTS, COMMENTS, POSTS
from ..moderation.store import ModeratedStore


class PostStore(ModeratedStore):
    collection = POSTS
    comments = COMMENTS
    gates = APPROVED_POSTS
    parent_field = "post_id"

    def __init__(self, datastore, photos=None, max_attempts=10):
        super().__init__(datastore, max_attempts)
        self.photos = photos  # the PhotoStore whose photos posts show

    def approve_with_photos(self, post_id, decide, actor):
        """Approves a post and its pending photos in one commit, each photo with its own
        `photo.approve` event; the post's event lists them (`photos_approved`)."""
        def along(doc, change):
            if not doc.get("photo_ids"):
                return [], {}
            moderation, at = change.updates["moderation"], change.updates["updated_at"]
            writes, reads, approved = self.photos.stage_approvals(
                doc.get("photo_ids", []), moderation, at, actor, because=f"{POSTS}/{post_id}")
            change.details["photos_approved"] = approved
            return writes, reads

        return self.change(post_id, decide, actor, along=along)

    def create_post(self, post_id, doc, actor):
        batch = self.datastore.batch()
        batch.create(self.ref(post_id), doc)
        write_event(batch, self.datastore, "post.create", f"{POSTS}/{post_id}", actor=actor,
                    details={"title_length": len(doc["title"]), "body_length": len(doc["body"])})
        batch.commit()

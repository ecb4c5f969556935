"""Firestore side of posts and comments: documents, commits with their audit events, queries.

Documents: `posts/{id}`, `comments/{id}` (with `post_id`) and the gates
`approved_posts/{post_id}`; how they change together is server/moderation/store.py's.
"""

from ..kernel.audit import write_event
from ..kernel.collections import APPROVED_POSTS, COMMENTS, POSTS
from ..moderation.store import ModeratedStore


class PostStore(ModeratedStore):
    collection = POSTS
    comments = COMMENTS
    gates = APPROVED_POSTS
    parent_field = "post_id"

    def create_post(self, post_id, doc, actor):
        batch = self.datastore.batch()
        batch.create(self.ref(post_id), doc)
        write_event(batch, self.datastore, "post.create", f"{POSTS}/{post_id}", actor=actor,
                    details={"title_length": len(doc["title"]), "body_length": len(doc["body"])})
        batch.commit()

"""Firestore side of posts and comments: documents, commits with their audit events, queries.

Documents: `posts/{id}`, `comments/{id}` (with `post_id`) and the gates
`approved_posts/{post_id}`; how they change together is server/moderated.py's.
"""

from google.cloud import firestore as gfs
from google.cloud.firestore_v1 import FieldFilter

from ..audit.events import write_event
from ..common import paginate
from ..moderated import Gone, ModeratedStore

# Gone is raised by add_comment; importers of this module catch it.
__all__ = ["Gone", "PostStore"]

POSTS = "posts"
COMMENTS = "comments"
GATES = "approved_posts"


class PostStore(ModeratedStore):
    collection = POSTS
    comments = COMMENTS
    gates = GATES
    parent_field = "post_id"

    def create_post(self, post_id, doc, actor):
        batch = self.datastore.batch()
        batch.create(self.ref(post_id), doc)
        write_event(batch, self.datastore, "post.create", f"{POSTS}/{post_id}", actor=actor,
                    details={"title_length": len(doc["title"]), "body_length": len(doc["body"])})
        batch.commit()

    # --- queries -----------------------------------------------------------------
    # Each is backed by a composite index in firestore.indexes.json.

    def _posts_where(self, field_name, value, limit, cursor):
        ref = self.datastore.collection(POSTS)
        query = (ref.where(filter=FieldFilter(field_name, "==", value))
                 .order_by("created_at", direction=gfs.Query.DESCENDING))
        return paginate(query, ref, limit, cursor)

    def posts_with_status(self, status, limit, cursor):
        """(status ASC, created_at DESC): the public feed and the moderation queue."""
        return self._posts_where("status", status, limit, cursor)

    def posts_of(self, author_id, limit, cursor):
        """(author_id ASC, created_at DESC)."""
        return self._posts_where("author_id", author_id, limit, cursor)

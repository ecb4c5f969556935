"""Firestore side of posts and comments: documents, commits with their audit events, queries.

Documents:
- `posts/{id}`: the post, its status, moderation record and `comment_count`.
- `comments/{id}`: one comment, with `post_id`.
- `approved_posts/{post_id}`: exists exactly while the post is approved (the
  "gate"). Approving creates it, un-approving (edit, reject) and deleting
  remove it, in the same commit as the post's change.

No transactions (no read locks), per FIRESTORE-EMULATOR.md:
- A comment is one blind batch: create the comment, `Increment(1)` the
  post's `comment_count`, touch the gate, write the audit event. `update`
  carries an exists=True precondition, and Firestore has no precondition on
  a field's value, so the gate turns "the post is still approved" into
  "the gate still exists": if the post was deleted, edited back to pending
  or rejected after our read, the whole batch fails and nothing is written.
  Concurrent comments never conflict with each other: increments commute.
- Changes of the post itself (edit, approve, reject, delete) are rare: read
  the post, decide, and commit with a precondition on the post's
  update_time, retrying from a fresh read when anything (e.g. a comment)
  changed it in between. An admin therefore never approves a text the
  author changed after the admin's read.
"""

import logging
from dataclasses import dataclass, field

from google.api_core import exceptions as gexc
from google.cloud import firestore as gfs
from google.cloud.firestore_v1 import FieldFilter

from ..audit.events import write_event
from ..common import paginate
from ..datastore import Increment
from ..errors import unavailable

log = logging.getLogger(__name__)

POSTS = "posts"
COMMENTS = "comments"
GATES = "approved_posts"

# Writes per commit stay well under Firestore's 500.
DELETE_CHUNK = 400


class Gone(Exception):
    """The post vanished or stopped being approved before our commit."""


@dataclass
class Change:
    """What to do to one post: the plan a service function returns for `change_post`."""

    action: str                      # audit action, e.g. "post.approve"
    updates: dict | None = None      # fields to update; None deletes the post
    details: dict = field(default_factory=dict)

    @property
    def deletes(self):
        return self.updates is None


class PostStore:
    def __init__(self, datastore, max_attempts=10):
        self.datastore = datastore
        self.client = datastore.client
        self.max_attempts = max_attempts

    def _post_ref(self, post_id):
        return self.datastore.doc(POSTS, post_id)

    def post(self, post_id):
        snap = self._post_ref(post_id).get()
        return snap.to_dict() if snap.exists else None

    def create_post(self, post_id, doc, actor):
        batch = self.datastore.batch()
        batch.create(self._post_ref(post_id), doc)
        write_event(batch, self.datastore, "post.create", f"{POSTS}/{post_id}", actor=actor,
                    details={"title_length": len(doc["title"]), "body_length": len(doc["body"])})
        batch.commit()

    def change_post(self, post_id, decide, actor):
        """Applies decide(post_dict or None) -> Change to one post, optimistically.

        `decide` may raise (not found, forbidden, conflict); it is called again
        on a fresh read whenever the post changed before our commit. Returns
        the post as written (None once deleted).
        """
        ref = self._post_ref(post_id)
        for _attempt in range(self.max_attempts):
            snap = ref.get()
            doc = snap.to_dict() if snap.exists else None
            change = decide(doc)
            # Comment ids are read after the post, so any comment committed
            # later has moved the post's update_time and fails our precondition.
            comment_ids = self._comment_ids(post_id, DELETE_CHUNK) if change.deletes else []
            batch = self.datastore.batch()
            precondition = self.client.write_option(last_update_time=snap.update_time)
            gate = self.datastore.doc(GATES, post_id)
            if change.deletes:
                batch.delete(ref, option=precondition)
                batch.delete(gate)
                for comment_id in comment_ids:
                    batch.delete(self.datastore.doc(COMMENTS, comment_id))
            else:
                batch.update(ref, change.updates, option=precondition)
                status = change.updates.get("status", doc["status"])
                if status == "approved":
                    batch.set(gate, {"post_id": post_id, "approved_at": change.updates["updated_at"]})
                else:
                    batch.delete(gate)
            write_event(batch, self.datastore, change.action, f"{POSTS}/{post_id}", actor=actor,
                        details=change.details)
            try:
                batch.commit()
            except (gexc.FailedPrecondition, gexc.NotFound):
                continue  # someone changed or deleted the post since our read: decide again
            if change.deletes:
                if len(comment_ids) == DELETE_CHUNK:
                    self._delete_rest_of_comments(post_id)
                return None
            return {**doc, **change.updates}
        raise unavailable("The post kept changing; try again.")

    def add_comment(self, comment_id, doc, actor):
        """One blind batch: comment, counter, gate check, audit event. Raises Gone."""
        post_id = doc["post_id"]
        batch = self.datastore.batch()
        batch.create(self.datastore.doc(COMMENTS, comment_id), doc)
        batch.update(self._post_ref(post_id), {"comment_count": Increment(1)})
        batch.update(self.datastore.doc(GATES, post_id), {"last_comment_at": doc["created_at"]})
        write_event(batch, self.datastore, "comment.create", f"{COMMENTS}/{comment_id}", actor=actor,
                    details={"post_id": post_id, "body_length": len(doc["body"])})
        try:
            batch.commit()
        except gexc.NotFound as exc:  # the post or its gate is gone: deleted or no longer approved
            raise Gone(post_id) from exc

    def _comment_ids(self, post_id, limit):
        query = (self.datastore.collection(COMMENTS)
                 .where(filter=FieldFilter("post_id", "==", post_id)).limit(limit))
        return [snap.id for snap in query.select([]).stream()]

    def _delete_rest_of_comments(self, post_id):
        """The delete has committed; leftovers are unreachable, so a failure here is only logged."""
        try:
            self.delete_comments_of(post_id)
        except Exception:  # a later delete or a sweep removes them
            log.exception("could not delete the remaining comments of deleted post %s", post_id)

    def delete_comments_of(self, post_id):
        """The rest of a deleted post's comments (beyond the first commit); unreachable already."""
        while ids := self._comment_ids(post_id, DELETE_CHUNK):
            batch = self.datastore.batch()
            for comment_id in ids:
                batch.delete(self.datastore.doc(COMMENTS, comment_id))
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

    def comments_of(self, post_id, limit, cursor):
        """(post_id ASC, created_at ASC): oldest first."""
        ref = self.datastore.collection(COMMENTS)
        query = (ref.where(filter=FieldFilter("post_id", "==", post_id))
                 .order_by("created_at", direction=gfs.Query.ASCENDING))
        return paginate(query, ref, limit, cursor)

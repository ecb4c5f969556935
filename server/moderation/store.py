"""Firestore side shared by moderated content with comments (posts, photos).

Each kind has three collections:
- the items (`posts/{id}`, `photos/{id}`): status, moderation record, `comment_count`;
- their comments (one document each, naming the item in `parent_field`);
- the gates (`approved_posts/{id}`, ...): a gate exists exactly while its item is
  approved. Approving creates it, un-approving and deleting remove it, in the
  same commit as the item's change.

No transactions (no read locks), per FIRESTORE-EMULATOR.md:
- A comment is one blind batch: create the comment, `Increment(1)` the item's
  `comment_count`, touch the gate, write the audit event. `update` carries an
  exists=True precondition, and Firestore has no precondition on a field's
  value, so the gate turns "the item is still approved" into "the gate still
  exists": if the item was deleted, edited back to pending or rejected after
  our read, the whole batch fails and nothing is written. Concurrent comments
  never conflict with each other: increments commute.
- Changes of the item itself (edit, approve, reject, delete) are rare: one
  guarded commit (kernel/commits.py, Datastore.guarded) reads the item,
  decides, and commits with a precondition on the item's update_time, reading
  and deciding again when anything (e.g. a comment) changed it in between. An
  admin therefore never approves content the author changed after the
  admin's read.
"""

import logging

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter

from ..datastore import Increment, paginate
from ..kernel.audit import audit_write, write_event
from ..kernel.commits import Plan, RetryBudget, Write

log = logging.getLogger(__name__)


class Gone(Exception):
    """The item vanished or stopped being approved before our commit."""


class ModeratedStore:
    """The documents of one kind of moderated content; subclasses name the collections."""

    collection: str    # the items, e.g. "posts"
    comments: str      # their comments, e.g. "comments"
    gates: str         # e.g. "approved_posts"
    parent_field: str  # the field of a comment (and a gate) naming its item, e.g. "post_id"
    delete_chunk = 400  # writes per commit stay well under Firestore's 500

    def __init__(self, datastore, max_attempts=10):
        self.datastore = datastore
        self.budget = RetryBudget(attempts=max_attempts, message="The item kept changing; try again.")

    def ref(self, item_id):
        return self.datastore.doc(self.collection, item_id)

    def get(self, item_id):
        snap = self.ref(item_id).get()
        return snap.to_dict() if snap.exists else None

    def change(self, item_id, decide, actor, along=None):
        """Applies decide(item_dict or None) -> moderation.models.Change to one item, guarded.

        `decide` may raise (not found, forbidden, conflict); it is called again
        on a fresh read whenever the item changed before our commit. `along(doc,
        change) -> (writes, reads)`, when given, adds writes that commit with the
        change, guarded by the update times in `reads` (one failing retries
        everything). Returns the item as written (None once deleted).
        """
        key = (self.collection, item_id)

        def plan(docs):
            doc = docs[key].data
            change = decide(doc)
            # Comment ids are read after the item, so any comment committed
            # later has moved the item's update_time and fails our precondition.
            comment_ids = self._comment_ids(item_id, self.delete_chunk) if change.deletes else []
            writes = self._change_writes(item_id, doc, change, comment_ids)
            extra_writes, extra_reads = along(doc, change) if along is not None else ([], {})
            writes.append(audit_write(change.action, f"{self.collection}/{item_id}", actor=actor,
                                      details=change.details))
            return Plan(writes + extra_writes, result=(doc, change, comment_ids), reads=extra_reads)

        doc, change, comment_ids = self.datastore.guarded([key], plan, self.budget)
        if change.deletes:
            self.after_delete(item_id, doc)
            if len(comment_ids) == self.delete_chunk:
                self._delete_rest_of_comments(item_id)
            return None
        return {**doc, **change.updates}

    def _change_writes(self, item_id, doc, change, comment_ids):
        """The item's change (its update or delete carries the update time read) and its gate's."""
        if change.deletes:
            return [Write("delete", self.collection, item_id), Write("delete", self.gates, item_id),
                    *(Write("delete", self.comments, comment_id) for comment_id in comment_ids)]
        if change.updates.get("status", doc["status"]) == "approved":
            gate = Write("set", self.gates, item_id,
                         {self.parent_field: item_id, "approved_at": change.updates["updated_at"]})
        else:
            gate = Write("delete", self.gates, item_id)
        return [Write("update", self.collection, item_id, change.updates), gate]

    def after_delete(self, item_id, doc):
        """Called once the deletion of an item has committed (e.g. to remove stored files)."""

    def add_comment(self, comment_id, doc, actor):
        """One blind batch: comment, counter, gate check, audit event. Raises Gone."""
        item_id = doc[self.parent_field]
        batch = self.datastore.batch()
        batch.create(self.datastore.doc(self.comments, comment_id), doc)
        batch.update(self.ref(item_id), {"comment_count": Increment(1)})
        batch.update(self.datastore.doc(self.gates, item_id), {"last_comment_at": doc["created_at"]})
        write_event(batch, self.datastore, "comment.create", f"{self.comments}/{comment_id}", actor=actor,
                    details={self.parent_field: item_id, "body_length": len(doc["body"])})
        try:
            batch.commit()
        except gexc.NotFound as exc:  # the item or its gate is gone: deleted or no longer approved
            raise Gone(item_id) from exc

    def _comment_ids(self, item_id, limit):
        query = (self.datastore.collection(self.comments)
                 .where(filter=FieldFilter(self.parent_field, "==", item_id)).limit(limit))
        return [snap.id for snap in query.select([]).stream()]

    def _delete_rest_of_comments(self, item_id):
        """The delete has committed; leftovers are unreachable, so a failure here is only logged."""
        try:
            self.delete_comments_of(item_id)
        except Exception:  # a later delete or a sweep removes them
            log.exception("could not delete the remaining comments of deleted %s/%s", self.collection, item_id)

    def delete_comments_of(self, item_id):
        """The rest of a deleted item's comments (beyond the first commit); unreachable already."""
        while ids := self._comment_ids(item_id, self.delete_chunk):
            batch = self.datastore.batch()
            for comment_id in ids:
                batch.delete(self.datastore.doc(self.comments, comment_id))
            batch.commit()

    def newest_where(self, field_name, value, limit, cursor):
        """Items whose `field_name` is `value`, newest first: (status | owner ASC, created_at DESC),
        each backed by a composite index in firestore.indexes.json."""
        ref = self.datastore.collection(self.collection)
        query = ref.where(filter=FieldFilter(field_name, "==", value))
        return paginate(query, ref, limit, cursor, order_by="created_at")

    def comments_of(self, item_id, limit, cursor):
        """(parent_field ASC, created_at ASC): oldest first."""
        ref = self.datastore.collection(self.comments)
        query = ref.where(filter=FieldFilter(self.parent_field, "==", item_id))
        return paginate(query, ref, limit, cursor, order_by="created_at", descending=False)

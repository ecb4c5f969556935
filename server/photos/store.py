"""Firestore and Cloud Storage side of photos: objects, documents, commits with their audit events, queries.

Documents:
- `photos/{id}`: the photo, its status, moderation record, `comment_count`
  and the names of its two objects (`image_object`, `thumbnail_object`).
- `photo_comments/{id}`: one comment, with `photo_id`.
- `approved_photos/{photo_id}`: exists exactly while the photo is approved
  (the "gate" comments check, as for posts).

Objects (Cloud Storage): `photos/{photo_id}/{random}-image` and `...-thumbnail`.
The random part is fresh for every upload, so only the document that is about
to be committed can name them.

Nothing half-stored:
- Create: upload the objects first, then commit the document with its audit
  event in one batch; when the commit fails (or anything between), delete
  the objects again. A crash in between leaves objects no document names:
  `flask photos verify` lists them (and `--delete-orphans` removes them).
- Delete: commit the deletion (document, gate, comments, audit event) with a
  precondition on the document's update time, then delete the objects. A
  failure there leaves unreachable objects, listed by the same verifier.

No transactions (no read locks), per FIRESTORE-EMULATOR.md: comments are
one blind batch with `Increment`; changes of the photo itself (approve,
reject, delete) commit with an update-time precondition and decide again
from a fresh read when something changed in between.
"""

import logging
import secrets
from dataclasses import dataclass, field

from google.api_core import exceptions as gexc
from google.cloud import firestore as gfs
from google.cloud.firestore_v1 import FieldFilter

from ..audit.events import write_event
from ..common import paginate
from ..datastore import Increment
from ..errors import unavailable

log = logging.getLogger(__name__)

PHOTOS = "photos"
COMMENTS = "photo_comments"
GATES = "approved_photos"
OBJECT_PREFIX = "photos/"
OBJECT_FIELDS = ("image_object", "thumbnail_object")

# Writes per commit stay well under Firestore's 500.
DELETE_CHUNK = 400


class Gone(Exception):
    """The photo vanished or stopped being approved before our commit."""


@dataclass
class Change:
    """What to do to one photo: the plan a service function returns for `change_photo`."""

    action: str                      # audit action, e.g. "photo.approve"
    updates: dict | None = None      # fields to update; None deletes the photo
    details: dict = field(default_factory=dict)

    @property
    def deletes(self):
        return self.updates is None


def object_names(photo_id):
    """Fresh, unguessable names for a new photo's image and thumbnail."""
    stem = f"{OBJECT_PREFIX}{photo_id}/{secrets.token_urlsafe(18)}"
    return f"{stem}-image", f"{stem}-thumbnail"


def photo_id_of(object_name):
    """The photo id an object name belongs to, or None for a name outside our scheme."""
    parts = object_name.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == OBJECT_PREFIX.rstrip("/") else None


class PhotoStore:
    def __init__(self, datastore, objects, max_attempts=10):
        self.datastore = datastore
        self.objects = objects
        self.max_attempts = max_attempts

    def _photo_ref(self, photo_id):
        return self.datastore.doc(PHOTOS, photo_id)

    def photo(self, photo_id):
        snap = self._photo_ref(photo_id).get()
        return snap.to_dict() if snap.exists else None

    def object_bytes(self, name):
        return self.objects.get(name)

    def create_photo(self, photo_id, doc, uploads, actor):
        """Stores [(object name, bytes, content type)], then the document and its audit event.

        Any failure after the first upload removes what was uploaded before it is raised.
        """
        uploaded = []
        try:
            for name, data, content_type in uploads:
                uploaded.append(name)
                self.objects.put(name, data, content_type)
            batch = self.datastore.batch()
            batch.create(self._photo_ref(photo_id), doc)
            write_event(batch, self.datastore, "photo.create", f"{PHOTOS}/{photo_id}", actor=actor,
                        details={"content_type": doc["content_type"], "bytes": doc["bytes"],
                                 "width": doc["width"], "height": doc["height"], "tags": doc["tags"]})
            batch.commit()
        except BaseException:
            self.objects.delete_quietly(uploaded)
            raise

    def change_photo(self, photo_id, decide, actor):
        """Applies decide(photo_dict or None) -> Change to one photo, optimistically.

        `decide` may raise (not found, forbidden, conflict); it is called again
        on a fresh read whenever the photo changed before our commit. Returns
        the photo as written (None once deleted).
        """
        ref = self._photo_ref(photo_id)
        for _attempt in range(self.max_attempts):
            snap = ref.get()
            doc = snap.to_dict() if snap.exists else None
            change = decide(doc)
            # Comment ids are read after the photo, so any comment committed
            # later has moved the photo's update_time and fails our precondition.
            comment_ids = self._comment_ids(photo_id, DELETE_CHUNK) if change.deletes else []
            batch = self.datastore.batch()
            precondition = self.datastore.client.write_option(last_update_time=snap.update_time)
            gate = self.datastore.doc(GATES, photo_id)
            if change.deletes:
                batch.delete(ref, option=precondition)
                batch.delete(gate)
                for comment_id in comment_ids:
                    batch.delete(self.datastore.doc(COMMENTS, comment_id))
            else:
                batch.update(ref, change.updates, option=precondition)
                if change.updates["status"] == "approved":
                    batch.set(gate, {"photo_id": photo_id, "approved_at": change.updates["updated_at"]})
                else:
                    batch.delete(gate)
            write_event(batch, self.datastore, change.action, f"{PHOTOS}/{photo_id}", actor=actor,
                        details=change.details)
            try:
                batch.commit()
            except (gexc.FailedPrecondition, gexc.NotFound):
                continue  # someone changed or deleted the photo since our read: decide again
            if change.deletes:
                self._after_delete(photo_id, doc, more_comments=len(comment_ids) == DELETE_CHUNK)
                return None
            return {**doc, **change.updates}
        raise unavailable("The photo kept changing; try again.")

    def _after_delete(self, photo_id, doc, more_comments):
        """The deletion has committed: what is left is unreachable, so failures are only logged."""
        self.objects.delete_quietly(doc[name] for name in OBJECT_FIELDS)
        if more_comments:
            try:
                while ids := self._comment_ids(photo_id, DELETE_CHUNK):
                    batch = self.datastore.batch()
                    for comment_id in ids:
                        batch.delete(self.datastore.doc(COMMENTS, comment_id))
                    batch.commit()
            except Exception:  # a later sweep removes them
                log.exception("could not delete the remaining comments of deleted photo %s", photo_id)

    def add_comment(self, comment_id, doc, actor):
        """One blind batch: comment, counter, gate check, audit event. Raises Gone."""
        photo_id = doc["photo_id"]
        batch = self.datastore.batch()
        batch.create(self.datastore.doc(COMMENTS, comment_id), doc)
        batch.update(self._photo_ref(photo_id), {"comment_count": Increment(1)})
        batch.update(self.datastore.doc(GATES, photo_id), {"last_comment_at": doc["created_at"]})
        write_event(batch, self.datastore, "comment.create", f"{COMMENTS}/{comment_id}", actor=actor,
                    details={"photo_id": photo_id, "body_length": len(doc["body"])})
        try:
            batch.commit()
        except gexc.NotFound as exc:  # the photo or its gate is gone: deleted or no longer approved
            raise Gone(photo_id) from exc

    def _comment_ids(self, photo_id, limit):
        query = (self.datastore.collection(COMMENTS)
                 .where(filter=FieldFilter("photo_id", "==", photo_id)).limit(limit))
        return [snap.id for snap in query.select([]).stream()]

    # --- queries -----------------------------------------------------------------
    # Each is backed by a composite index in firestore.indexes.json.

    def photos_where(self, limit, cursor, status=None, owner_username=None, owner_id=None, tag=None):
        """Newest first, filtered by any of: status, owner, tag (filters in this order, as the indexes)."""
        ref = self.datastore.collection(PHOTOS)
        query = ref
        for field_name, value in (("status", status), ("owner_username", owner_username),
                                  ("owner_id", owner_id)):
            if value is not None:
                query = query.where(filter=FieldFilter(field_name, "==", value))
        if tag is not None:
            query = query.where(filter=FieldFilter("tags", "array_contains", tag))
        query = query.order_by("created_at", direction=gfs.Query.DESCENDING)
        return paginate(query, ref, limit, cursor)

    def comments_of(self, photo_id, limit, cursor):
        """(photo_id ASC, created_at ASC): oldest first."""
        ref = self.datastore.collection(COMMENTS)
        query = (ref.where(filter=FieldFilter("photo_id", "==", photo_id))
                 .order_by("created_at", direction=gfs.Query.ASCENDING))
        return paginate(query, ref, limit, cursor)

    # --- consistency between Firestore and Cloud Storage ----------------------------

    def referenced_objects(self):
        """{object name: photo id} for every photo document, streamed from Firestore."""
        names = {}
        for snap in self.datastore.collection(PHOTOS).select(list(OBJECT_FIELDS)).stream():
            doc = snap.to_dict()
            for name in OBJECT_FIELDS:
                names[doc.get(name)] = snap.id
        return names

    def stored_objects(self):
        """(name, time_created) of every object under the photos prefix."""
        return self.objects.list(OBJECT_PREFIX)

    def delete_objects(self, names):
        for name in names:
            self.objects.delete(name)

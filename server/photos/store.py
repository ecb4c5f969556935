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
  the objects again, unless the document turns out to exist (a time-out can
  hide a commit that succeeded) or Firestore cannot say. A crash in between,
  or that last case, leaves objects no document names:
  `flask photos verify` lists them (and `--delete-orphans` removes them).
- Delete: commit the deletion (document, gate, comments, audit event) with a
  precondition on the document's update time, then delete the objects. A
  failure there leaves unreachable objects, listed by the same verifier.

Comments, the gate and approve/reject/delete commits are server/moderation/store.py's.
"""

import secrets

from google.cloud.firestore_v1 import FieldFilter

from ..datastore import paginate
from ..kernel.audit import write_event
from ..kernel.collections import APPROVED_PHOTOS, PHOTO_COMMENTS, PHOTOS
from ..moderation.store import ModeratedStore

OBJECT_PREFIX = "photos/"
OBJECT_FIELDS = ("image_object", "thumbnail_object")


def object_names(photo_id):
    """Fresh, unguessable names for a new photo's image and thumbnail."""
    stem = f"{OBJECT_PREFIX}{photo_id}/{secrets.token_urlsafe(18)}"
    return f"{stem}-image", f"{stem}-thumbnail"


def photo_id_of(object_name):
    """The photo id an object name belongs to, or None for a name outside our scheme."""
    parts = object_name.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == OBJECT_PREFIX.rstrip("/") else None


class PhotoStore(ModeratedStore):
    collection = PHOTOS
    comments = PHOTO_COMMENTS
    gates = APPROVED_PHOTOS
    parent_field = "photo_id"

    def __init__(self, datastore, objects, max_attempts=10):
        super().__init__(datastore, max_attempts)
        self.objects = objects

    def object_bytes(self, name):
        return self.objects.get(name)

    def create_photo(self, photo_id, doc, uploads, actor):
        """Stores [(object name, bytes, content type)], then the document and its audit event.

        Any failure after the first upload removes what was uploaded before it is raised,
        unless the document did commit (a time-out can hide a success).
        """
        uploaded = []
        try:
            for name, data, content_type in uploads:
                uploaded.append(name)
                self.objects.put(name, data, content_type)
            batch = self.datastore.batch()
            batch.create(self.ref(photo_id), doc)
            write_event(batch, self.datastore, "photo.create", f"{PHOTOS}/{photo_id}", actor=actor,
                        details={"content_type": doc["content_type"], "bytes": doc["bytes"],
                                 "width": doc["width"], "height": doc["height"], "tags": doc["tags"]})
            batch.commit()
        except BaseException:
            if not self._may_exist(photo_id):
                self.objects.delete_quietly(uploaded)
            raise

    def _may_exist(self, photo_id):
        """After a failed commit: whether the document might be there after all.

        When Firestore cannot tell us, assume it is: an object without a document
        is found and removed by `photos verify`, a photo without its image is lost.
        """
        try:
            return self.ref(photo_id).get(timeout=10).exists
        except Exception:
            return True

    def after_delete(self, photo_id, doc):
        """The deletion has committed: the objects are unreachable, so failures are only logged."""
        self.objects.delete_quietly(doc[name] for name in OBJECT_FIELDS)

    # --- queries -----------------------------------------------------------------
    # Each is backed by a composite index in firestore.indexes.json.

    def photos_where(self, limit, cursor, status=None, owner_username=None, tag=None):
        """Newest first, filtered by any of: status, owner, tag (filters in this order, as the indexes).
        The gallery's query; the caller's own photos and the moderation queue are newest_where's."""
        ref = self.datastore.collection(PHOTOS)
        query = ref
        for field_name, value in (("status", status), ("owner_username", owner_username)):
            if value is not None:
                query = query.where(filter=FieldFilter(field_name, "==", value))
        if tag is not None:
            query = query.where(filter=FieldFilter("tags", "array_contains", tag))
        return paginate(query, ref, limit, cursor, order_by="created_at")

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

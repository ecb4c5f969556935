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

from google.api_core import exceptions as gexc
from google.cloud.firestore_v1 import FieldFilter

from ..datastore import paginate
from ..kernel.audit import audit_write, write_event
from ..kernel.collections import APPROVED_PHOTOS, PHOTO_COMMENTS, PHOTOS
from ..kernel.commits import Write
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

    def photos_where(self, limit, cursor, status=None, owner_username=None, tag=None, label=None):
        """Newest first, filtered by any of: status, owner, tag, label (filters in this order, as the
        indexes). Firestore takes one array filter per query, so a tag with a label reads the label
        as the equality `labelled.<label> == true`. The gallery's query; the caller's own photos and
        the moderation queue are newest_where's."""
        ref = self.datastore.collection(PHOTOS)
        query = ref
        for field_name, value in (("status", status), ("owner_username", owner_username)):
            if value is not None:
                query = query.where(filter=FieldFilter(field_name, "==", value))
        if tag is not None and label is not None:
            query = query.where(filter=FieldFilter(f"labelled.{label}", "==", True))
        if tag is not None:
            query = query.where(filter=FieldFilter("tags", "array_contains", tag))
        elif label is not None:
            query = query.where(filter=FieldFilter("label_names", "array_contains", label))
        return paginate(query, ref, limit, cursor, order_by="created_at")

    # --- photos in posts ----------------------------------------------------------------

    def read_many(self, photo_ids):
        """{(collection, id): ReadDoc} of `photo_ids` (missing ones with data None), in one round trip."""
        return self.datastore.read([(self.collection, photo_id) for photo_id in photo_ids])

    def get_many(self, photo_ids):
        """{id: document} of the photos that exist among `photo_ids`."""
        return {photo_id: read.data for (_, photo_id), read in self.read_many(photo_ids).items() if read.exists}

    def stage_approvals(self, photo_ids, moderation, at, actor, because):
        """The approval of each pending photo among `photo_ids` as writes for a guarded commit:
        its update (guarded by the update time read: a photo deleted or moderated since fails the
        whole commit, which the caller retries), its gate and its `photo.approve` event, whose
        details name `because` (e.g. "posts/p1"). Returns (writes, reads, ids approved)."""
        reads = self.read_many(photo_ids)
        writes, approved = [], []
        for (_, photo_id), read in reads.items():
            if not read.exists or read.data.get("status") != "pending":
                continue  # an approved one stays so; a rejected one stays rejected (the moderator's word)
            writes += [
                Write("update", self.collection, photo_id,
                      {"status": "approved", "moderation": moderation, "updated_at": at}),
                Write("set", self.gates, photo_id, {self.parent_field: photo_id, "approved_at": at}),
                audit_write("photo.approve", f"{PHOTOS}/{photo_id}", actor=actor,
                            details={"from_status": "pending", "reason": None, "with": because}),
            ]
            approved.append(photo_id)
        return writes, reads, approved

    # --- machine labels ---------------------------------------------------------------

    def photos_to_label(self, everything=False):
        """(id, {image_object, labels?}) of the photos without labels (`everything`: all), streamed.
        Firestore cannot query for a missing field, so every photo is read (two fields of each)."""
        for snap in self.datastore.collection(PHOTOS).select(["image_object", "labels"]).stream():
            doc = snap.to_dict()
            if everything or "labels" not in doc:
                yield snap.id, doc

    def set_labels(self, photo_id, fields, actor=None):
        """Writes a photo's labels with a `photo.relabel` event; False when the photo is gone."""
        batch = self.datastore.batch()
        batch.update(self.ref(photo_id), fields)  # update: fails on a deleted photo, never recreates it
        write_event(batch, self.datastore, "photo.relabel", f"{PHOTOS}/{photo_id}", actor=actor,
                    details={"labels": fields["label_names"], "by": sorted({lab["by"] for lab in fields["labels"]})})
        try:
            batch.commit()
        except gexc.NotFound:
            return False
        return True

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

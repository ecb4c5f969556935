"""Photos: uploading them, their image bytes and the check of storage against Firestore;
seeing, deleting, moderating and commenting are ModeratedService's (server/moderation/service.py).

Visibility (as for posts): an approved photo, its image, thumbnail and
comments are public; a pending or rejected one exists only for its owner and
admins (404 for everyone else, never 403, so its existence does not leak).

Uploads: the image is checked and re-encoded by `images.clean` before
anything is stored; at most `decode_slots` images are decoded at once per
process, which bounds the memory that decoding can take (a 40-megapixel
image is 120-160 MB of pixels) whatever the number of concurrent uploads.

Machine labels (labels.py): inside the same slot, while the pixels are in
memory anyway, the labeller looks at a small grey copy. A labeller error or
time-out never refuses an upload: the photo is stored without `labels` (and
`flask photos relabel` labels it later). Stored as `labels` (what the API
shows), `label_names` (what `?label=` queries) and `labelled` (what `?tag=&label=`
queries), apart from the user's `tags`.
"""

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from ..kernel.clock import utcnow
from ..kernel.errors import DomainError, not_found, too_large
from ..kernel.ids import new_id
from ..kernel.views import document_view
from ..moderation.models import comment_view, moderation_view
from ..moderation.service import ModeratedService
from . import images, labels
from .models import Photo, PhotoComment
from .store import object_names, photo_id_of

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/photos"
KINDS = {"image": "image_object", "thumbnail": "thumbnail_object"}


def invalid_image(message):
    return DomainError(422, "invalid_image", message)


def photo_view(photo_id, doc, caller=None):
    return document_view(Photo, doc, id=photo_id, moderation=moderation_view(doc.get("moderation"), caller),
                         image_url=f"{API_PREFIX}/{photo_id}/image",
                         thumbnail_url=f"{API_PREFIX}/{photo_id}/thumbnail",
                         labels=doc.get("labels") or [])  # none stored: before labels, or the labeller failed


def label_fields(found):
    """The document fields of the labeller's answer; none when it failed (so relabel finds the photo)."""
    if found is None:
        return {}
    names = labels.label_names(found)
    # `labelled` (name -> true) serves ?tag=&label= together: an equality beside the tags' array filter.
    return {"labels": found, "label_names": names, "labelled": dict.fromkeys(names, True)}


photo_comment_view = comment_view(PhotoComment)


@dataclass(frozen=True)
class StoredImage:
    """Bytes to send, with what the HTTP layer needs to label and cache them."""

    data: bytes
    content_type: str
    etag: str
    public: bool  # approved: the same bytes for everyone, for as long as the name lives


class PhotoService(ModeratedService):
    """The use cases of photos and their comments over a PhotoStore."""

    kind = "photo"
    owner_field = "owner_id"
    item_view = staticmethod(photo_view)
    comment_view = staticmethod(photo_comment_view)

    def __init__(self, store, decode_slots=2, labeller=None):
        super().__init__(store)
        self._decode_slots = threading.BoundedSemaphore(decode_slots)
        # labels.GuardedLabeller (None: photos are stored unlabelled).
        self.labeller = labeller

    def _look(self, what):
        return None if self.labeller is None else (lambda pixels: self.labeller(pixels, what))

    # --- photos -------------------------------------------------------------------

    def create_photo(self, caller, fields, upload):
        """`fields` are the validated text parts; `upload` a file-like object (the image part)."""
        try:
            upload = images.open_upload(upload)  # the size first, before waiting for a slot
            with self._decode_slots:
                cleaned = images.clean(upload, look=self._look(f"an upload of {caller.username}"))
        except images.ImageTooLarge as exc:
            raise too_large(str(exc)) from exc
        except images.InvalidImage as exc:
            raise invalid_image(str(exc)) from exc
        photo_id = new_id()
        image_name, thumbnail_name = object_names(photo_id)
        now = utcnow()
        image, thumbnail = cleaned.image, cleaned.thumbnail
        doc = {
            "owner_id": caller.id, "owner_username": caller.username,
            "caption": fields.caption, "tags": fields.tags,
            "content_type": image.content_type, "width": image.width, "height": image.height,
            "bytes": len(image.data), "status": "pending", "comment_count": 0,
            "created_at": now, "updated_at": now, "moderation": None,
            "image_object": image_name, "thumbnail_object": thumbnail_name,
            "thumbnail_width": thumbnail.width, "thumbnail_height": thumbnail.height,
            "thumbnail_bytes": len(thumbnail.data),
            **label_fields(cleaned.seen),
        }
        self.store.create_photo(photo_id, doc, [
            (image_name, image.data, image.content_type),
            (thumbnail_name, thumbnail.data, thumbnail.content_type),
        ], caller)
        return self.envelope(photo_id, doc, caller)

    def get_image(self, caller, photo_id, kind):
        """The image or thumbnail bytes of a photo the caller may see."""
        doc = self.visible_item(caller, photo_id)
        name = doc[KINDS[kind]]
        data = self.store.object_bytes(name)
        if data is None:  # the photo is being deleted, or storage lost it (photos verify says which)
            raise not_found("No such photo.")
        return StoredImage(data, doc["content_type"], name.rsplit("/", 1)[-1], doc["status"] == "approved")

    def list_gallery(self, caller, query):
        """Approved photos, newest first, optionally of one tag or label and/or owner."""
        if query.label is not None and query.label not in labels.KNOWN_LABELS:
            return {"items": [], "next_cursor": None}  # no labeller sets it: nothing to query
        return self.page(self.store.photos_where(query.limit, query.cursor, status="approved",
                                                 owner_username=query.owner, tag=query.tag, label=query.label), caller)

    def relabel(self, everything=False):
        """Labels the stored photos that have no labels yet (`everything`: all of them again).

        Each photo is decoded from its stored image inside a decode slot, as an
        upload is; its labels are written with a `photo.relabel` audit event.
        """
        report = {"checked": 0, "labelled": 0, "with_labels": 0, "failed": []}
        for photo_id, doc in self.store.photos_to_label(everything):
            report["checked"] += 1
            data = self.store.object_bytes(doc["image_object"])
            found = None
            if data is not None and self.labeller is not None:
                try:
                    with self._decode_slots:
                        found = images.look_at(data, self._look(f"photo {photo_id}"))
                except Exception:  # a stored image Pillow cannot read: reported, the others go on
                    log.exception("could not decode the stored image of photo %s", photo_id)
            if found is None or not self.store.set_labels(photo_id, label_fields(found)):
                report["failed"].append(photo_id)
                continue
            report["labelled"] += 1
            report["with_labels"] += bool(found)
        return report

    # --- photos in posts (the narrow interface posts/ uses) -----------------------------

    def require_own(self, caller, photo_ids):
        """404 unless every id names an existing photo of the caller (before anything is written)."""
        docs = self.store.get_many(photo_ids)
        for photo_id in photo_ids:
            if photo_id not in docs or docs[photo_id]["owner_id"] != caller.id:
                raise not_found(f"No such photo of yours: {photo_id}.")

    def shown_in_posts(self, posts, caller=None):
        """For each post document, its photos as readers of the post (`caller`) may see them, in its order.

        A deleted or rejected photo is left out; a pending one is shown only with a post that
        is not approved, whose readers are its author (the photos' owner) and admins. An
        approved post has no pending photo (approving it approved them), so what a photo
        shows never depends on who reads. One read for all the posts' photos.
        """
        docs = self.store.get_many([photo_id for post in posts for photo_id in post.get("photo_ids", [])])
        shown = []
        for post in posts:
            allowed = {"approved"} if post["status"] == "approved" else {"approved", "pending"}
            shown.append([photo_view(photo_id, docs[photo_id], caller) for photo_id in post.get("photo_ids", [])
                          if photo_id in docs and docs[photo_id]["status"] in allowed])
        return shown

    # --- consistency ----------------------------------------------------------------

    def verify(self, grace=dt.timedelta(minutes=10), delete_orphans=False, now=None):
        """Objects without a document and documents without their objects.

        Objects younger than `grace` that no document names yet are uploads in
        flight (their commit is still to come); they are counted, not reported.
        """
        now = now or utcnow()
        referenced = self.store.referenced_objects()
        problems, in_flight, orphans, seen = [], 0, [], set()
        for name, created in self.store.stored_objects():
            seen.add(name)
            if name in referenced:
                continue
            if created and now - created < grace:
                in_flight += 1
                continue
            orphans.append(name)
            problems.append({"kind": "object_without_photo", "object": name, "photo_id": photo_id_of(name)})
        for name, photo_id in sorted(referenced.items(), key=lambda item: str(item[0])):
            if name not in seen:
                problems.append({"kind": "photo_without_object", "photo_id": photo_id, "object": name})
        if delete_orphans:
            self.store.delete_objects(orphans)
        return {"ok": not problems, "photos_checked": len(set(referenced.values())),
                "objects_checked": len(seen), "objects_in_flight": in_flight,
                "orphans_deleted": len(orphans) if delete_orphans else 0, "problems": problems}

"""HTTP routes of photos, their comments and moderation."""

from flask import current_app, make_response, request
from flask_openapi3 import APIBlueprint, Tag

from .. import limits
from ..content import CommentCreate, ModerationQuery, RejectRequest
from ..edge import current_caller, require_admin, require_user, requires
from ..kernel.errors import validation_error
from ..kernel.models import ErrorBody
from ..kernel.paging import ListQuery
from ..limits import limiter
from ..openapi import OPTIONAL_BEARER
from ..web import accepts_upload
from . import images
from .models import (
    PhotoCommentEnvelope,
    PhotoCommentPage,
    PhotoEnvelope,
    PhotoFields,
    PhotoPage,
    PhotoPath,
    PhotoQuery,
    PhotoUploadForm,
)
from .service import PhotoService
from .store import PhotoStore

BEARER = [{"bearer": []}]
ERRORS = {401: ErrorBody, 404: ErrorBody, 422: ErrorBody, 503: ErrorBody}
WRITE_ERRORS = {403: ErrorBody, 429: ErrorBody}
# The image part may be MAX_BYTES; the rest of the form (boundaries, headers, caption, tags) fits in 64 KiB.
UPLOAD_REQUEST_LIMIT = images.MAX_BYTES + 64 * 1024
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": PhotoUploadForm.model_json_schema()}}}
IMAGE_RESPONSE = {"description": "The image bytes, with their stored content type.",
                  "content": {t: {"schema": {"type": "string", "format": "binary"}}
                              for t in ("image/jpeg", "image/png", "image/webp")}}
# Object names are never reused, so an approved photo's bytes never change under its URL.
PUBLIC_CACHE = "public, max-age=31536000, immutable"

bp = APIBlueprint("photos", __name__, url_prefix="/api/v1", abp_tags=[Tag(name="photos")],
                  abp_responses=ERRORS)
admin_bp = APIBlueprint("photos_admin", __name__, url_prefix="/api/v1/admin", abp_tags=[Tag(name="admin")],
                        abp_security=BEARER, abp_responses={**ERRORS, 403: ErrorBody, 409: ErrorBody})


def photos() -> PhotoService:
    return current_app.extensions["photos"]


def _upload_parts():
    """The validated text parts and the one image part of the multipart form."""
    image_parts = request.files.getlist("image")
    if len(image_parts) != 1:
        raise validation_error("Send exactly one image.", [{"field": "image", "message": "one file part named image"}])
    unknown = sorted(set(request.files) - {"image"})
    repeated = sorted(name for name, values in request.form.lists() if len(values) > 1)
    if unknown or repeated:
        raise validation_error("Unexpected form parts.", [{"field": name, "message": "unexpected or repeated part"}
                                                          for name in unknown + repeated])
    return PhotoFields.model_validate(request.form.to_dict()), image_parts[0].stream


def _image_response(stored):
    response = make_response(stored.data)
    response.headers["Content-Type"] = stored.content_type
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    # Even opened on its own, the response can run nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Pending and rejected photos are their owner's and admins' only: never kept by a shared cache.
    response.headers["Cache-Control"] = PUBLIC_CACHE if stored.public else "private, no-store"
    response.set_etag(stored.etag)
    return response.make_conditional(request)


@bp.post("/photos", responses={201: PhotoEnvelope, 413: ErrorBody, 415: ErrorBody, **WRITE_ERRORS},
         security=BEARER, openapi_extensions={"requestBody": UPLOAD_BODY})
@requires("user")
@accepts_upload(UPLOAD_REQUEST_LIMIT)
@limiter.limit(limits.content_limit, key_func=limits.caller_key)
def upload_photo():
    """Uploads an image (multipart/form-data); it is re-encoded without metadata and stays `pending` until approved.

    422 `invalid_image` for anything but a single-frame JPEG, PNG or WebP of at
    most 40 million pixels; 413 `payload_too_large` over 10 MiB.
    """
    fields, upload = _upload_parts()
    return photos().create_photo(require_user(), fields, upload), 201


@bp.get("/photos", responses={200: PhotoPage}, security=OPTIONAL_BEARER)
def list_photos(query: PhotoQuery):
    """The public gallery: approved photos, newest first, optionally of one tag and/or owner. No token needed."""
    current_caller()
    return photos().list_gallery(query)


@bp.get("/photos/mine", responses={200: PhotoPage}, security=BEARER)
@requires("user")
def list_my_photos(query: ListQuery):
    """The caller's own photos in any status, newest first."""
    return photos().list_mine(require_user(), query)


@bp.get("/photos/<photo_id>", responses={200: PhotoEnvelope}, security=OPTIONAL_BEARER)
def get_photo(path: PhotoPath):
    """An approved photo for anyone; a pending or rejected one for its owner and admins only."""
    return photos().get_photo(current_caller(), path.photo_id)


@bp.get("/photos/<photo_id>/image", responses={"200": IMAGE_RESPONSE, 304: None}, security=OPTIONAL_BEARER)
def photo_image(path: PhotoPath):
    """The stored (re-encoded) image; visibility as for the photo."""
    return _image_response(photos().get_image(current_caller(), path.photo_id, "image"))


@bp.get("/photos/<photo_id>/thumbnail", responses={"200": IMAGE_RESPONSE, 304: None},
        security=OPTIONAL_BEARER)
def photo_thumbnail(path: PhotoPath):
    """The thumbnail (longest side 320 px); visibility as for the photo."""
    return _image_response(photos().get_image(current_caller(), path.photo_id, "thumbnail"))


@bp.delete("/photos/<photo_id>", responses={204: None, 403: ErrorBody}, security=BEARER)
@requires("user")
def delete_photo(path: PhotoPath):
    """Owner or admin; the stored image, thumbnail and comments go with it."""
    photos().delete_photo(require_user(), path.photo_id)
    return "", 204


@bp.post("/photos/<photo_id>/comments", responses={201: PhotoCommentEnvelope, **WRITE_ERRORS}, security=BEARER)
@requires("user")
@limiter.limit(limits.content_limit, key_func=limits.caller_key)
def create_comment(path: PhotoPath, body: CommentCreate):
    """Approved photos only (404 otherwise); `comment_count` rises by exactly one."""
    return photos().add_comment(require_user(), path.photo_id, body), 201


@bp.get("/photos/<photo_id>/comments", responses={200: PhotoCommentPage}, security=OPTIONAL_BEARER)
def list_comments(path: PhotoPath, query: ListQuery):
    """Comments of a photo the caller may see, oldest first."""
    return photos().list_comments(current_caller(), path.photo_id, query)


@admin_bp.get("/photos", responses={200: PhotoPage})
@requires("admin")
def moderation_queue(query: ModerationQuery):
    """Photos in one status (default `pending`), newest first."""
    return photos().list_queue(query)


@admin_bp.post("/photos/<photo_id>/approve", responses={200: PhotoEnvelope})
@requires("admin")
def approve_photo(path: PhotoPath):
    """Makes the photo public. 409 when it is already approved."""
    return photos().approve_photo(require_admin(), path.photo_id)


@admin_bp.post("/photos/<photo_id>/reject", responses={200: PhotoEnvelope})
@requires("admin")
def reject_photo(path: PhotoPath, body: RejectRequest):
    """Hides the photo (also an approved one) with a reason. 409 when it is already rejected."""
    return photos().reject_photo(require_admin(), path.photo_id, body.reason)


def init_app(app):
    store = PhotoStore(app.extensions["datastore"], app.extensions["objectstore"])
    app.extensions["photos"] = PhotoService(store, decode_slots=app.config["PHOTO_DECODE_SLOTS"])
    for blueprint in (bp, admin_bp):
        app.register_api(blueprint)

"""HTTP routes of photos, their comments and moderation."""

from flask import current_app, make_response, request

from ..edge import limits
from ..edge.caller import current_caller, require_user
from ..edge.limits import limiter
from ..edge.openapi import BEARER, OCTET_STREAM, OPTIONAL_BEARER, WRITE_ERRORS, binary_response, needs_part
from ..edge.web import accepts_upload
from ..kernel.caller import requires
from ..kernel.errors import validation_error
from ..kernel.models import ErrorBody
from ..moderation.routes import ModeratedRoutes
from . import images
from .models import PHOTO_RESPONSES, PhotoEnvelope, PhotoFields, PhotoPage, PhotoPath, PhotoQuery, PhotoUploadForm
from .service import PhotoService

# The image part may be MAX_BYTES; the rest of the form (boundaries, headers, caption, tags) fits in 64 KiB.
UPLOAD_REQUEST_LIMIT = images.MAX_BYTES + 64 * 1024
UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": PhotoUploadForm.model_json_schema()}}}
IMAGE_RESPONSE = binary_response("The image bytes, with their stored content type (`application/octet-stream` "
                                  "when the Accept header prefers it).", images.CONTENT_TYPES)
# Object names are never reused, so an approved photo's bytes never change under its URL.
PUBLIC_CACHE = "public, max-age=31536000, immutable"


def photos() -> PhotoService:
    return current_app.extensions["photos"]


shared = ModeratedRoutes("photo", __name__, PhotoPath, PHOTO_RESPONSES, photos, owner="owner")
bp, admin_bp = shared.bp, shared.admin_bp


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
    # A client that asks for plain bytes (Accept: application/octet-stream) gets them as such.
    response.headers["Content-Type"] = request.accept_mimetypes.best_match(
        [stored.content_type, OCTET_STREAM], stored.content_type)
    response.vary.add("Accept")
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
@needs_part("storage")
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
    return photos().list_gallery(current_caller(), query)


shared.add_item_routes()


@bp.get("/photos/<photo_id>/image", responses={"200": IMAGE_RESPONSE, 304: None}, security=OPTIONAL_BEARER)
@needs_part("storage")
def photo_image(path: PhotoPath):
    """The stored (re-encoded) image; visibility as for the photo."""
    return _image_response(photos().get_image(current_caller(), path.photo_id, "image"))


@bp.get("/photos/<photo_id>/thumbnail", responses={"200": IMAGE_RESPONSE, 304: None},
        security=OPTIONAL_BEARER)
@needs_part("storage")
def photo_thumbnail(path: PhotoPath):
    """The thumbnail (longest side 320 px); visibility as for the photo."""
    return _image_response(photos().get_image(current_caller(), path.photo_id, "thumbnail"))


shared.add_comment_and_moderation_routes(
    delete_doc="Owner or admin; the stored image, thumbnail and comments go with it.")

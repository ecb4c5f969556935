"""Checking and cleaning uploaded images with Pillow. Pure: bytes in, bytes out.

The order matters, cheapest and safest first:
1. the byte count (before anything is parsed);
2. the format from the content (Pillow's JPEG, PNG and WebP parsers only:
   never the file name or the client's content type);
3. the pixel count and frame count from the header, before any pixel is
   decoded (Pillow's own decompression-bomb guard is set to the same limit
   and its warning is an error, as a second line);
4. decoding, orientation applied (EXIF), then a fresh encoding of the pixels
   alone, in the same format: no EXIF, GPS, ICC, XMP, comments or text chunks,
   and nothing the original carried besides its pixels (a comment segment,
   bytes after the end marker) survives. A thumbnail is made from the same
   pixels.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
THUMBNAIL_SIDE = 320

# Pillow's guard, at our limit; its warning (limit < pixels <= 2 * limit) becomes an error too.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated image is refused, never padded with grey

# Pillow format -> (content type, format to encode in). MPO is how Pillow names a
# JPEG with a multi-picture header; with one frame it is an ordinary JPEG.
FORMATS = {
    "JPEG": ("image/jpeg", "JPEG"),
    "MPO": ("image/jpeg", "JPEG"),
    "PNG": ("image/png", "PNG"),
    "WEBP": ("image/webp", "WEBP"),
}
# The content types a stored image can have.
CONTENT_TYPES = tuple(dict.fromkeys(content_type for content_type, _ in FORMATS.values()))
# Parsers Pillow may try on the bytes: nothing else (no SVG, GIF, TIFF, PSD...).
PARSERS = ["JPEG", "PNG", "WEBP"]
ENCODER_OPTIONS = {
    "JPEG": {"quality": 88},
    "PNG": {"compress_level": 6},
    "WEBP": {"quality": 85, "method": 4},
}


class ImageTooLarge(ValueError):
    """More bytes than MAX_BYTES."""


class InvalidImage(ValueError):
    """Not a JPEG, PNG or WebP we accept; the message says why (safe to show)."""


@dataclass(frozen=True)
class Encoded:
    data: bytes
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class CleanImage:
    image: Encoded
    thumbnail: Encoded
    seen: object = None  # what clean()'s `look` made of the pixels (the machine labels)


def open_upload(source):
    """A seekable binary file of at most MAX_BYTES, from bytes or a file; ImageTooLarge beyond.

    A seekable file (werkzeug spools uploads over 500 KB to a temporary file) is
    measured without reading it, and Pillow later reads it from there.
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif not source.seekable():
        source = io.BytesIO(source.read(MAX_BYTES + 1))
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    if size > MAX_BYTES:
        raise ImageTooLarge(f"The image is larger than {MAX_BYTES} bytes.")
    if size == 0:
        raise InvalidImage("The file is empty.")
    return source


def clean(source, look=None) -> CleanImage:
    """The re-encoded image and its thumbnail, from bytes or a file; InvalidImage / ImageTooLarge.

    `look(pixels)`, when given, is called with the decoded, upright pixels while they
    are in memory anyway (the labeller); it must not raise. Its answer is `seen`.
    """
    upload = open_upload(source)
    try:
        with Image.open(upload, formats=PARSERS) as opened:
            content_type, encoder = _check_header(opened)
            opened.load()
            pixels = _pixels_only(opened, encoder)
    except (InvalidImage, ImageTooLarge):
        raise
    except Image.UnidentifiedImageError as exc:
        raise InvalidImage("Not a JPEG, PNG or WebP image.") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage(f"The image has more than {MAX_PIXELS} pixels.") from exc
    except Exception as exc:  # truncated or malformed data: Pillow raises many kinds
        raise InvalidImage("The image data is damaged or incomplete.") from exc
    image = _encode(pixels, encoder, content_type)
    thumbnail = _encode(_thumbnail(pixels), encoder, content_type)
    seen = look(pixels) if look is not None else None
    return CleanImage(image=image, thumbnail=thumbnail, seen=seen)


def look_at(data, look):
    """look(pixels) of an image the server stored itself (checked and upright already): the relabel."""
    with Image.open(io.BytesIO(data), formats=PARSERS) as opened:
        _check_header(opened)
        opened.load()
        return look(opened)


def _check_header(image):
    """Format, size and frames as the header declares them; nothing is decoded yet."""
    if image.format not in FORMATS:
        raise InvalidImage("Not a JPEG, PNG or WebP image.")
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage("The image has no pixels.")
    if width * height > MAX_PIXELS:
        raise InvalidImage(f"The image has more than {MAX_PIXELS} pixels.")
    if getattr(image, "is_animated", False) or getattr(image, "n_frames", 1) != 1:
        raise InvalidImage("Animated and multi-frame images are not accepted.")
    return FORMATS[image.format]


def _has_alpha(image):
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _pixels_only(image, encoder):
    """The upright pixels in a mode the encoder takes, with no metadata."""
    upright = image
    ImageOps.exif_transpose(upright, in_place=True)  # no copy of the pixels when nothing turns
    if encoder == "JPEG":
        keep = ("L", "RGB")
        target = "RGB"
    else:
        keep = ("L", "LA", "RGB", "RGBA") if encoder == "PNG" else ("RGB", "RGBA")
        target = "RGBA" if _has_alpha(upright) else "RGB"
    pixels = upright if upright.mode in keep else upright.convert(target)
    # Metadata travels in .info (exif, icc_profile, comment, xmp, text chunks, dpi...):
    # some encoders copy it from there, so the image we encode carries none.
    pixels.info = {}
    return pixels


def _thumbnail(image):
    width, height = image.size
    scale = min(1.0, THUMBNAIL_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == image.size:
        return image
    thumb = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    thumb.info = {}
    return thumb


def _encode(image, encoder, content_type):
    out = io.BytesIO()
    image.save(out, encoder, **ENCODER_OPTIONS[encoder])
    return Encoded(out.getvalue(), content_type, image.width, image.height)

"""The pure image checks (server/photos/images.py) on inputs HTTP tests do not need to carry."""

import io

import photo_samples as samples
import pytest
from PIL import Image

from server.photos import images


def roundtrip(data):
    cleaned = images.clean(data)
    return cleaned, Image.open(io.BytesIO(cleaned.image.data)), Image.open(io.BytesIO(cleaned.thumbnail.data))


@pytest.mark.parametrize("mode, fmt, expected_mode", [
    ("CMYK", "JPEG", "RGB"),
    ("L", "JPEG", "L"),
    ("P", "PNG", "RGB"),
    ("1", "PNG", "RGB"),
    ("LA", "PNG", "LA"),
    ("I;16", "PNG", "RGB"),
    ("RGBA", "WEBP", "RGBA"),
])
def test_every_mode_comes_out_in_a_mode_its_format_takes(mode, fmt, expected_mode):
    cleaned, image, thumb = roundtrip(samples.encode(Image.new(mode, (400, 200)), fmt))
    assert image.format == fmt and image.mode == expected_mode and image.size == (400, 200)
    assert thumb.size == (320, 160) and cleaned.thumbnail.content_type == cleaned.image.content_type


def test_palette_transparency_is_kept_as_alpha():
    image = Image.new("P", (50, 50), 0)
    image.putpalette([255, 0, 0, 0, 255, 0])
    _cleaned, out, _thumb = roundtrip(samples.encode(image, "PNG", transparency=0))
    assert out.mode == "RGBA" and out.getpixel((0, 0))[3] == 0


def test_small_images_are_not_enlarged_for_the_thumbnail():
    cleaned, _image, thumb = roundtrip(samples.encode(Image.new("RGB", (100, 30)), "PNG"))
    assert thumb.size == (100, 30) and cleaned.thumbnail.width == 100


def test_the_pixel_limit_is_exact():
    at_limit = samples.encode(Image.new("1", (8000, 5000)), "PNG")  # 40,000,000 pixels
    assert images.clean(at_limit).image.width == 8000
    over = samples.encode(Image.new("1", (8001, 5000)), "PNG")
    with pytest.raises(images.InvalidImage, match="40000000 pixels"):
        images.clean(over)


def test_the_byte_limit_is_checked_before_parsing():
    with pytest.raises(images.ImageTooLarge):
        images.open_upload(io.BytesIO(b"\0" * (images.MAX_BYTES + 1)))
    assert images.open_upload(b"\0" * images.MAX_BYTES).seek(0, io.SEEK_END) == images.MAX_BYTES


@pytest.mark.parametrize("data", [
    samples.encode(Image.new("RGB", (10, 10)), "GIF"),
    samples.encode(Image.new("RGB", (10, 10)), "BMP"),
    samples.encode(Image.new("RGB", (10, 10)), "TIFF"),
    b"%PDF-1.4\n",
    b"\xff\xd8\xff",  # a JPEG start and nothing else
])
def test_other_formats_and_fragments_are_invalid(data):
    with pytest.raises(images.InvalidImage):
        images.clean(data)

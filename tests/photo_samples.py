"""Images for the photo tests, good and hostile, made with Pillow (or by hand where Pillow would refuse)."""

import io
import struct
import zlib

from PIL import Image, PngImagePlugin

HTML = b"<html><body><script>alert('owned')</script></body></html>"
ORIENTATION = 0x0112
GPS_IFD = 0x8825


def encode(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def marked(size=(800, 400)):
    """A red image with a blue top-left corner block, to tell which way up it is stored."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, 80, 40))
    return image


def jpeg_with_gps_and_orientation(size=(800, 400)):
    """A landscape JPEG whose EXIF says "rotate 90° clockwise to view" (6), with a GPS position."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[0x010F] = "SpyCam"  # Make
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    return encode(marked(size), "JPEG", exif=exif, quality=90)


def jpeg_carrying_html():
    """HTML in a JPEG comment segment and again after the end-of-image marker."""
    return encode(marked((64, 48)), "JPEG", comment=HTML) + HTML


def png_with_text_chunks(size=(500, 300)):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", HTML.decode())
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret</x:xmpmeta>")
    image = Image.new("RGBA", size, (10, 200, 10, 128))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    return encode(image, "PNG", pnginfo=info, exif=exif)


def webp_with_metadata(size=(400, 400)):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    return encode(Image.new("RGB", size, (10, 10, 200)), "WEBP", exif=exif, xmp=b"<x:xmpmeta>secret</x:xmpmeta>")


def truncated_jpeg():
    data = encode(marked((640, 480)), "JPEG", quality=95)
    return data[: len(data) // 2]


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
       b'<script>alert(1)</script><rect width="100" height="100"/></svg>')


def _png_chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _bilevel_png_parts(width, height):
    """IHDR payload and zlib data of an all-black 1-bit image (compresses about 1000:1)."""
    row = b"\x00" + bytes((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0), data


def png_bomb(width=20_000, height=20_000):
    """A valid 1-bit PNG of width x height pixels, all black: about 48 KB on disk, 400 MP decoded.

    Written by hand: Pillow itself would not make one so large quickly.
    """
    header, data = _bilevel_png_parts(width, height)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def apng_bomb(frames=200, side=4000):
    """An animated PNG: each frame (16 MP) under the pixel limit, together 3.2 gigapixels, ~0.4 MB."""
    header, data = _bilevel_png_parts(side, side)
    seq = iter(range(2 * frames))

    def frame_control():
        return _png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", next(seq), side, side, 0, 0, 1, 100, 0, 0))

    chunks = [_png_chunk(b"IHDR", header), _png_chunk(b"acTL", struct.pack(">II", frames, 0)),
              frame_control(), _png_chunk(b"IDAT", data)]
    for _ in range(frames - 1):
        chunks += [frame_control(), _png_chunk(b"fdAT", struct.pack(">I", next(seq)) + data)]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks) + _png_chunk(b"IEND", b"")


def animated_webp(frames=3, size=(1000, 1000)):
    """An animated WebP (Pillow encodes it; kept small because encoding is slow)."""
    images = [Image.new("RGB", size, (255 * (i % 2), 0, 0)) for i in range(frames)]
    return encode(images[0], "WEBP", save_all=True, append_images=images[1:], duration=10, loop=0,
                  lossless=True, method=0)


def noise_jpeg(target_bytes, side=4000):
    """A JPEG of random pixels, about target_bytes long (for size and memory tests)."""
    import os

    quality = 95
    while True:
        noise = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        data = encode(noise, "JPEG", quality=quality)
        if len(data) <= target_bytes or quality < 20:
            return data
        quality -= 10

"""Image facts the service needs before (or instead of) decoding: the size from the header, the
media type from the first bytes, and bounded thumbnails.

The header readers look at a few fixed bytes (PNG ``IHDR``, GIF's screen descriptor, WebP's
``VP8``/``VP8L``/``VP8X`` chunk, the first JPEG start-of-frame marker) and never decode, so an
upload's pixel count is refused before any decoder sees it.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, features

from provenance.extract.containers import sniff_container

__all__ = ["THUMBNAIL_SIDE", "PixelLimitError", "image_size", "media_type", "thumbnail"]

#: The long side of a thumbnail, in pixels.
THUMBNAIL_SIDE = 256

_MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def media_type(head: bytes | bytearray) -> str:
    """The media type of an image by its first bytes (``application/octet-stream`` if unknown)."""
    return _MEDIA_TYPES.get(sniff_container(head) or "", "application/octet-stream")


def _jpeg_size(data: bytes | bytearray) -> tuple[int, int] | None:
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return None
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            return None
        if marker in _JPEG_SOF:
            if i + 9 > n:
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, height
        i += 2 + length
    return None


def image_size(data: bytes | bytearray) -> tuple[int, int] | None:
    """(width, height) from the image header, or None when the format or header is not known."""
    kind = media_type(data[:16])
    if kind == "image/png" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if kind == "image/gif" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if kind == "image/jpeg":
        return _jpeg_size(data)
    if kind == "image/webp":
        chunk = data[12:16]
        if chunk == b"VP8 " and len(data) >= 30:
            width = int.from_bytes(data[26:28], "little") & 0x3FFF
            height = int.from_bytes(data[28:30], "little") & 0x3FFF
            return width, height
        if chunk == b"VP8L" and len(data) >= 25:
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X" and len(data) >= 30:
            width = int.from_bytes(data[24:27], "little") + 1
            height = int.from_bytes(data[27:30], "little") + 1
            return width, height
    return None


class PixelLimitError(ValueError):
    """The image has more pixels than the caller allows decoding."""

    def __init__(self, width: int, height: int, limit: int) -> None:
        super().__init__(
            f"the image has {width * height} pixels ({width}x{height}), over the limit of {limit}"
        )


def thumbnail(data: bytes, max_pixels: int, side: int = THUMBNAIL_SIDE) -> tuple[bytes, str]:
    """A WebP (or PNG, when Pillow lacks WebP) at most ``side`` pixels on its long side, upright
    (EXIF orientation applied). Raises :class:`PixelLimitError` before decoding an image over
    ``max_pixels``, and whatever Pillow raises for an undecodable file."""
    with Image.open(io.BytesIO(data)) as opened:
        if opened.width * opened.height > max_pixels:
            raise PixelLimitError(opened.width, opened.height, max_pixels)
        opened.draft("RGB", (side * 2, side * 2))  # JPEG: decode at a reduced scale
        image = ImageOps.exif_transpose(opened)
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if alpha else "RGB")
    out = io.BytesIO()
    if features.check("webp"):
        image.save(out, format="WEBP", quality=80, method=4)
        return out.getvalue(), "image/webp"
    image.save(out, format="PNG", optimize=True)
    return out.getvalue(), "image/png"

"""The "stealth" payload NovelAI and Forge hide in the least significant bits of the pixels.

Layout (reference §4.3): bits taken column by column (down the first column, then the next), most
significant bit first; a 15-byte ASCII magic, a 32-bit big-endian payload length in bits, then the
payload. ``stealth_pnginfo`` / ``stealth_pngcomp`` use the alpha channel's LSB (one bit a pixel),
``stealth_rgbinfo`` / ``stealth_rgbcomp`` the LSBs of R, G and B in that order (three bits a
pixel); the ``comp`` variants hold gzip data. NovelAI writes ``stealth_pngcomp`` (gzip of a JSON
object of its text chunks), Forge the A1111 infotext.

Reading it decodes the pixels (Pillow), so callers ask only for images with an alpha channel and
within ``Limits.max_pixels``; only the columns that hold the magic, the length and the payload
are then turned into bits, and the payload is bounded by ``Limits.max_text_bytes``.
"""

from __future__ import annotations

import io
import zlib
from typing import TYPE_CHECKING

from PIL import Image

from provenance.extract._collect import Collector, inflate

if TYPE_CHECKING:  # numpy is imported only when an image is looked at for a payload
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["MAGICS", "read_stealth"]

#: magic -> (channels the bits are in, gzip-compressed)
MAGICS: dict[bytes, tuple[str, bool]] = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
_HEADER_BITS = 15 * 8 + 32


def read_stealth(data: bytes | memoryview, location: str, out: Collector) -> None:
    """Look for a stealth payload in the image in ``data``; keep it at ``location`` if found.

    The image must be an RGBA (or LA) PNG or WebP; anything else is silently not a carrier.
    """
    meta = out.meta
    limit = out.limits.max_pixels
    if meta.width is not None and meta.height is not None and meta.width * meta.height > limit:
        out.problem(f"the image is over {limit} pixels; no stealth payload was looked for")
        return
    try:
        with Image.open(io.BytesIO(data), formats=[str(meta.format).upper()]) as image:
            if image.mode not in ("RGBA", "LA"):
                return
            if image.width * image.height > limit:
                out.problem(f"the image is over {limit} pixels; no stealth payload was looked for")
                return
            image.load()
            import numpy as np

            pixels = np.asarray(image)
    except Exception as exc:  # Pillow raises many kinds on damaged image data
        out.problem(
            f"the pixels could not be decoded to look for a stealth payload ({type(exc).__name__})"
        )
        return
    planes = {"alpha": pixels[:, :, -1:]}
    if pixels.shape[2] == 4:
        planes["rgb"] = pixels[:, :, :3]
    for mode, plane in planes.items():
        bits = _Bits(plane)
        if bits.capacity < _HEADER_BITS:
            continue
        magic = bits.read(0, 15)
        if MAGICS.get(magic, ("", False))[0] != mode:
            continue
        _payload(bits, magic, location, out)
        return


class _Bits:
    """The LSBs of some channels of an image, column by column, as a stream of bytes."""

    def __init__(self, plane: NDArray[np.uint8]) -> None:
        self.plane = plane  # (height, width, channels)
        height, width, channels = plane.shape
        self.per_column = height * channels
        self.capacity = self.per_column * width

    def read(self, start_bit: int, count: int) -> bytes:
        end = start_bit + count * 8
        import numpy as np

        columns = -(-end // self.per_column)
        stream = self.plane[:, :columns, :].transpose(1, 0, 2).reshape(-1)[start_bit:end] & 1
        return np.packbits(stream).tobytes()


def _payload(bits: _Bits, magic: bytes, location: str, out: Collector) -> None:
    mode, compressed = MAGICS[magic]
    name = magic.decode("ascii")
    length_bits = int.from_bytes(bits.read(120, 4), "big")
    if length_bits > bits.capacity - _HEADER_BITS:
        out.problem(f"the {name} payload declares {length_bits} bits, more than the image holds")
        return
    size = length_bits // 8
    if size > out.limits.max_text_bytes:
        out.problem(f"the {name} payload is {size} bytes, over the limit; it was not read")
        return
    raw = bits.read(_HEADER_BITS, size)
    channel = "alpha-channel LSBs" if mode == "alpha" else "RGB LSBs"
    notes = [f"{name}: {channel}" + (", gzip" if compressed else "")]
    if compressed:
        limit = out.limits.max_text_bytes
        inflated, note = inflate(raw, limit, location, wbits=16 + zlib.MAX_WBITS)
        if inflated is None:
            out.problem(note or f"the {name} payload could not be decompressed")
            return
        if note:
            out.problem(f"{location}: {note}")
            notes.append(note)
        raw = inflated
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
        notes.append("invalid UTF-8 replaced")
        out.problem(f"{location} holds invalid UTF-8")
    out.add(location, text=text, note="; ".join(notes))

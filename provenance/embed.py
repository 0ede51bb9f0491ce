"""Writing our metadata into a PNG: text chunks and XMP spliced in before the first IDAT.

Chunk payloads are made with Pillow's ``PngInfo`` (tEXt when the text is Latin-1, otherwise an
uncompressed iTXt, as Pillow and the webui do); they are inserted into an already encoded PNG so
the image data is compressed once and its digest can be signed before the metadata exists.
"""

from __future__ import annotations

import struct
import zlib

from PIL.PngImagePlugin import PngInfo

from provenance.errors import ContainerError
from provenance.extract.png import PNG_SIGNATURE

__all__ = ["insert_text_chunks", "png_chunk"]


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    """One encoded chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _first_idat_offset(png: bytes) -> int:
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(png):
        length, ctype = struct.unpack(">I4s", png[offset : offset + 8])
        if ctype == b"IDAT":
            return offset
        offset += 12 + length
    raise ContainerError("encoded PNG has no IDAT chunk")


def insert_text_chunks(png: bytes, texts: list[tuple[str, str]], xmp: str | None = None) -> bytes:
    """``png`` with ``texts`` (keyword, text) and an XMP packet inserted before the first IDAT."""
    info = PngInfo()
    for keyword, text in texts:
        info.add_text(keyword, text)
    if xmp is not None:
        info.add_itxt("XML:com.adobe.xmp", xmp, zip=False)
    chunks = b"".join(png_chunk(ctype, data) for ctype, data, *_ in info.chunks)
    at = _first_idat_offset(png)
    return png[:at] + chunks + png[at:]

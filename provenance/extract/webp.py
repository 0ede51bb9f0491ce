"""The lenient WebP metadata reader: the RIFF chunks around the image, never the image itself.

Locations: ``webp:exif:<IFD>:<Tag>`` (``EXIF`` chunk, with or without the ``Exif\\0\\0`` prefix
some writers add), ``webp:xmp`` (``XMP `` chunk, also in ``xmp``), ``webp:c2pa`` (``C2PA`` chunk,
also in ``c2pa``). Size and alpha come from ``VP8X`` (canvas), else from the ``VP8L`` or ``VP8 ``
bitstream header; an ``ALPH`` chunk means alpha.
"""

from __future__ import annotations

import struct

from provenance.extract._collect import Collector
from provenance.extract.exif import read_exif

__all__ = ["read_webp"]

_VP8X_ALPHA = 0x10


def read_webp(view: memoryview, out: Collector) -> None:
    """Read the metadata of the WebP in ``view`` (``RIFF....WEBP`` already checked) into ``out``."""
    meta = out.meta
    size = len(view)
    (riff_size,) = struct.unpack_from("<I", view, 4)
    if riff_size + 8 > size:
        out.problem("the WebP file is shorter than its RIFF header says (truncated)")
    end_of_riff = min(size, riff_size + 8)
    offset = 12
    chunks = 0
    canvas = False
    image = False
    while offset < end_of_riff and not out.full:
        if offset + 8 > end_of_riff:
            out.problem(f"the WebP file ends inside a chunk header at byte {offset}")
            return
        fourcc, length = struct.unpack_from("<4sI", view, offset)
        chunks += 1
        if chunks > out.limits.max_chunks:
            out.problem(f"the WebP file has more than {out.limits.max_chunks} chunks")
            return
        start = offset + 8
        end = start + length
        if end > end_of_riff:
            out.problem(f"WebP chunk {fourcc!r} at byte {offset} runs past the end of the file")
            return
        if fourcc in (b"EXIF", b"XMP ", b"C2PA") and length > out.limits.max_chunk_bytes:
            out.problem(f"WebP chunk {fourcc!r} is {length} bytes, over the limit; not read")
        elif fourcc == b"VP8X":
            if length < 10:
                out.problem("the WebP VP8X chunk is too short")
            else:
                flags = view[start]
                width = int.from_bytes(view[start + 4 : start + 7], "little") + 1
                height = int.from_bytes(view[start + 7 : start + 10], "little") + 1
                meta.width, meta.height = width, height
                meta.has_alpha = meta.has_alpha or bool(flags & _VP8X_ALPHA)
                canvas = True
        elif fourcc == b"VP8L" and not canvas and meta.width is None:
            _vp8l(view[start:end], out)
        elif fourcc == b"VP8 " and not canvas and meta.width is None:
            _vp8(view[start:end], out)
        elif fourcc == b"ALPH":
            meta.has_alpha = True
        elif fourcc == b"EXIF":
            read_exif(view[start:end], "webp:exif", out)
        elif fourcc == b"XMP ":
            raw = bytes(view[start:end])
            try:
                text, note = raw.decode("utf-8"), None
            except UnicodeDecodeError:
                text, note = raw.decode("utf-8", "replace"), "invalid UTF-8 replaced"
                out.problem("webp:xmp holds invalid UTF-8")
            if out.add("webp:xmp", text=text, note=note):
                meta.xmp.append(text)
        elif fourcc == b"C2PA":
            location = out.add(
                "webp:c2pa", data=bytes(view[start:end]), note="C2PA manifest store (JUMBF)"
            )
            if location:
                meta.c2pa.append(location)
        image = image or fourcc in (b"VP8 ", b"VP8L", b"ANMF")
        offset = end + (length & 1)  # chunks are padded to an even size
    if not image and not out.full:
        out.problem("the WebP file holds no image (no VP8, VP8L or ANMF chunk)")


def _vp8l(body: memoryview, out: Collector) -> None:
    """Lossless bitstream: signature 0x2F, 14 bits width-1, 14 bits height-1, 1 bit alpha."""
    if len(body) < 5 or body[0] != 0x2F:
        out.problem("the WebP VP8L bitstream header is invalid")
        return
    (bits,) = struct.unpack_from("<I", body, 1)
    out.meta.width = (bits & 0x3FFF) + 1
    out.meta.height = ((bits >> 14) & 0x3FFF) + 1
    out.meta.has_alpha = out.meta.has_alpha or bool((bits >> 28) & 1)


def _vp8(body: memoryview, out: Collector) -> None:
    """Lossy key frame: 3-byte frame tag, start code 9D 01 2A, then 14-bit width and height."""
    if len(body) < 10 or bytes(body[3:6]) != b"\x9d\x01\x2a":
        out.problem("the WebP VP8 bitstream header is invalid")
        return
    width, height = struct.unpack_from("<HH", body, 6)
    out.meta.width, out.meta.height = width & 0x3FFF, height & 0x3FFF

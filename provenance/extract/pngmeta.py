"""The lenient PNG metadata reader: every text chunk and the private chunks AI tools write.

Unlike :func:`provenance.extract.png.scan_png` (strict, on the verify path), this reader goes on
past what it cannot read, noting one problem per fault, and never touches the image data: IDAT
chunks are skipped by their length, unchecked and undecoded.

Locations: ``png:tEXt:<keyword>``, ``png:zTXt:<keyword>``, ``png:iTXt:<keyword>`` (before or after
IDAT alike; a repeated keyword gets ``#2``, ``#3``), ``png:comf:<keyword>`` (ComfyUI's
``SaveAnimatedPNG``), ``png:caBX`` (C2PA manifest store, also listed in ``c2pa``),
``png:eXIf:<IFD>:<Tag>`` (EXIF). The XMP packet (iTXt ``XML:com.adobe.xmp``) is kept under its
location and also in ``xmp``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from provenance.extract._collect import Collector, inflate
from provenance.extract.exif import read_exif
from provenance.extract.png import PNG_SIGNATURE

__all__ = ["XMP_KEYWORD", "Fetch", "read_png", "read_png_chunks"]

XMP_KEYWORD = "XML:com.adobe.xmp"
#: The chunks this reader opens; every other chunk is skipped by its length.
_READ = frozenset({b"IHDR", b"tRNS", b"tEXt", b"zTXt", b"iTXt", b"comf", b"caBX", b"eXIf"})


#: ``fetch(offset, count)``: up to ``count`` bytes of the file from ``offset`` (fewer at its end).
Fetch = Callable[[int, int], "bytes | memoryview"]


def read_png(view: memoryview, out: Collector) -> None:
    """Read the metadata of the PNG in ``view`` (signature already checked) into ``out``."""
    read_png_chunks(len(view), lambda offset, count: view[offset : offset + count], out)


def read_png_chunks(size: int, fetch: Fetch, out: Collector) -> None:
    """Read the metadata of a PNG of ``size`` bytes through ``fetch`` into ``out``: only the chunk
    headers and the chunks in ``_READ`` are fetched, so a reader of a file can seek over the
    image data instead of reading it."""
    limits = out.limits
    offset = len(PNG_SIGNATURE)
    chunks = 0
    while not out.full:
        header = fetch(offset, 8) if offset + 8 <= size else b""
        if len(header) < 8:
            out.problem("the PNG file ends without an IEND chunk (truncated)")
            return
        length, ctype = struct.unpack_from(">I4s", header)
        if not (ctype.isascii() and ctype.isalpha()):
            out.problem(f"invalid chunk type at byte {offset}; the rest of the file was not read")
            return
        name = ctype.decode("ascii")
        end = offset + 12 + length
        chunks += 1
        if chunks > limits.max_chunks:
            out.problem(f"the PNG file has more than {limits.max_chunks} chunks; the rest not read")
            return
        if ctype == b"IDAT":
            if end > size:
                out.problem("the PNG file is truncated inside its image data")
                return
            offset = end
            continue
        if ctype == b"IEND":
            return
        if end > size:
            out.problem(f"the PNG file is truncated inside chunk {name} at byte {offset}")
            return
        if ctype in _READ:
            if length > limits.max_chunk_bytes:
                out.problem(
                    f"chunk {name} at byte {offset} is {length} bytes, over the limit of "
                    f"{limits.max_chunk_bytes}; it was not read"
                )
                offset = end
                continue
            piece = fetch(offset + 4, length + 8)  # type, data and CRC
            if len(piece) < length + 8:  # the file shrank while it was read
                out.problem(f"the PNG file is truncated inside chunk {name} at byte {offset}")
                return
            (stored,) = struct.unpack_from(">I", piece, length + 4)
            if zlib.crc32(piece[: length + 4]) != stored:
                out.problem(f"chunk {name} at byte {offset} has a bad CRC (read anyway)")
            _chunk(ctype, bytes(piece[4 : 4 + length]), out)
            if ctype == b"IHDR" and chunks != 1:
                out.problem("the IHDR chunk is not the first chunk")
        offset = end


def _chunk(ctype: bytes, body: bytes, out: Collector) -> None:
    meta = out.meta
    if ctype == b"IHDR":
        if len(body) != 13:
            out.problem("the IHDR chunk has the wrong length")
            return
        width, height, _depth, color = struct.unpack_from(">IIBB", body)
        meta.width, meta.height = width, height
        meta.has_alpha = meta.has_alpha or color in (4, 6)
    elif ctype == b"tRNS":
        meta.has_alpha = True
    elif ctype == b"tEXt":
        _text(body, out)
    elif ctype == b"zTXt":
        _ztxt(body, out)
    elif ctype == b"iTXt":
        _itxt(body, out)
    elif ctype == b"comf":
        keyword, sep, rest = body.partition(b"\0")
        if not sep:
            out.problem("a comf chunk has no keyword separator")
            return
        text, note = _latin1_or_utf8(rest, "comf")
        out.add(f"png:comf:{_keyword(keyword)}", text=text, note=note)
    elif ctype == b"caBX":
        location = out.add("png:caBX", data=body, note="C2PA manifest store (JUMBF)")
        if location:
            meta.c2pa.append(location)
    elif ctype == b"eXIf":
        read_exif(body, "png:eXIf", out)


def _keyword(raw: bytes) -> str:
    return raw.decode("latin-1")


def _latin1_or_utf8(raw: bytes, what: str) -> tuple[str, str | None]:
    """Latin-1 as the PNG standard says, unless the bytes are UTF-8 (a common writer mistake)."""
    if raw.isascii():
        return raw.decode("ascii"), None
    try:
        return raw.decode("utf-8"), f"raw UTF-8 in {what}"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), None


def _text(body: bytes, out: Collector) -> None:
    keyword, sep, rest = body.partition(b"\0")
    if not sep:
        out.problem("a tEXt chunk has no keyword separator")
        return
    text, note = _latin1_or_utf8(rest, "tEXt")
    out.add(f"png:tEXt:{_keyword(keyword)}", text=text, note=note)


def _ztxt(body: bytes, out: Collector) -> None:
    keyword, sep, rest = body.partition(b"\0")
    if not sep or not rest:
        out.problem("a zTXt chunk has no keyword separator or compression method")
        return
    where = f"png:zTXt:{_keyword(keyword)}"
    if rest[0] != 0:
        out.problem(f"{where} uses an unknown compression method")
        return
    raw, note = inflate(rest[1:], out.limits.max_text_bytes, where)
    if raw is None:
        out.problem(note or f"{where} could not be read")
        return
    if note:
        out.problem(f"{where}: {note}")
    text, how = _latin1_or_utf8(raw, "zTXt")
    out.add(where, text=text, note="; ".join(n for n in (how, note) if n) or None)


def _itxt(body: bytes, out: Collector) -> None:
    keyword, sep, rest = body.partition(b"\0")
    if not sep or len(rest) < 2:
        out.problem("an iTXt chunk is truncated before its text")
        return
    key = _keyword(keyword)
    where = f"png:iTXt:{key}"
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3:
        out.problem(f"{where} is missing its language or translated keyword")
        return
    raw = parts[2]
    notes: list[str] = []
    if flag:
        if method != 0:
            out.problem(f"{where} uses an unknown compression method")
            return
        inflated, note = inflate(parts[2], out.limits.max_text_bytes, where)
        if inflated is None:
            out.problem(note or f"{where} could not be read")
            return
        raw = inflated
        if note:
            out.problem(f"{where}: {note}")
            notes.append(note)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
        notes.append("invalid UTF-8 replaced")
        out.problem(f"{where} holds invalid UTF-8")
    stored = out.add(where, text=text, note="; ".join(notes) or None)
    if stored and key == XMP_KEYWORD:
        out.meta.xmp.append(text)

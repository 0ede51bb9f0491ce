"""A bounded, streaming PNG chunk scanner.

One pass over the file, never decoding pixels: checks the signature, every chunk's length and
CRC, reads text chunks (tEXt, zTXt, iTXt) before and after IDAT with bounded decompression,
notes private and foreign chunks (``caBX``, ``eXIf``, ``comf`` ...), and computes the record's
*data digest* on the way: SHA-256 over every chunk's type, length and data in file order, except
the metadata chunks our own writer adds (text chunks whose keyword is in ``excluded_keywords``),
plus any bytes after IEND. It also computes the *render digest* over the chunks that change how
the pixels are displayed without changing the decoded bytes (palette, transparency, colour
space, orientation), and records where the image data lies so the pixels can be decoded from the
image chunks alone. Image data is streamed in pieces, so memory stays small whatever the file
size. Everything outside :class:`Limits` raises :class:`ContainerError` with one sentence.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from provenance.errors import ContainerError

__all__ = ["PNG_SIGNATURE", "RENDER_CHUNKS", "Limits", "PngScan", "TextChunk", "scan_png"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PIECE = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Safety limits for reading untrusted files (decoded pixels: up to 40 Mpx by default).

    Text sizes count decoded bytes (UTF-8 for iTXt), whatever the characters.
    """

    max_file_bytes: int = 1 << 30
    max_chunks: int = 50_000
    max_metadata_chunks: int = 1_000
    max_chunk_bytes: int = 16 << 20
    max_text_bytes: int = 8 << 20
    max_total_text_bytes: int = 16 << 20
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class TextChunk:
    """One PNG text chunk, decoded. ``after_idat`` marks chunks behind the image data."""

    chunk_type: str
    keyword: str
    text: str
    after_idat: bool
    compressed: bool = False
    invalid_utf8: bool = False
    raw_utf8_in_text: bool = False


@dataclass
class PngScan:
    """What one pass over a PNG found."""

    width: int = 0
    height: int = 0
    bit_depth: int = 0
    color_type: int = 0
    interlaced: bool = False
    texts: list[TextChunk] = field(default_factory=list)
    chunk_counts: dict[str, int] = field(default_factory=dict)
    foreign_chunks: list[str] = field(default_factory=list)
    trailing_bytes: int = 0
    file_bytes: int = 0
    data_digest: str = ""
    render_digest: str = ""
    ihdr: bytes = b""
    render_chunks: list[tuple[str, bytes]] = field(default_factory=list)
    idat_spans: list[tuple[int, int]] = field(default_factory=list)

    def text_values(self, keyword: str) -> list[str]:
        return [t.text for t in self.texts if t.keyword == keyword]

    @property
    def xmp_packets(self) -> list[str]:
        return self.text_values("XML:com.adobe.xmp")


#: Ancillary chunks that change how decoded pixels look: palette, transparency, colour space,
#: HDR metadata, EXIF (orientation). They are bound to the record by the render digest.
RENDER_CHUNKS = frozenset(
    {"PLTE", "tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "cICP", "mDCv", "cLLi", "sBIT", "eXIf"}
)

# Chunks every ordinary encoder writes; anything else is listed in ``foreign_chunks``.
_ORDINARY = {
    "IHDR",
    "PLTE",
    "IDAT",
    "IEND",
    "tRNS",
    "gAMA",
    "cHRM",
    "sRGB",
    "iCCP",
    "sBIT",
    "bKGD",
    "hIST",
    "pHYs",
    "sPLT",
    "tIME",
    "tEXt",
    "zTXt",
    "iTXt",
    "cICP",
    "mDCv",
    "cLLi",
}


def scan_png(
    source: BinaryIO | bytes,
    *,
    excluded_keywords: Iterable[str] = (),
    limits: Limits | None = None,
) -> PngScan:
    """Scan a PNG from a binary stream or bytes. Raises :class:`ContainerError` if it is bad."""
    limits = limits or Limits()
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    excluded = frozenset(excluded_keywords)
    scan = PngScan()
    digest = hashlib.sha256()
    render = hashlib.sha256()

    if _read_exact(stream, 8, "PNG signature") != PNG_SIGNATURE:
        raise ContainerError("not a PNG file (bad signature)")
    offset = 8
    chunk_total = metadata_total = text_total = 0
    seen_idat = idat_ended = False

    while True:
        header = stream.read(8)
        if not header:
            raise ContainerError("PNG file ends without an IEND chunk (truncated)")
        if len(header) < 8:
            raise ContainerError(f"PNG file is truncated inside a chunk header at byte {offset}")
        length, ctype_raw = struct.unpack(">I4s", header)
        ctype = _chunk_type(ctype_raw, offset)
        if length > 0x7FFFFFFF:
            raise ContainerError(f"chunk {ctype} at byte {offset} declares an impossible length")
        offset += 8
        if offset + length + 4 > limits.max_file_bytes:
            raise ContainerError(
                f"PNG file is larger than the limit of {limits.max_file_bytes} bytes"
            )
        chunk_total += 1
        if chunk_total > limits.max_chunks:
            raise ContainerError(f"PNG file has more than {limits.max_chunks} chunks")
        scan.chunk_counts[ctype] = scan.chunk_counts.get(ctype, 0) + 1

        if chunk_total == 1 and ctype != "IHDR":
            raise ContainerError("PNG file does not start with an IHDR chunk")

        if ctype == "IDAT":
            if idat_ended:
                raise ContainerError("PNG image data (IDAT) is split by other chunks")
            seen_idat = True
            scan.idat_spans.append((offset - 8, length + 12))
            crc = zlib.crc32(ctype_raw)
            digest.update(header[4:8] + header[:4])
            remaining = length
            while remaining:
                piece = stream.read(min(remaining, _PIECE))
                if not piece:
                    raise ContainerError(
                        f"PNG file is truncated inside an IDAT chunk at byte {offset}"
                    )
                crc = zlib.crc32(piece, crc)
                digest.update(piece)
                remaining -= len(piece)
            _check_crc(stream, crc, ctype, offset)
            offset += length + 4
            continue

        if seen_idat:
            idat_ended = True
        metadata_total += 1
        if metadata_total > limits.max_metadata_chunks:
            raise ContainerError(
                f"PNG file has more than {limits.max_metadata_chunks} non-image chunks"
            )
        if length > limits.max_chunk_bytes:
            raise ContainerError(
                f"chunk {ctype} at byte {offset - 8} is {length} bytes, over the limit of "
                f"{limits.max_chunk_bytes}"
            )
        data = _read_exact(stream, length, f"chunk {ctype}")
        _check_crc(stream, zlib.crc32(data, zlib.crc32(ctype_raw)), ctype, offset)
        offset += length + 4

        include = True
        if ctype == "IHDR":
            _read_ihdr(scan, data)
        elif ctype in ("tEXt", "zTXt", "iTXt"):
            text, size = _decode_text(ctype, data, seen_idat, limits)
            text_total += size
            if text_total > limits.max_total_text_bytes:
                raise ContainerError(
                    f"PNG text chunks hold more than {limits.max_total_text_bytes} bytes of text"
                )
            scan.texts.append(text)
            include = text.keyword not in excluded
        elif ctype not in _ORDINARY:
            scan.foreign_chunks.append(ctype)
        if ctype in RENDER_CHUNKS:
            scan.render_chunks.append((ctype, data))
            render.update(ctype_raw + header[:4])
            render.update(data)
        if include:
            digest.update(ctype_raw + header[:4])
            digest.update(data)
        if ctype == "IEND":
            break

    if not seen_idat:
        raise ContainerError("PNG file has no image data (IDAT)")
    # Bytes after IEND are not part of the PNG; they are counted and covered by the digest.
    while True:
        piece = stream.read(_PIECE)
        if not piece:
            break
        scan.trailing_bytes += len(piece)
        offset += len(piece)
        if offset > limits.max_file_bytes:
            raise ContainerError(f"file is larger than the limit of {limits.max_file_bytes} bytes")
        digest.update(piece)
    scan.file_bytes = offset
    scan.data_digest = digest.hexdigest()
    scan.render_digest = render.hexdigest()
    return scan


def _chunk_type(raw: bytes, offset: int) -> str:
    if not all(65 <= b <= 90 or 97 <= b <= 122 for b in raw):
        raise ContainerError(f"invalid chunk type at byte {offset} (file is corrupt)")
    return raw.decode("ascii")


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        if what == "PNG signature":
            raise ContainerError("not a PNG file (too short)")
        raise ContainerError(f"PNG file is truncated inside {what}")
    return data


def _check_crc(stream: BinaryIO, computed: int, ctype: str, offset: int) -> None:
    raw = stream.read(4)
    if len(raw) != 4:
        raise ContainerError(f"PNG file is truncated inside chunk {ctype} (no CRC)")
    if struct.unpack(">I", raw)[0] != computed & 0xFFFFFFFF:
        raise ContainerError(f"chunk {ctype} at byte {offset - 8} has a bad CRC (file is corrupt)")


def _read_ihdr(scan: PngScan, data: bytes) -> None:
    if len(data) != 13:
        raise ContainerError("IHDR chunk has the wrong length")
    width, height, depth, color, _comp, _filt, interlace = struct.unpack(">IIBBBBB", data)
    if width == 0 or height == 0 or width > 0x7FFFFFFF or height > 0x7FFFFFFF:
        raise ContainerError(f"IHDR declares an invalid size {width}x{height}")
    scan.width, scan.height, scan.bit_depth, scan.color_type = width, height, depth, color
    scan.ihdr = data
    scan.interlaced = interlace == 1


def _keyword(raw: bytes, ctype: str) -> str:
    if not 1 <= len(raw) <= 79:
        raise ContainerError(f"{ctype} chunk has an invalid keyword length ({len(raw)} bytes)")
    return raw.decode("latin-1")


def _inflate(data: bytes, limit: int, what: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise ContainerError(f"{what} holds corrupt compressed data") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ContainerError(f"{what} expands beyond the limit of {limit} bytes (compression bomb)")
    return out


def _decode_text(
    ctype: str, data: bytes, after_idat: bool, limits: Limits
) -> tuple[TextChunk, int]:
    """The decoded chunk and the size of its text in bytes (what the text limits count)."""
    key_raw, sep, rest = data.partition(b"\0")
    if not sep:
        raise ContainerError(f"{ctype} chunk has no keyword separator")
    keyword = _keyword(key_raw, ctype)
    what = f"{ctype} chunk {keyword!r}"
    if ctype == "tEXt":
        raw_utf8 = False
        if any(b >= 0x80 for b in rest):
            # Some tools write raw UTF-8 into tEXt; read it as they meant it.
            try:
                text = rest.decode("utf-8")
                raw_utf8 = True
            except UnicodeDecodeError:
                text = rest.decode("latin-1")
        else:
            text = rest.decode("latin-1")
        return TextChunk(ctype, keyword, text, after_idat, raw_utf8_in_text=raw_utf8), len(rest)
    if ctype == "zTXt":
        if not rest or rest[0] != 0:
            raise ContainerError(f"{what} uses an unknown compression method")
        inflated = _inflate(rest[1:], limits.max_text_bytes, what)
        text = inflated.decode("latin-1")
        return TextChunk(ctype, keyword, text, after_idat, compressed=True), len(inflated)
    # iTXt: flag, method, language\0, translated keyword\0, text
    if len(rest) < 2:
        raise ContainerError(f"{what} is truncated")
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3:
        raise ContainerError(f"{what} is missing its language or translated keyword")
    body = parts[2]
    if flag:
        if method != 0:
            raise ContainerError(f"{what} uses an unknown compression method")
        body = _inflate(body, limits.max_text_bytes, what)
    elif len(body) > limits.max_text_bytes:
        raise ContainerError(f"{what} is larger than the limit of {limits.max_text_bytes} bytes")
    try:
        text = body.decode("utf-8")
        bad = False
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="replace")
        bad = True
    chunk = TextChunk(ctype, keyword, text, after_idat, compressed=bool(flag), invalid_utf8=bad)
    return chunk, len(body)

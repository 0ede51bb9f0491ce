"""A bounded PNG chunk scanner over a buffer (bytes or a memory map), never decoding pixels.

One pass: checks the signature, every chunk's length and CRC, reads text chunks (tEXt, zTXt,
iTXt) before and after IDAT with bounded decompression, notes private and foreign chunks
(``caBX``, ``eXIf``, ``comf`` ...), and computes on the way:

* the *data digest*: BLAKE3 over the file's bytes minus the metadata chunks our own writer adds
  (text chunks whose keyword is in ``excluded_keywords``). Whole chunks are covered, CRCs and any
  bytes after IEND included; nothing is copied to hash it.
* the *render digest*: SHA-256 over the chunks that change how the pixels are displayed without
  changing the decoded bytes (palette, transparency, colour space, orientation).
* where the image data lies, so the pixels can be decoded from the image chunks alone.

Everything outside :class:`Limits` raises :class:`ContainerError` with one sentence.
"""

from __future__ import annotations

import hashlib
import mmap
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from blake3 import blake3

from provenance.errors import ContainerError

__all__ = [
    "PNG_SIGNATURE",
    "RENDER_CHUNKS",
    "Buffer",
    "Limits",
    "PngScan",
    "TextChunk",
    "image_crc_problem",
    "scan_png",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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
    #: For a tEXt chunk holding raw UTF-8 (a common mistake), the text as its writer meant it;
    #: ``text`` stays the Latin-1 reading the PNG standard prescribes.
    utf8_text: str | None = None

    @property
    def shown(self) -> str:
        """The text as a person should see it."""
        return self.utf8_text if self.utf8_text is not None else self.text


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
    {
        "PLTE",
        "tRNS",
        "gAMA",
        "cHRM",
        "sRGB",
        "iCCP",
        "cICP",
        "mDCv",
        "cLLi",
        "sBIT",
        "eXIf",
        "acTL",
        "fcTL",
        "fdAT",
    }  # APNG: browsers play the frames instead of the still image
)

#: Bytes a keyword may not hold: PNG keywords are printable Latin-1.
_NOT_KEYWORD = re.compile(rb"[\x00-\x1f\x7f-\xa0]")

_CRITICAL = frozenset({"IHDR", "PLTE", "IDAT", "IEND"})

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


Buffer = bytes | bytearray | memoryview | mmap.mmap


def scan_png(
    data: Buffer,
    *,
    excluded_keywords: Iterable[str] = (),
    limits: Limits | None = None,
    check_image_crc: bool = True,
) -> PngScan:
    """Scan a whole PNG held in ``data``. Raises :class:`ContainerError` if it is bad.

    The data digest covers whole chunks, CRCs included, so when it matches a signed digest the
    image data's CRCs are proven too: with ``check_image_crc=False`` they are not recomputed
    (call :func:`image_crc_problem` when the digest does not match).
    """
    limits = limits or Limits()
    view = memoryview(data)
    size = len(view)
    excluded = frozenset(excluded_keywords)
    scan = PngScan(file_bytes=size)
    digest = blake3()
    render = hashlib.sha256()

    if size < 8 or view[:8] != PNG_SIGNATURE:
        raise ContainerError(
            "not a PNG file (bad signature)" if size >= 8 else "not a PNG file (too short)"
        )
    if size > limits.max_file_bytes:
        raise ContainerError(f"PNG file is larger than the limit of {limits.max_file_bytes} bytes")
    offset = 8
    covered_from = 0  # start of the run of bytes the data digest covers
    chunk_total = metadata_total = text_total = 0
    seen_idat = idat_ended = False

    while True:
        if offset >= size:
            raise ContainerError("PNG file ends without an IEND chunk (truncated)")
        if offset + 8 > size:
            raise ContainerError(f"PNG file is truncated inside a chunk header at byte {offset}")
        length, ctype_raw = struct.unpack_from(">I4s", view, offset)
        ctype = _chunk_type(ctype_raw, offset)
        if length > 0x7FFFFFFF:
            raise ContainerError(f"chunk {ctype} at byte {offset} declares an impossible length")
        end = offset + 12 + length
        if end > limits.max_file_bytes:
            raise ContainerError(
                f"PNG file is larger than the limit of {limits.max_file_bytes} bytes"
            )
        chunk_total += 1
        if chunk_total > limits.max_chunks:
            raise ContainerError(f"PNG file has more than {limits.max_chunks} chunks")
        scan.chunk_counts[ctype] = scan.chunk_counts.get(ctype, 0) + 1
        if chunk_total == 1 and ctype != "IHDR":
            raise ContainerError("PNG file does not start with an IHDR chunk")
        if ctype == "IHDR" and chunk_total > 1:
            raise ContainerError("PNG file has a second IHDR chunk")
        if ctype[0].isupper() and ctype not in _CRITICAL:
            raise ContainerError(f"PNG file has an unknown critical chunk {ctype}")

        if ctype == "IDAT":
            if end > size:
                raise ContainerError(f"PNG file is truncated inside an IDAT chunk at byte {offset}")
            if idat_ended:
                raise ContainerError("PNG image data (IDAT) is split by other chunks")
            seen_idat = True
            scan.idat_spans.append((offset, 12 + length))
            if check_image_crc:
                problem = _crc_problem(view, offset, length, ctype)
                if problem:
                    raise ContainerError(problem)
            offset = end
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
                f"chunk {ctype} at byte {offset} is {length} bytes, over the limit of "
                f"{limits.max_chunk_bytes}"
            )
        if end > size:
            raise ContainerError(f"PNG file is truncated inside chunk {ctype}")
        problem = _crc_problem(view, offset, length, ctype)
        if problem:
            raise ContainerError(problem)
        body = view[offset + 8 : offset + 8 + length]

        if ctype == "IHDR":
            _read_ihdr(scan, bytes(body))
        elif ctype in ("tEXt", "zTXt", "iTXt"):
            text, text_size = _decode_text(ctype, bytes(body), seen_idat, limits)
            text_total += text_size
            if text_total > limits.max_total_text_bytes:
                raise ContainerError(
                    f"PNG text chunks hold more than {limits.max_total_text_bytes} bytes of text"
                )
            scan.texts.append(text)
            if text.keyword in excluded:  # close the covered run before our own chunk
                digest.update(view[covered_from:offset])
                covered_from = end
        elif ctype not in _ORDINARY:
            scan.foreign_chunks.append(ctype)
        if ctype in RENDER_CHUNKS:
            scan.render_chunks.append((ctype, bytes(body)))
            render.update(view[offset + 4 : offset + 8])
            render.update(view[offset : offset + 4])
            render.update(body)
        offset = end
        if ctype == "IEND":
            break

    if not seen_idat:
        raise ContainerError("PNG file has no image data (IDAT)")
    # Bytes after IEND are not part of the PNG; they are counted and covered by the digest.
    scan.trailing_bytes = size - offset
    digest.update(view[covered_from:size])
    scan.data_digest = digest.hexdigest()
    scan.render_digest = render.hexdigest()
    return scan


def image_crc_problem(data: Buffer, scan: PngScan) -> str | None:
    """Check the CRCs of the image data chunks a scan skipped; the problem, or None."""
    view = memoryview(data)
    for offset, span in scan.idat_spans:
        problem = _crc_problem(view, offset, span - 12, "IDAT")
        if problem:
            return problem
    return None


def _crc_problem(view: memoryview, offset: int, length: int, ctype: str) -> str | None:
    computed = zlib.crc32(view[offset + 4 : offset + 8 + length])
    (stored,) = struct.unpack_from(">I", view, offset + 8 + length)
    if stored != computed:
        return f"chunk {ctype} at byte {offset} has a bad CRC (file is corrupt)"
    return None


def _chunk_type(raw: bytes, offset: int) -> str:
    if not (raw.isascii() and raw.isalpha()):
        raise ContainerError(f"invalid chunk type at byte {offset} (file is corrupt)")
    return raw.decode("ascii")


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
    if _NOT_KEYWORD.search(raw):
        raise ContainerError(f"{ctype} chunk keyword holds control characters (file is corrupt)")
    return raw.decode("latin-1")


def _inflate(data: bytes, limit: int, what: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise ContainerError(f"{what} holds corrupt compressed data") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ContainerError(f"{what} expands beyond the limit of {limit} bytes (compression bomb)")
    if not inflater.eof or inflater.unused_data:
        raise ContainerError(f"{what} holds a truncated or padded compressed stream")
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
        if len(rest) > limits.max_text_bytes:
            raise ContainerError(
                f"{what} is larger than the limit of {limits.max_text_bytes} bytes"
            )
        utf8_text = None
        if not rest.isascii():
            # Some tools write raw UTF-8 into tEXt; keep how they meant it, for display.
            try:
                utf8_text = rest.decode("utf-8")
            except UnicodeDecodeError:
                utf8_text = None
        chunk = TextChunk(
            ctype,
            keyword,
            rest.decode("latin-1"),
            after_idat,
            raw_utf8_in_text=utf8_text is not None,
            utf8_text=utf8_text,
        )
        return chunk, len(rest)
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

"""JPEG and WebP containers of exported images: writing our EXIF and XMP into them, and the
bounded scan that verification reads them with.

What an export carries (see :mod:`provenance.export`):

* **JPEG**: right after SOI and the JFIF APP0, one APP1 ``Exif\\0\\0`` segment, then one APP1 XMP
  segment (``http://ns.adobe.com/xap/1.0/\\0``).
* **WebP** (extended format): ``VP8X``, [``ICCP``], the image chunks, ``EXIF``, ``XMP `` (the
  chunk order of the WebP container specification); VP8X has the EXIF and XMP flags set.
* **EXIF**: a big-endian TIFF block with IFD0 ``Software`` and the Exif sub-IFD ``UserComment`` =
  ``UNICODE\\0`` + UTF-16BE infotext, as the A1111 webui writes it. Never an ``Orientation``.

**Data digest** (BLAKE3, no decoding; the fast path of verification):

* JPEG: the file's bytes in order, leaving out every APP1 segment (marker, length and body) before
  the first SOS whose body starts with ``Exif\\0\\0`` or with the XMP signature. Everything from
  SOS on (entropy-coded data, EOI and any bytes after it) is included.
* WebP: ``RIFF``, then ``WEBP`` and every chunk (header, body, padding) in order, leaving out the
  RIFF size field (it changes whenever a chunk is added or removed) and the ``EXIF`` and ``XMP ``
  chunks; in ``VP8X`` the flags byte is hashed with its EXIF (0x08) and XMP (0x04) bits cleared.
  Bytes after the end of the RIFF chunk are included.

**Render digest** (SHA-256 over what changes how identical pixels are displayed; the digest of
nothing when there is none): for each item in file order, its name, a NUL, its length (8 bytes,
big-endian) and its bytes. Items: the ICC profile (JPEG APP2 ``ICC_PROFILE`` segment bodies; WebP
``ICCP`` chunk) and the EXIF ``Orientation`` (its 2-byte value, from every EXIF block; EXIF is
otherwise outside the data digest).

Reading never decodes pixels, checks every length against the file, and stays within
:class:`~provenance.extract.png.Limits`; a structural problem raises
:class:`~provenance.errors.ContainerError` with one sentence.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from blake3 import blake3

from provenance.errors import ContainerError
from provenance.extract.exif import EXIF_HEADER, TAG_NAMES
from provenance.extract.jpeg import XMP_SIGNATURE
from provenance.extract.png import Buffer, Limits

__all__ = [
    "MAX_SEGMENT_BODY",
    "USER_COMMENT_PREFIX",
    "ExifFields",
    "ExportScan",
    "jpeg_with_metadata",
    "make_exif",
    "parse_exif",
    "scan_export",
    "webp_extended",
    "webp_with_metadata",
]

#: The largest body one JPEG segment holds (its 2-byte length counts itself).
MAX_SEGMENT_BODY = 65_533
USER_COMMENT_PREFIX = b"UNICODE\0"

_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_VP8X_ICC, _VP8X_ALPHA, _VP8X_EXIF, _VP8X_XMP = 0x20, 0x10, 0x08, 0x04
_TAG_SOFTWARE, _TAG_ORIENTATION, _TAG_EXIF_IFD, _TAG_USER_COMMENT = 0x0131, 0x0112, 0x8769, 0x9286
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_MAX_IFD_ENTRIES = 1_000


# --- EXIF ---------------------------------------------------------------------------------------


def make_exif(software: str, user_comment: str) -> bytes:
    """A big-endian TIFF block: IFD0 ``Software``, Exif sub-IFD ``UserComment`` (UNICODE)."""
    soft = software.encode("ascii", "replace") + b"\0"
    soft += b"\0" * (len(soft) & 1)
    comment = USER_COMMENT_PREFIX + user_comment.encode("utf-16-be")
    ifd0_at = 8
    soft_at = ifd0_at + 2 + 2 * 12 + 4
    exif_at = soft_at + len(soft)
    comment_at = exif_at + 2 + 12 + 4
    out = bytearray(b"MM\0\x2a" + struct.pack(">I", ifd0_at))
    out += struct.pack(">H", 2)
    out += struct.pack(">HHII", _TAG_SOFTWARE, 2, len(software) + 1, soft_at)
    out += struct.pack(">HHII", _TAG_EXIF_IFD, 4, 1, exif_at)
    out += struct.pack(">I", 0) + soft
    out += struct.pack(">H", 1)
    out += struct.pack(">HHII", _TAG_USER_COMMENT, 7, len(comment), comment_at)
    out += struct.pack(">I", 0) + comment
    return bytes(out)


@dataclass(frozen=True)
class ExifFields:
    """What verification reads from one EXIF block."""

    software: str | None = None
    user_comment: bytes | None = None
    orientation: bytes | None = None
    #: Every other tag, by name (``Tag0x1234`` when unnamed), IFD0 then the Exif sub-IFD.
    other_tags: tuple[str, ...] = ()


def parse_exif(tiff: bytes) -> ExifFields:
    """Read a TIFF block strictly (every offset checked, each IFD read once, entries capped)."""
    if len(tiff) < 8 or tiff[:4] not in (b"MM\0\x2a", b"II\x2a\0"):
        raise ContainerError("the EXIF block does not start with a TIFF header")
    order = ">" if tiff[:2] == b"MM" else "<"
    software: str | None = None
    comment: bytes | None = None
    orientation: bytes | None = None
    other: list[str] = []
    (first,) = struct.unpack_from(order + "I", tiff, 4)
    pending = [(first, "IFD0")]
    seen: set[int] = set()
    while pending:
        at, ifd = pending.pop(0)
        if at in seen:
            continue
        seen.add(at)
        if at + 2 > len(tiff):
            raise ContainerError(f"the EXIF {ifd} lies outside the EXIF block")
        (count,) = struct.unpack_from(order + "H", tiff, at)
        if count > _MAX_IFD_ENTRIES or at + 2 + 12 * count + 4 > len(tiff):
            raise ContainerError(f"the EXIF {ifd} has an invalid number of entries")
        for i in range(count):
            tag, typ, n, raw = struct.unpack_from(order + "HHI4s", tiff, at + 2 + 12 * i)
            span = _TYPE_SIZES.get(typ, 1) * n
            if span <= 4:
                value = raw[:span]
            else:
                (offset,) = struct.unpack(order + "I", raw)
                if offset + span > len(tiff):
                    raise ContainerError(f"an EXIF {ifd} value lies outside the EXIF block")
                value = tiff[offset : offset + span]
            if tag == _TAG_EXIF_IFD and ifd == "IFD0" and typ in (4, 13) and n == 1:
                pending.append((struct.unpack(order + "I", value)[0], "ExifIFD"))
            elif tag == _TAG_SOFTWARE and ifd == "IFD0" and typ == 2:
                software = value.rstrip(b"\0").decode("latin-1")
            elif tag == _TAG_USER_COMMENT and ifd == "ExifIFD":
                comment = value
            elif tag == _TAG_ORIENTATION and ifd == "IFD0":
                orientation = value
                other.append("Orientation")
            else:
                other.append(TAG_NAMES.get(tag, f"Tag0x{tag:04X}"))
        (following,) = struct.unpack_from(order + "I", tiff, at + 2 + 12 * count)
        if ifd == "IFD0" and following:
            other.append("IFD1 (thumbnail)")
    return ExifFields(software, comment, orientation, tuple(other))


# --- writing ------------------------------------------------------------------------------------


def _segment(marker: int, body: bytes) -> bytes:
    if len(body) > MAX_SEGMENT_BODY:
        raise ValueError(f"a JPEG segment holds at most {MAX_SEGMENT_BODY} bytes, not {len(body)}")
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def jpeg_with_metadata(base: bytes, exif_tiff: bytes, xmp: str) -> bytes:
    """``base`` (a JPEG without EXIF or XMP) with our APP1 EXIF and XMP segments after APP0."""
    pos = 2
    while base[pos : pos + 2] == b"\xff\xe0":
        pos += 2 + struct.unpack_from(">H", base, pos + 2)[0]
    exif = _segment(0xE1, EXIF_HEADER + exif_tiff)
    packet = _segment(0xE1, XMP_SIGNATURE + xmp.encode("utf-8"))
    return base[:pos] + exif + packet + base[pos:]


def _chunks(webp: bytes) -> list[tuple[bytes, bytes]]:
    (riff,) = struct.unpack_from("<I", webp, 4)
    offset, end, out = 12, min(len(webp), riff + 8), []
    while offset + 8 <= end:
        fourcc, length = struct.unpack_from("<4sI", webp, offset)
        out.append((fourcc, webp[offset + 8 : offset + 8 + length]))
        offset += 8 + length + (length & 1)
    return out


def _riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WEBP" + b"".join(
        fourcc + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)
        for fourcc, data in chunks
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_extended(base: bytes, width: int, height: int) -> bytes:
    """``base`` (Pillow's WebP) in the extended format: a VP8X chunk first, no EXIF or XMP."""
    chunks = [(c, d) for c, d in _chunks(base) if c not in (b"EXIF", b"XMP ")]
    if chunks and chunks[0][0] == b"VP8X":
        flags = chunks[0][1][0] & ~(_VP8X_EXIF | _VP8X_XMP)
        return _riff([(b"VP8X", bytes([flags]) + chunks[0][1][1:]), *chunks[1:]])
    flags = 0
    for fourcc, data in chunks:
        if fourcc == b"ALPH" or (fourcc == b"VP8L" and len(data) >= 5 and data[4] & 0x10):
            flags |= _VP8X_ALPHA
        elif fourcc == b"ICCP":
            flags |= _VP8X_ICC
    canvas = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
    canvas += (height - 1).to_bytes(3, "little")
    return _riff([(b"VP8X", canvas), *chunks])


def webp_with_metadata(extended: bytes, exif_tiff: bytes, xmp: str) -> bytes:
    """An extended WebP with our EXIF and XMP chunks added at the end and flagged in VP8X."""
    chunks = _chunks(extended)
    vp8x = chunks[0][1]
    chunks[0] = (b"VP8X", bytes([vp8x[0] | _VP8X_EXIF | _VP8X_XMP]) + vp8x[1:])
    return _riff([*chunks, (b"EXIF", exif_tiff), (b"XMP ", xmp.encode("utf-8"))])


# --- reading ------------------------------------------------------------------------------------


@dataclass
class ExportScan:
    """One bounded pass over an exported JPEG or WebP file."""

    format: str
    width: int | None = None
    height: int | None = None
    data_digest: str = ""
    render_digest: str = ""
    #: TIFF blocks of the EXIF segments/chunks and the XMP packets, in file order.
    exif: list[bytes] = field(default_factory=list)
    xmp: list[str] = field(default_factory=list)
    render_items: list[str] = field(default_factory=list)
    #: Segments or chunks beyond those a bare encoder writes (for the report).
    others: list[str] = field(default_factory=list)
    trailing_bytes: int = 0


class _Render:
    def __init__(self, scan: ExportScan) -> None:
        self.scan = scan
        self.hash = hashlib.sha256()

    def add(self, name: str, value: bytes | memoryview) -> None:
        self.scan.render_items.append(name)
        self.hash.update(name.encode("ascii") + b"\0" + struct.pack(">Q", len(value)))
        self.hash.update(value)


def _metadata(scan: ExportScan, kind: str, body: bytes, limits: Limits) -> None:
    count = len(scan.exif) + len(scan.xmp)
    if count >= limits.max_metadata_chunks or len(body) > limits.max_chunk_bytes:
        raise ContainerError(f"the file carries too many or too large {kind} blocks")
    if kind == "EXIF":
        scan.exif.append(body)
        return
    try:
        scan.xmp.append(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ContainerError("the XMP packet is not valid UTF-8") from None


def _orientations(scan: ExportScan, render: _Render) -> None:
    for block in scan.exif:
        orientation = parse_exif(block).orientation
        if orientation is not None:
            render.add("Orientation", orientation)


def scan_export(data: Buffer, fmt: str, limits: Limits | None = None) -> ExportScan:
    """Scan a JPEG (``fmt="jpeg"``) or WebP (``"webp"``); raises :class:`ContainerError`."""
    limits = limits or Limits()
    view = memoryview(data).cast("B")
    if len(view) > limits.max_file_bytes:
        raise ContainerError(f"the file is larger than the limit of {limits.max_file_bytes} bytes")
    scan = ExportScan(fmt)
    render = _Render(scan)
    if fmt == "jpeg":
        _scan_jpeg(view, scan, render, limits)
    else:
        _scan_webp(view, scan, render, limits)
    _orientations(scan, render)
    scan.render_digest = render.hash.hexdigest() if scan.render_items else _NOTHING
    return scan


_NOTHING = hashlib.sha256(b"").hexdigest()


def _scan_jpeg(view: memoryview, scan: ExportScan, render: _Render, limits: Limits) -> None:
    size = len(view)
    digest = blake3()
    digest.update(view[:2])
    offset, segments = 2, 0
    while True:
        if offset + 2 > size:
            raise ContainerError("the JPEG file ends before its image data (truncated)")
        if view[offset] != 0xFF:
            raise ContainerError(f"the JPEG file has no marker at byte {offset}")
        marker = view[offset + 1]
        if marker == 0xFF:  # a fill byte
            digest.update(view[offset : offset + 1])
            offset += 1
            continue
        if marker in _STANDALONE:
            digest.update(view[offset : offset + 2])
            offset += 2
            continue
        if marker in (0xD8, 0xD9, 0x00):
            raise ContainerError(f"the JPEG file has an unexpected marker 0x{marker:02X}")
        if offset + 4 > size:
            raise ContainerError("the JPEG file ends inside a segment header (truncated)")
        (length,) = struct.unpack_from(">H", view, offset + 2)
        end = offset + 2 + length
        if length < 2 or end > size:
            raise ContainerError(f"JPEG segment 0x{marker:02X} at byte {offset} is truncated")
        segments += 1
        if segments > limits.max_chunks:
            raise ContainerError(f"the JPEG file has more than {limits.max_chunks} segments")
        if marker == 0xDA:  # SOS: the rest is image data, hashed as it is
            digest.update(view[offset:])
            break
        body = view[offset + 4 : end]
        head = bytes(body[:29])
        if marker == 0xE1 and head.startswith(EXIF_HEADER):
            _metadata(scan, "EXIF", bytes(body[len(EXIF_HEADER) :]), limits)
        elif marker == 0xE1 and head == XMP_SIGNATURE:
            _metadata(scan, "XMP", bytes(body[len(XMP_SIGNATURE) :]), limits)
        else:
            digest.update(view[offset:end])
            if marker in _SOF and scan.width is None and length >= 7:
                scan.height, scan.width = struct.unpack_from(">HH", body, 1)
            elif marker == 0xE2 and head.startswith(b"ICC_PROFILE\0"):
                render.add("ICC_PROFILE", body)
            elif marker == 0xFE:
                scan.others.append("COM")
            elif 0xE1 <= marker <= 0xEF:
                scan.others.append(f"APP{marker - 0xE0}")
        offset = end
    scan.data_digest = digest.hexdigest()


def _scan_webp(view: memoryview, scan: ExportScan, render: _Render, limits: Limits) -> None:
    size = len(view)
    if size < 12:
        raise ContainerError("the WebP file is truncated")
    (riff,) = struct.unpack_from("<I", view, 4)
    end_of_riff = riff + 8
    if end_of_riff > size:
        raise ContainerError("the WebP file is shorter than its RIFF header says (truncated)")
    digest = blake3()
    digest.update(view[:4])
    digest.update(view[8:12])
    offset, chunks = 12, 0
    while offset < end_of_riff:
        if offset + 8 > end_of_riff:
            raise ContainerError(f"the WebP file ends inside a chunk header at byte {offset}")
        fourcc, length = struct.unpack_from("<4sI", view, offset)
        chunks += 1
        if chunks > limits.max_chunks:
            raise ContainerError(f"the WebP file has more than {limits.max_chunks} chunks")
        end = offset + 8 + length
        if end > end_of_riff:
            raise ContainerError(f"WebP chunk {fourcc!r} at byte {offset} runs past the end")
        padded = min(end + (length & 1), end_of_riff)
        body = view[offset + 8 : end]
        if fourcc == b"EXIF":
            tiff = bytes(body)
            _metadata(scan, "EXIF", tiff.removeprefix(EXIF_HEADER), limits)
        elif fourcc == b"XMP ":
            _metadata(scan, "XMP", bytes(body), limits)
        elif fourcc == b"VP8X":
            if length < 10:
                raise ContainerError("the WebP VP8X chunk is too short")
            digest.update(view[offset : offset + 8])
            digest.update(bytes([body[0] & ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF]))
            digest.update(view[offset + 9 : padded])
            scan.width = int.from_bytes(body[4:7], "little") + 1
            scan.height = int.from_bytes(body[7:10], "little") + 1
        else:
            digest.update(view[offset:padded])
            if fourcc == b"ICCP":
                render.add("ICCP", body)
            elif fourcc == b"VP8L" and scan.width is None and length >= 5:
                (bits,) = struct.unpack_from("<I", body, 1)
                scan.width, scan.height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            elif fourcc == b"VP8 " and scan.width is None and length >= 10:
                w, h = struct.unpack_from("<HH", body, 6)
                scan.width, scan.height = w & 0x3FFF, h & 0x3FFF
            elif fourcc not in (b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF"):
                scan.others.append(fourcc.decode("latin-1").strip())
        offset = padded
    digest.update(view[end_of_riff:])
    scan.trailing_bytes = size - end_of_riff
    scan.data_digest = digest.hexdigest()

"""A bounded, lenient EXIF (TIFF structure) reader: every entry of IFD0, IFD1, the Exif sub-IFD
and the GPS IFD, as text where it is text, with a one-sentence problem for whatever is broken.

Both byte orders; every offset is checked against the block; an IFD is read once however often
it is pointed to (no loops); the number of IFDs, of entries per IFD and of numbers rendered per
entry are capped. Values land under ``<prefix>:<IFD>:<Tag>`` (``jpeg:exif:ExifIFD:UserComment``,
``png:eXIf:IFD0:Model``); tags without a name here keep their number (``Tag0x9999``).

Text tags are decoded as their writers meant them, with a ``note`` when that was a guess:

* ASCII entries: trailing NULs dropped; leading NULs dropped (NovelAI's WebP ``ImageDescription``
  starts with four); UTF-8 or Latin-1 inside an ASCII entry is kept, noted.
* ``UserComment``: by its 8-byte charset prefix (``ASCII``, ``UNICODE``, ``JIS``, undefined).
  UTF-16's byte order is taken from the text itself, not from the TIFF byte order: A1111 writes
  ``MM`` + big-endian, SwarmUI ``II`` + little-endian, Civitai ``II`` + big-endian. An entry with
  no prefix (Fooocus: ASCII type, in IFD0) is read as text.
* ``XPTitle``/``XPComment``/``XPAuthor``/``XPKeywords``/``XPSubject``: UTF-16LE, as Windows writes.
"""

from __future__ import annotations

import struct

from provenance.extract._collect import Collector, printable_text

__all__ = ["TAG_NAMES", "decode_user_comment", "read_exif"]

EXIF_HEADER = b"Exif\0\0"

#: Names of the IFD0/IFD1/Exif sub-IFD tags (EXIF 2.32 and Windows' XP tags).
TAG_NAMES: dict[int, str] = {
    0x00FE: "NewSubfileType",
    0x0100: "ImageWidth",
    0x0101: "ImageLength",
    0x0102: "BitsPerSample",
    0x0103: "Compression",
    0x0106: "PhotometricInterpretation",
    0x010D: "DocumentName",
    0x010E: "ImageDescription",
    0x010F: "Make",
    0x0110: "Model",
    0x0111: "StripOffsets",
    0x0112: "Orientation",
    0x0115: "SamplesPerPixel",
    0x0116: "RowsPerStrip",
    0x0117: "StripByteCounts",
    0x011A: "XResolution",
    0x011B: "YResolution",
    0x011C: "PlanarConfiguration",
    0x0128: "ResolutionUnit",
    0x0131: "Software",
    0x0132: "DateTime",
    0x013B: "Artist",
    0x013C: "HostComputer",
    0x0201: "JPEGInterchangeFormat",
    0x0202: "JPEGInterchangeFormatLength",
    0x0211: "YCbCrCoefficients",
    0x0212: "YCbCrSubSampling",
    0x0213: "YCbCrPositioning",
    0x0214: "ReferenceBlackWhite",
    0x4746: "Rating",
    0x8298: "Copyright",
    0x829A: "ExposureTime",
    0x829D: "FNumber",
    0x8822: "ExposureProgram",
    0x8827: "ISOSpeedRatings",
    0x9000: "ExifVersion",
    0x9003: "DateTimeOriginal",
    0x9004: "DateTimeDigitized",
    0x9010: "OffsetTime",
    0x9011: "OffsetTimeOriginal",
    0x9012: "OffsetTimeDigitized",
    0x9101: "ComponentsConfiguration",
    0x9201: "ShutterSpeedValue",
    0x9202: "ApertureValue",
    0x9204: "ExposureBiasValue",
    0x9207: "MeteringMode",
    0x9209: "Flash",
    0x920A: "FocalLength",
    0x927C: "MakerNote",
    0x9286: "UserComment",
    0x9290: "SubSecTime",
    0x9291: "SubSecTimeOriginal",
    0x9292: "SubSecTimeDigitized",
    0x9C9B: "XPTitle",
    0x9C9C: "XPComment",
    0x9C9D: "XPAuthor",
    0x9C9E: "XPKeywords",
    0x9C9F: "XPSubject",
    0xA000: "FlashpixVersion",
    0xA001: "ColorSpace",
    0xA002: "PixelXDimension",
    0xA003: "PixelYDimension",
    0xA402: "ExposureMode",
    0xA403: "WhiteBalance",
    0xA406: "SceneCaptureType",
    0xA420: "ImageUniqueID",
    0xA430: "CameraOwnerName",
    0xA431: "BodySerialNumber",
    0xA433: "LensMake",
    0xA434: "LensModel",
}

_GPS_NAMES: dict[int, str] = {
    0x0000: "GPSVersionID",
    0x0001: "GPSLatitudeRef",
    0x0002: "GPSLatitude",
    0x0003: "GPSLongitudeRef",
    0x0004: "GPSLongitude",
    0x0005: "GPSAltitudeRef",
    0x0006: "GPSAltitude",
    0x0007: "GPSTimeStamp",
    0x001D: "GPSDateStamp",
}

#: Pointer tags: the IFD each one leads to.
_SUB_IFDS = {0x8769: "ExifIFD", 0x8825: "GPS", 0xA005: "InteropIFD"}
_XP_TAGS = frozenset({0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F})
_USER_COMMENT = 0x9286

# Type -> (struct code, size of one value). 2 = ASCII, 7 = UNDEFINED; 1/6 bytes.
_TYPES: dict[int, tuple[str, int]] = {
    1: ("B", 1),
    2: ("s", 1),
    3: ("H", 2),
    4: ("I", 4),
    5: ("II", 8),
    6: ("b", 1),
    7: ("s", 1),
    8: ("h", 2),
    9: ("i", 4),
    10: ("ii", 8),
    11: ("f", 4),
    12: ("d", 8),
    13: ("I", 4),
}
_BYTE_TYPES = frozenset({1, 6, 7})

MAX_IFDS = 16
MAX_ENTRIES = 1000
MAX_NUMBERS = 64  # numbers rendered per entry; the rest are summarised

_CODEC_NAMES = {"utf-16-be": "UTF-16BE", "utf-16-le": "UTF-16LE"}
_SAMPLE_BYTES = 4096  # enough UTF-16 text to tell its byte order by

_UC_PREFIXES = {
    b"ASCII\0\0\0": "ASCII",
    b"UNICODE\0": "UNICODE",
    b"JIS\0\0\0\0\0": "JIS",
    b"\0\0\0\0\0\0\0\0": "undefined",
}


def read_exif(data: bytes | memoryview, prefix: str, out: Collector) -> None:
    """Read one EXIF block (TIFF header first, ``Exif\\0\\0`` before it tolerated) into ``out``."""
    tiff = bytes(data)
    if tiff.startswith(EXIF_HEADER):
        tiff = tiff[len(EXIF_HEADER) :]
    if len(tiff) < 8 or tiff[:4] not in (b"II*\0", b"MM\0*"):
        out.problem(f"{prefix} does not start with a TIFF header (EXIF is unreadable)")
        return
    order = "<" if tiff[:2] == b"II" else ">"
    (first,) = struct.unpack_from(order + "I", tiff, 4)
    queue: list[tuple[int, str]] = [(first, "IFD0")]
    visited: set[int] = set()
    ifds = 0
    while queue and not out.full:
        offset, name = queue.pop(0)
        if offset in visited:
            out.problem(f"{prefix} points to IFD {name} twice (loop); it was read once")
            continue
        visited.add(offset)
        ifds += 1
        if ifds > MAX_IFDS:
            out.problem(f"{prefix} has more than {MAX_IFDS} IFDs; the rest were not read")
            break
        next_ifd = _read_ifd(tiff, order, offset, name, prefix, out, queue)
        if next_ifd and name.startswith("IFD") and name[3:].isdigit():
            queue.append((next_ifd, f"IFD{int(name[3:]) + 1}"))


def _read_ifd(
    tiff: bytes,
    order: str,
    offset: int,
    ifd: str,
    prefix: str,
    out: Collector,
    queue: list[tuple[int, str]],
) -> int:
    """Read one IFD's entries; the offset of the next IFD (0 for none)."""
    if offset < 8 or offset + 2 > len(tiff):
        out.problem(f"{prefix} {ifd} lies outside the EXIF block")
        return 0
    (count,) = struct.unpack_from(order + "H", tiff, offset)
    available = (len(tiff) - offset - 2) // 12
    if count > available:
        out.problem(f"{prefix} {ifd} declares {count} entries but only {available} fit")
        count = available
    if count > MAX_ENTRIES:
        out.problem(f"{prefix} {ifd} has {count} entries; only {MAX_ENTRIES} were read")
        count = MAX_ENTRIES
    names = _GPS_NAMES if ifd == "GPS" else TAG_NAMES
    for index in range(count):
        entry = offset + 2 + 12 * index
        tag, typ, n = struct.unpack_from(order + "HHI", tiff, entry)
        name = names.get(tag) or f"Tag0x{tag:04X}"
        where = f"{prefix}:{ifd}:{name}"
        if typ not in _TYPES:
            out.problem(f"{where} has an unknown EXIF type {typ}")
            continue
        code, size = _TYPES[typ]
        total = n * size
        if total <= 4:
            raw = tiff[entry + 8 : entry + 8 + total]
        else:
            (pointer,) = struct.unpack_from(order + "I", tiff, entry + 8)
            if pointer + total > len(tiff):
                out.problem(f"{where} points outside the EXIF block")
                continue
            if total > out.limits.max_text_bytes:
                out.problem(f"{where} is {total} bytes, over the limit; it was not kept")
                continue
            raw = tiff[pointer : pointer + total]
        if tag in _SUB_IFDS and ifd not in ("GPS", "InteropIFD") and typ in (4, 13) and n >= 1:
            (target,) = struct.unpack_from(order + "I", raw)
            queue.append((target, _SUB_IFDS[tag]))
            continue
        _keep(out, where, tag, typ, code, n, raw, order)
        if out.full:
            return 0
    end = offset + 2 + 12 * count
    if end + 4 > len(tiff):
        return 0
    (next_ifd,) = struct.unpack_from(order + "I", tiff, end)
    return int(next_ifd)


def _keep(
    out: Collector, where: str, tag: int, typ: int, code: str, n: int, raw: bytes, order: str
) -> None:
    if tag == _USER_COMMENT:
        comment, how = decode_user_comment(raw, typ, big_endian=order == ">")
        out.add(where, text=comment, note=how)
    elif tag in _XP_TAGS and typ in _BYTE_TYPES:
        body = raw[: len(raw) - len(raw) % 2]
        out.add(where, text=body.decode("utf-16-le", "replace").rstrip("\0"))
    elif typ == 2:
        text, note = _ascii(raw)
        out.add(where, text=text, note=note)
    elif typ in _BYTE_TYPES:
        shown = printable_text(raw)
        if shown is not None:
            out.add(where, text=shown, note="undefined bytes, read as UTF-8 text")
        else:
            out.add(where, data=raw)
    else:
        out.add(where, text=_numbers(raw, order, code, n))


def _numbers(raw: bytes, order: str, code: str, n: int) -> str:
    shown = min(n, MAX_NUMBERS)
    values = struct.unpack_from(order + code * shown, raw)
    if len(code) == 2:  # rationals: numerator/denominator pairs
        parts = [f"{values[i]}/{values[i + 1]}" for i in range(0, len(values), 2)]
    else:
        parts = [repr(v) if isinstance(v, float) else str(v) for v in values]
    text = " ".join(parts)
    return text if shown == n else f"{text} ... ({n} values)"


def _ascii(raw: bytes) -> tuple[str, str | None]:
    """An ASCII entry as text: NUL terminator(s) dropped; non-ASCII bytes read as UTF-8/Latin-1."""
    body = raw.rstrip(b"\0")
    notes = []
    if body.startswith(b"\0"):
        body = body.lstrip(b"\0")
        notes.append("leading NUL bytes dropped")
    text, how = _bytes_text(body)
    if how:
        notes.append(f"{how} in an ASCII entry")
    return text, "; ".join(notes) or None


def _bytes_text(body: bytes) -> tuple[str, str | None]:
    """Text from 8-bit bytes: ASCII, else UTF-8, else Latin-1 (the second item names a guess)."""
    if body.isascii():
        return body.decode("ascii"), None
    try:
        return body.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return body.decode("latin-1"), "Latin-1"


def decode_user_comment(raw: bytes, typ: int = 7, *, big_endian: bool = True) -> tuple[str, str]:
    """``UserComment`` as text, and a note that says how it was decoded.

    ``typ`` is the entry's EXIF type (2 = ASCII: no charset prefix, as Fooocus writes);
    ``big_endian`` is the TIFF byte order, used for UTF-16 only when the text cannot tell.
    """
    if typ == 2:
        text, note = _ascii(raw)
        extra = f" ({note})" if note else ""
        return text, f"UserComment stored as ASCII text without a charset prefix{extra}"
    charset = _UC_PREFIXES.get(raw[:8])
    body = raw[8:] if charset else raw
    if charset == "UNICODE":
        text, how = _utf16(body, big_endian)
        return text, f"UserComment UNICODE, {how}"
    if charset == "JIS":
        for codec in ("shift_jis", "euc_jp", "iso2022_jp"):
            try:
                return body.rstrip(b"\0").decode(codec), f"UserComment JIS, read as {codec}"
            except UnicodeDecodeError:
                continue
        return body.decode("latin-1"), "UserComment JIS, undecodable, read as Latin-1"
    label = "undefined charset" if charset else "without a charset prefix"
    if charset != "ASCII" and _looks_utf16(body):
        text, order = _utf16(body, big_endian)
        return text, f"UserComment {label}, {order}"
    text8, guess = _bytes_text(body.rstrip(b"\0"))
    if charset == "ASCII":
        return text8, "UserComment ASCII" + (f", holding {guess}" if guess else "")
    return text8, f"UserComment {label}, read as {guess or 'ASCII'}"


def _looks_utf16(body: bytes) -> bool:
    trimmed = body.rstrip(b"\0")
    return len(trimmed) >= 2 and trimmed.count(0) * 4 >= len(trimmed)


def _utf16(body: bytes, tiff_big_endian: bool) -> tuple[str, str]:
    """UTF-16 text with its byte order from a BOM, else from the text itself (the reading that
    gives more plausible characters), else from the TIFF byte order."""
    if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
        codec = "utf-16-be" if body[:2] == b"\xfe\xff" else "utf-16-le"
        return _decode16(body[2:], codec), f"{_CODEC_NAMES[codec]} by BOM"
    sample = body[:_SAMPLE_BYTES]
    be, le = _plausibility(sample, "utf-16-be"), _plausibility(sample, "utf-16-le")
    if be != le:
        codec, how = ("utf-16-be" if be > le else "utf-16-le"), "by content"
    else:
        codec, how = ("utf-16-be" if tiff_big_endian else "utf-16-le"), "by TIFF byte order"
    return _decode16(body, codec), f"{_CODEC_NAMES[codec]} {how}"


def _decode16(body: bytes, codec: str) -> str:
    return body[: len(body) - len(body) % 2].decode(codec, "replace").rstrip("\0")


def _plausibility(body: bytes, codec: str) -> int:
    """How much ``body`` read as ``codec`` looks like text: ASCII counts most (read in the wrong
    order, ASCII becomes CJK ideographs), then the scripts AI prompts are written in; anything
    else (private use, controls, unpaired surrogates) counts against."""
    text = body[: len(body) - len(body) % 2].decode(codec, "replace")
    return sum(_char_score(c) for c in text)


def _char_score(char: str) -> int:
    code = ord(char)
    if 0x20 <= code < 0x7F or char in "\t\n\r":
        return 2
    if (
        0x3000 <= code <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xAC00 <= code <= 0xD7A3  # Hangul
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0xA0 <= code <= 0x24F  # Latin-1 and Latin Extended
        or 0x370 <= code <= 0x4FF  # Greek, Cyrillic
    ):
        return 1
    return -2

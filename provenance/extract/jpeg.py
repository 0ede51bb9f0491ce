"""The lenient JPEG metadata reader: the segments before the image data, never the image data.

Walks the markers from SOI to the first SOS, checking every length against the file. Locations:
``jpeg:exif:<IFD>:<Tag>`` (APP1 ``Exif``), ``jpeg:xmp`` (APP1 XMP, also in ``xmp``),
``jpeg:xmp-extended`` (the reassembled Extended XMP packet, also in ``xmp``), ``jpeg:com`` (COM),
``jpeg:app11`` (JUMBF; listed in ``c2pa`` when it is a C2PA manifest store). The size comes from the
first SOF segment; a JPEG has no alpha channel.
"""

from __future__ import annotations

import struct

from provenance.extract._collect import Collector
from provenance.extract.exif import EXIF_HEADER, read_exif

__all__ = ["XMP_EXTENSION_SIGNATURE", "XMP_SIGNATURE", "read_jpeg"]

XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\0"
XMP_EXTENSION_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\0"

_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RST0-7, SOI
_SOS, _EOI, _COM, _APP1, _APP11 = 0xDA, 0xD9, 0xFE, 0xE1, 0xEB
MAX_EXTENDED_XMP = 4  # distinct Extended XMP packets (GUIDs) kept


class _Extended:
    """One Extended XMP packet being reassembled from its APP1 pieces."""

    def __init__(self, size: int) -> None:
        self.buffer = bytearray(size)
        self.filled = 0


def read_jpeg(view: memoryview, out: Collector) -> None:
    """Read the metadata of the JPEG in ``view`` (SOI already checked) into ``out``."""
    size = len(view)
    offset = 2
    segments = 0
    extended: dict[bytes, _Extended] = {}
    jumbf: dict[bytes, list[tuple[int, bytes]]] = {}
    while not out.full:
        if offset >= size:
            out.problem("the JPEG file ends before its image data (truncated)")
            break
        if view[offset] != 0xFF:
            out.problem(f"the JPEG file has no marker at byte {offset}; the rest was not read")
            break
        while offset < size and view[offset] == 0xFF:  # fill bytes before the marker code
            offset += 1
        if offset >= size:
            out.problem("the JPEG file ends inside a marker (truncated)")
            break
        marker = view[offset]
        offset += 1
        if marker in _STANDALONE:
            continue
        if marker == _EOI:
            out.problem("the JPEG file ends (EOI) before any image data")
            break
        if marker == 0x00:
            out.problem(f"the JPEG file has an invalid marker at byte {offset - 1}")
            break
        if offset + 2 > size:
            out.problem("the JPEG file ends inside a segment header (truncated)")
            break
        (length,) = struct.unpack_from(">H", view, offset)
        if length < 2:
            out.problem(f"JPEG segment 0x{marker:02X} at byte {offset} has an invalid length")
            break
        segments += 1
        if segments > out.limits.max_chunks:
            out.problem(f"the JPEG file has more than {out.limits.max_chunks} segments")
            break
        if marker == _SOS:
            break
        end = offset + length
        truncated = end > size
        body = bytes(view[offset + 2 : min(end, size)])
        _segment(marker, body, out, extended, jumbf)
        if truncated:
            out.problem(f"the JPEG file is truncated inside segment 0x{marker:02X}")
            break
        offset = end
    _finish_extended(extended, out)
    _finish_jumbf(jumbf, out)


def _segment(
    marker: int,
    body: bytes,
    out: Collector,
    extended: dict[bytes, _Extended],
    jumbf: dict[bytes, list[tuple[int, bytes]]],
) -> None:
    meta = out.meta
    if marker in _SOF:
        if len(body) < 5:
            out.problem("the JPEG frame header (SOF) is truncated")
        elif meta.width is None:
            meta.height, meta.width = struct.unpack_from(">HH", body, 1)
    elif marker == _APP1:
        if body.startswith(EXIF_HEADER):
            read_exif(body[len(EXIF_HEADER) :], "jpeg:exif", out)
        elif body.startswith(XMP_SIGNATURE):
            _xmp("jpeg:xmp", body[len(XMP_SIGNATURE) :], out)
        elif body.startswith(XMP_EXTENSION_SIGNATURE):
            _extended_piece(body[len(XMP_EXTENSION_SIGNATURE) :], out, extended)
    elif marker == _COM:
        raw = body.rstrip(b"\0")
        try:
            out.add("jpeg:com", text=raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.add("jpeg:com", text=raw.decode("latin-1"), note="COM read as Latin-1")
    elif marker == _APP11 and body.startswith(b"JP") and len(body) >= 8:
        # JPEG XT box: instance number (2 bytes), sequence number (4 bytes), then the JUMBF box.
        pieces = jumbf.setdefault(body[2:4], [])
        if len(pieces) < out.limits.max_metadata_chunks:
            pieces.append((struct.unpack_from(">I", body, 4)[0], body[8:]))


def _xmp(location: str, raw: bytes, out: Collector) -> None:
    try:
        text, note = raw.decode("utf-8"), None
    except UnicodeDecodeError:
        text, note = raw.decode("utf-8", "replace"), "invalid UTF-8 replaced"
        out.problem(f"{location} holds invalid UTF-8")
    if out.add(location, text=text, note=note):
        out.meta.xmp.append(text)


def _extended_piece(rest: bytes, out: Collector, extended: dict[bytes, _Extended]) -> None:
    """One APP1 piece of Extended XMP: GUID (32), full length (4), offset (4), data."""
    if len(rest) < 40:
        out.problem("an Extended XMP segment is truncated")
        return
    guid = rest[:32]
    full, at = struct.unpack_from(">II", rest, 32)
    piece = rest[40:]
    packet = extended.get(guid)
    if packet is None:
        if full > out.limits.max_text_bytes:
            out.problem(f"an Extended XMP packet of {full} bytes is over the limit; not read")
            return
        if len(extended) >= MAX_EXTENDED_XMP:
            out.problem(f"more than {MAX_EXTENDED_XMP} Extended XMP packets; the rest not read")
            return
        packet = extended[guid] = _Extended(full)
    if at + len(piece) > len(packet.buffer):
        out.problem("an Extended XMP segment lies outside its packet")
        return
    packet.buffer[at : at + len(piece)] = piece
    packet.filled += len(piece)


def _finish_extended(extended: dict[bytes, _Extended], out: Collector) -> None:
    for packet in extended.values():
        if packet.filled < len(packet.buffer):
            out.problem("an Extended XMP packet is incomplete; it was not kept")
            continue
        _xmp("jpeg:xmp-extended", bytes(packet.buffer), out)


def _finish_jumbf(jumbf: dict[bytes, list[tuple[int, bytes]]], out: Collector) -> None:
    """Join each JUMBF box split over APP11 segments: every piece after the first repeats the
    box header (LBox, TBox and maybe XLBox), which is dropped."""
    for pieces in jumbf.values():
        pieces.sort(key=lambda piece: piece[0])
        joined = bytearray(pieces[0][1])
        for _seq, piece in pieces[1:]:
            header = 16 if piece[:4] == b"\0\0\0\x01" else 8
            joined += piece[header:]
            if len(joined) > out.limits.max_text_bytes:
                break
        data = bytes(joined)
        is_c2pa = b"c2pa" in data[:64]
        note = "C2PA manifest store (JUMBF)" if is_c2pa else "JUMBF box, not C2PA"
        location = out.add("jpeg:app11", data=data, note=note)
        if location and is_c2pa:
            out.meta.c2pa.append(location)

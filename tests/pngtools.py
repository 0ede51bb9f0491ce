"""PNG surgery for tests: split a file into chunks, change one thing, rebuild with valid CRCs."""

from __future__ import annotations

import struct
import zlib

from provenance.embed import png_chunk
from provenance.extract.png import PNG_SIGNATURE

Chunk = tuple[bytes, bytes]


def chunks(png: bytes) -> list[Chunk]:
    assert png.startswith(PNG_SIGNATURE)
    out, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        length, ctype = struct.unpack(">I4s", png[offset : offset + 8])
        out.append((ctype, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return out


def build(parts: list[Chunk]) -> bytes:
    return PNG_SIGNATURE + b"".join(png_chunk(t, d) for t, d in parts)


def keyword(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode("latin-1")


def is_text(ctype: bytes) -> bool:
    return ctype in (b"tEXt", b"zTXt", b"iTXt")


def text_chunk(key: str, text: str) -> Chunk:
    """An uncompressed iTXt chunk (UTF-8), as our writer makes for non-Latin-1 text."""
    return b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")


def text_value(ctype: bytes, data: bytes) -> str:
    body = data.split(b"\0", 1)[1]
    if ctype == b"tEXt":
        return body.decode("latin-1")
    assert ctype == b"iTXt" and body[0] == 0
    return body[2:].split(b"\0", 2)[2].decode("utf-8")


def replace_text(png: bytes, key: str, text: str) -> bytes:
    """Replace the value of text chunk ``key`` (written as iTXt)."""
    parts = [
        text_chunk(key, text) if is_text(t) and keyword(d) == key else (t, d)
        for t, d in chunks(png)
    ]
    return build(parts)


def get_text(png: bytes, key: str) -> str:
    for t, d in chunks(png):
        if is_text(t) and keyword(d) == key:
            return text_value(t, d)
    raise KeyError(key)


def drop_text(png: bytes, key: str) -> bytes:
    return build([(t, d) for t, d in chunks(png) if not (is_text(t) and keyword(d) == key)])


def idat_stream(png: bytes) -> bytes:
    return b"".join(d for t, d in chunks(png) if t == b"IDAT")


def with_idat(png: bytes, data: bytes) -> bytes:
    """Replace all IDAT chunks by one holding ``data`` (CRC correct)."""
    parts, done = [], False
    for t, d in chunks(png):
        if t == b"IDAT":
            if not done:
                parts.append((b"IDAT", data))
                done = True
            continue
        parts.append((t, d))
    return build(parts)


def flip_pixel_byte(png: bytes, row: int, column_byte: int) -> bytes:
    """Change one byte of decoded scanline data (not the filter byte) and re-deflate."""
    width = struct.unpack(">I", chunks(png)[0][1][:4])[0]
    raw = bytearray(zlib.decompress(idat_stream(png)))
    stride = len(raw) // struct.unpack(">I", chunks(png)[0][1][4:8])[0]
    assert stride >= width
    raw[row * stride + 1 + column_byte] ^= 0x01
    return with_idat(png, zlib.compress(bytes(raw)))

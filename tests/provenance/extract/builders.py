"""Small synthetic PNG, JPEG and WebP files with chosen metadata, for the reader tests."""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Sequence

import numpy as np
from PIL import Image

from tests.pngtools import build, chunks

__all__ = [
    "jpeg_with",
    "png_with",
    "riff",
    "stealth_png",
    "tiff",
    "webp_chunks",
    "webp_with",
]


def png_with(
    before: Sequence[tuple[bytes, bytes]] = (),
    after: Sequence[tuple[bytes, bytes]] = (),
    *,
    mode: str = "RGB",
) -> bytes:
    """A 4x4 PNG with extra chunks before IDAT and after it (before IEND)."""
    buffer = io.BytesIO()
    Image.new(mode, (4, 4)).save(buffer, "PNG")
    parts = chunks(buffer.getvalue())
    idat = next(i for i, (t, _) in enumerate(parts) if t == b"IDAT")
    return build([*parts[:idat], *before, parts[idat], *after, *parts[idat + 1 :]])


def jpeg_with(*segments: tuple[int, bytes], **save: object) -> bytes:
    """A 16x8 JPEG with extra segments (marker, payload) right after SOI."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), "gray").save(buffer, "JPEG", **save)
    data = buffer.getvalue()
    extra = b"".join(
        bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body for marker, body in segments
    )
    return data[:2] + extra + data[2:]


def riff(parts: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
        for fourcc, data in parts
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, offset = [], 12
    while offset < len(data):
        fourcc, length = struct.unpack_from("<4sI", data, offset)
        out.append((fourcc, data[offset + 8 : offset + 8 + length]))
        offset += 8 + length + (length & 1)
    return out


def webp_with(*extra: tuple[bytes, bytes], mode: str = "RGB", lossless: bool = True) -> bytes:
    """An 8x6 WebP (VP8X) with extra chunks after the image."""
    buffer = io.BytesIO()
    Image.new(mode, (8, 6), (255, 0, 0, 128)).save(buffer, "WEBP", lossless=lossless)
    image = [c for c in webp_chunks(buffer.getvalue()) if c[0] != b"VP8X"]
    alpha = 0x10 if mode == "RGBA" else 0
    vp8x = bytes([alpha | 0x0C, 0, 0, 0]) + (7).to_bytes(3, "little") + (5).to_bytes(3, "little")
    return riff([(b"VP8X", vp8x), *image, *extra])


def tiff(
    ifds: dict[str, list[tuple[int, int, int, bytes]]], order: str = "<", *, loop: bool = False
) -> bytes:
    """A TIFF block: ``ifds["IFD0"]`` and optionally ``ifds["ExifIFD"]``, entries as
    (tag, type, count, value bytes). Values longer than 4 bytes go after the IFDs."""
    has_exif = "ExifIFD" in ifds
    ifd0 = list(ifds["IFD0"]) + ([(0x8769, 4, 1, b"")] if has_exif else [])
    layout = [("IFD0", ifd0)] + ([("ExifIFD", list(ifds["ExifIFD"]))] if has_exif else [])
    starts, at = {}, 8
    for name, entries in layout:
        starts[name] = at
        at += 2 + 12 * len(entries) + 4
    data_area = bytearray()
    blocks = []
    for name, entries in layout:
        block = bytearray(struct.pack(order + "H", len(entries)))
        for tag, typ, count, value in entries:
            if tag == 0x8769 and name == "IFD0":
                value = struct.pack(order + "I", starts["ExifIFD"])
            if len(value) <= 4:
                field = value.ljust(4, b"\0")
            else:
                field = struct.pack(order + "I", at + len(data_area))
                data_area += value + (b"\0" if len(value) % 2 else b"")
            block += struct.pack(order + "HHI", tag, typ, count) + field
        next_ifd = starts["IFD0"] if (loop and name == "IFD0") else 0
        block += struct.pack(order + "I", next_ifd)
        blocks.append(bytes(block))
    header = (b"II*\0" if order == "<" else b"MM\0*") + struct.pack(order + "I", 8)
    return header + b"".join(blocks) + bytes(data_area)


def stealth_png(
    payload: bytes, magic: str = "stealth_pnginfo", *, size: tuple[int, int] = (40, 30)
) -> bytes:
    """An RGBA PNG with ``payload`` hidden as NovelAI/Forge do (alpha or RGB LSBs, by column)."""
    data = gzip.compress(payload) if magic.endswith("comp") else payload
    stream = magic.encode() + struct.pack(">I", len(data) * 8) + data
    bits = np.unpackbits(np.frombuffer(stream, np.uint8))
    width, height = size
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    pixels[:, :, 3] = 255
    channels = [3] if "png" in magic else [0, 1, 2]
    plane = pixels[:, :, channels].transpose(1, 0, 2).reshape(-1).copy()  # column by column
    assert len(bits) <= len(plane), "image too small for the payload"
    plane[: len(bits)] = (plane[: len(bits)] & 0xFE) | bits
    pixels[:, :, channels] = plane.reshape(width, height, len(channels)).transpose(1, 0, 2)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()

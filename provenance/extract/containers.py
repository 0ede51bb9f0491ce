"""Read every piece of metadata a PNG, JPEG or WebP file carries, leniently and within limits.

:func:`read_metadata` detects the format by its magic bytes (never by the file name), hands the
bytes to the format's reader and returns a :class:`~provenance.extract.model.ContainerMetadata`:
the values verbatim under their locations, the XMP packets, where the C2PA manifests are, and one
sentence per problem. It never raises: whatever a reader did not expect becomes a problem too.

Readers never decode pixels, with one exception: the stealth payload in the alpha channel's LSBs
(:mod:`provenance.extract.stealth`), looked for only in PNG/WebP images with an alpha channel and
no other generation metadata (Forge and NovelAI also write text chunks or EXIF, which are read
instead), within ``Limits.max_pixels``; ``stealth="always"`` looks in every such image.

:func:`read_metadata_file` reads a file by its path the way exiftool does: for a PNG only the
chunk headers and the metadata chunks, seeking over the image data (the whole file only when the
pixels are needed: a stealth payload, or a NovelAI signature to check); JPEG and WebP files are
read whole, as their metadata may lie anywhere before the image data.

Bounds: ``Limits.max_file_bytes`` for the input, ``max_chunks`` for chunks/segments,
``max_metadata_chunks`` for values, ``max_chunk_bytes`` for one metadata chunk,
``max_text_bytes`` for one value (and for any decompressed stream), ``max_total_text_bytes``
for all values together; zlib and gzip streams are inflated only up to the limit.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import BinaryIO, Literal

from provenance._files import read_stream
from provenance.extract._collect import Collector
from provenance.extract.jpeg import read_jpeg
from provenance.extract.model import ContainerMetadata, Format
from provenance.extract.png import PNG_SIGNATURE, Buffer, Limits
from provenance.extract.pngmeta import read_png, read_png_chunks
from provenance.extract.stealth import read_stealth
from provenance.extract.webp import read_webp

__all__ = [
    "GENERATION_KEYS_FOR_STEALTH",
    "FileMetadata",
    "Stealth",
    "detect_format",
    "read_metadata",
    "read_metadata_file",
    "read_unsized",
    "sniff_container",
]

#: Bytes that :func:`detect_format` and :func:`sniff_container` look at.
SIGNATURE_BYTES = 16

#: Value names (the last part of a location, any case) that hold generation metadata: when one
#: is present, the pixels are not decoded to look for a stealth payload.
GENERATION_KEYS_FOR_STEALTH = frozenset(
    {
        "parameters",
        "prompt",
        "workflow",
        "comment",
        "description",
        "usercomment",
        "imagedescription",
        "invokeai_metadata",
        "invokeai_graph",
        "sd-metadata",
        "dream",
        "generation_data",
        "parameters-json",
        "smproj",
        "fooocus_scheme",
        "model",
        "make",
    }
)


def detect_format(data: Buffer) -> Format | None:
    """The container format by its magic bytes: ``"png"``, ``"jpeg"``, ``"webp"`` or None."""
    head = bytes(memoryview(data)[:SIGNATURE_BYTES])
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def sniff_container(data: Buffer) -> str | None:
    """:func:`detect_format`, plus the containers that are named but not read: ``"gif"`` and
    ``"isobmff"`` (AVIF, HEIC)."""
    found = detect_format(data)
    if found is not None:
        return found
    head = bytes(memoryview(data)[:SIGNATURE_BYTES])
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp":
        return "isobmff"
    return None


Stealth = bool | Literal["always"]


def read_metadata(
    data: Buffer, *, limits: Limits | None = None, stealth: Stealth = True
) -> ContainerMetadata:
    """Everything the file in ``data`` carries as metadata; never raises.

    ``stealth``: True looks for a stealth payload in PNG/WebP images with an alpha channel and no
    other generation metadata; ``"always"`` in every PNG/WebP image with an alpha channel (to
    compare it with the text chunks, or check NovelAI's signature); False never decodes pixels.
    """
    limits = limits or Limits()
    try:
        return _read(data, limits, stealth)
    except Exception as exc:  # a reader bug must not take the caller down: report it as data
        return ContainerMetadata(
            format=None,
            problems=[f"the metadata reader failed unexpectedly ({type(exc).__name__}: {exc})"],
        )


def _read(data: Buffer, limits: Limits, stealth: Stealth) -> ContainerMetadata:
    """:func:`read_metadata` without the safety net (the fuzz harness calls this one)."""
    view = memoryview(data).cast("B")
    fmt = detect_format(view)
    out = Collector(fmt, limits)
    if fmt is None:
        out.problem(
            "not a PNG, JPEG or WebP file (empty)"
            if not len(view)
            else "not a PNG, JPEG or WebP file (unknown signature)"
        )
        return out.finish()
    if len(view) > limits.max_file_bytes:
        out.problem(f"the file is larger than the limit of {limits.max_file_bytes} bytes")
        return out.finish()
    if fmt == "png":
        read_png(view, out)
    elif fmt == "jpeg":
        read_jpeg(view, out)
    else:
        read_webp(view, out)
    meta = out.meta
    wanted = stealth == "always" or (stealth and not _has_generation_metadata(meta))
    if wanted and fmt != "jpeg" and meta.has_alpha:
        read_stealth(view, f"{fmt}:stealth", out)
    return out.finish()


def _has_generation_metadata(meta: ContainerMetadata) -> bool:
    for value in meta.values:
        name = value.location.rsplit(":", 1)[-1].split("#", 1)[0].lower()
        if name in GENERATION_KEYS_FOR_STEALTH or value.location.startswith("png:comf:"):
            return True
    return False


#: Bytes read first from a file: the signature, the header and the metadata chunks that usually
#: precede the image data; a chunk beyond them is read with one more ``pread`` (16 KiB was
#: measurably faster than 64 KiB for 512x512 A1111 PNGs, whose metadata takes under 1 KiB).
HEAD_BYTES = 16 * 1024


@dataclass(frozen=True)
class FileMetadata:
    """What :func:`read_metadata_file` found, and the file's bytes when it read them whole (for
    checks that need the pixels, such as NovelAI's signature); None when only parts were read."""

    meta: ContainerMetadata
    data: bytes | None


class _Window:
    """``fetch(offset, count)`` over an open file with ``os.pread``: the file's head, then one
    window (at least 4 KiB) at a time, so the chunks between the image data cost one read each."""

    def __init__(self, fd: int, head: bytes) -> None:
        self.fd = fd
        self.start = 0
        self.data = head

    def __call__(self, offset: int, count: int) -> bytes | memoryview:
        relative = offset - self.start
        if relative >= 0 and relative + count <= len(self.data):
            return memoryview(self.data)[relative : relative + count]
        self.data = os.pread(self.fd, max(count, 4096), offset)
        self.start = offset
        return memoryview(self.data)[:count]


def read_unsized(handle: BinaryIO, limit: int) -> bytes:
    """What a pipe or device holds (its size says nothing), within ``limit`` bytes: its first
    bytes, and the rest only when they start like an image container, so that ``/dev/zero``
    and the like are not read up to the limit."""
    data = read_stream(handle, SIGNATURE_BYTES)
    if sniff_container(data) is not None:
        data += read_stream(handle, limit - len(data))
    return data


def read_metadata_file(
    path: str | os.PathLike[str], *, limits: Limits | None = None, stealth: Stealth = True
) -> FileMetadata:
    """:func:`read_metadata` for a file by its path, reading as little of it as it can (see the
    module doc). Never raises for what the file holds; ``OSError`` when it cannot be opened."""
    limits = limits or Limits()
    with open(path, "rb", buffering=0) as handle:
        fd = handle.fileno()
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            data = read_unsized(handle, limits.max_file_bytes + 1)
            return FileMetadata(read_metadata(data, limits=limits, stealth=stealth), data)
        size = info.st_size
        head = os.pread(fd, min(size, HEAD_BYTES), 0)
        fmt = detect_format(head)
        if fmt is not None and size > limits.max_file_bytes:  # reported without reading it
            out = Collector(fmt, limits)
            out.problem(f"the file is larger than the limit of {limits.max_file_bytes} bytes")
            return FileMetadata(out.finish(), None)
        if fmt != "png" or size <= len(head):
            data = head if fmt is None or size <= len(head) else _whole(fd, size)
            return FileMetadata(read_metadata(data, limits=limits, stealth=stealth), data)
        out = Collector(fmt, limits)
        try:
            read_png_chunks(size, _Window(fd, head), out)
        except OSError as exc:
            out.problem(f"the file could not be read to its end ({exc.strerror or exc})")
        except Exception as exc:  # as in read_metadata: a reader bug is reported as data
            out.problem(f"the metadata reader failed unexpectedly ({type(exc).__name__}: {exc})")
        meta = out.finish()
        wanted = stealth == "always" or (stealth and not _has_generation_metadata(meta))
        if not (wanted and meta.has_alpha):
            return FileMetadata(meta, None)
        data = _whole(fd, size)  # the stealth payload is in the pixels
    return FileMetadata(read_metadata(data, limits=limits, stealth=stealth), data)


def _whole(fd: int, size: int) -> bytes:
    """The whole file, and one byte more if it grew since its size was taken (the readers then
    see the bytes that are there)."""
    return os.pread(fd, size + 1, 0)

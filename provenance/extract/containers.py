"""Read every piece of metadata a PNG, JPEG or WebP file carries, leniently and within limits.

:func:`read_metadata` detects the format by its magic bytes (never by the file name), hands the
bytes to the format's reader and returns a :class:`~provenance.extract.model.ContainerMetadata`:
the values verbatim under their locations, the XMP packets, where the C2PA manifests are, and one
sentence per problem. It never raises: whatever a reader did not expect becomes a problem too.

Readers never decode pixels, with one exception: the stealth payload in the alpha channel's LSBs
(:mod:`provenance.extract.stealth`), looked for only in PNG/WebP images with an alpha channel and
no other generation metadata (Forge and NovelAI also write text chunks or EXIF, which are read
instead), within ``Limits.max_pixels``; ``stealth="always"`` looks in every such image.

Bounds: ``Limits.max_file_bytes`` for the input, ``max_chunks`` for chunks/segments,
``max_metadata_chunks`` for values, ``max_chunk_bytes`` for one metadata chunk,
``max_text_bytes`` for one value (and for any decompressed stream), ``max_total_text_bytes``
for all values together; zlib and gzip streams are inflated only up to the limit.
"""

from __future__ import annotations

from typing import Literal

from provenance.extract._collect import Collector
from provenance.extract.jpeg import read_jpeg
from provenance.extract.model import ContainerMetadata, Format
from provenance.extract.png import PNG_SIGNATURE, Buffer, Limits
from provenance.extract.pngmeta import read_png
from provenance.extract.stealth import read_stealth
from provenance.extract.webp import read_webp

__all__ = [
    "GENERATION_KEYS_FOR_STEALTH",
    "Stealth",
    "detect_format",
    "read_metadata",
    "sniff_container",
]

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
    head = bytes(memoryview(data)[:16])
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
    head = bytes(memoryview(data)[:16])
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

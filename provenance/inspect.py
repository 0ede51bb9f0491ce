"""Show everything embedded in an image, like the webui's PNG Info, plus the verification result.

Lenient where verification is strict: a file that fails verification is still listed chunk by
chunk, and the signed record is shown only when its signature checked out. Whatever tool wrote
the file, :func:`inspect` also gives one normalized view of it
(:class:`~provenance.extract.model.Extraction`: ``tool``, ``generation``, ``labels``, ``raw``).
:func:`inspect_metadata` gives that view alone, without verifying: it reads a PNG's metadata
chunks and seeks over its image data, as exiftool does.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.errors import ContainerError
from provenance.extract.containers import read_metadata, read_metadata_file, read_unsized
from provenance.extract.interpret import interpret
from provenance.extract.model import Extraction
from provenance.extract.png import Limits, PngScan, scan_png
from provenance.finalize import OUR_KEYWORDS
from provenance.report import VerificationReport
from provenance.signing.policy import TrustPolicy
from provenance.verify import Source, verify
from provenance.xmp import XmpFields, parse_xmp

__all__ = ["Inspection", "inspect", "inspect_metadata"]

_COLOR_TYPES = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale+alpha", 6: "RGBA"}


@dataclass
class Inspection:
    """What an image carries, and what verification concluded (``report`` None: not verified)."""

    source: str
    report: VerificationReport | None
    width: int | None = None
    height: int | None = None
    color: str | None = None
    texts: list[dict[str, Any]] = field(default_factory=list)
    xmp: XmpFields | None = None
    xmp_error: str | None = None
    chunk_counts: dict[str, int] = field(default_factory=dict)
    read_error: str | None = None
    extraction: Extraction | None = None
    container: str | None = None

    def to_dict(self) -> dict[str, Any]:
        view = self.extraction.to_dict() if self.extraction is not None else {}
        return {
            "file": self.source,
            "tool": view.get("tool"),
            "generation": view.get("generation"),
            "labels": view.get("labels", []),
            "extra": view.get("extra", {}),
            "raw": view.get("raw", {}),
            "container": self.container,
            "width": self.width,
            "height": self.height,
            "color": self.color,
            "text": self.texts,
            "xmp": None if self.xmp is None else vars(self.xmp),
            "xmp_error": self.xmp_error,
            "chunks": self.chunk_counts,
            "read_error": self.read_error,
            "verification": None if self.report is None else self.report.to_dict(),
            "record": None if self.report is None else self.report.record,
        }


def inspect(source: Source, *, policy: TrustPolicy, limits: Limits | None = None) -> Inspection:
    """Inspect a path or bytes. Raises ``OSError`` only for a path that cannot be opened."""
    limits = limits or Limits()
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), "<bytes>"
    else:
        with Path(source).open("rb") as handle:
            name, info = str(source), os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode):
                # read(n) allocates n bytes first: ask for what the file holds (one more byte
                # shows a file over the limit, or one that grew), not for the limit
                data = handle.read(min(info.st_size, limits.max_file_bytes) + 1)
            else:
                data = read_unsized(handle, limits.max_file_bytes + 1)
    report = verify(data, policy=policy, limits=limits, name=name)
    result = Inspection(source=report.source, report=report, container=report.container)
    meta = read_metadata(data, limits=limits)  # never raises
    result.extraction = interpret(meta, data)
    result.width, result.height = meta.width, meta.height
    if report.container != "png":
        return result
    try:
        scan = scan_png(data, limits=limits)
    except ContainerError as exc:
        result.read_error = str(exc)
        return result
    _fill(result, scan)
    return result


def inspect_metadata(path: str | os.PathLike[str], *, limits: Limits | None = None) -> Inspection:
    """What a file's metadata says (``tool``, ``generation``, ``labels``, ``raw``), without
    verifying it. Raises ``OSError`` only for a path that cannot be opened."""
    limits = limits or Limits()
    found = read_metadata_file(path, limits=limits)
    result = Inspection(source=str(path), report=None, container=found.meta.format)
    result.extraction = interpret(found.meta, found.data)
    if found.data is None and result.extraction.extra.get("novelai_signature") == "unchecked":
        with Path(path).open("rb") as handle:  # NovelAI's signature covers the pixels
            data = handle.read(limits.max_file_bytes + 1)
        result.extraction = interpret(read_metadata(data, limits=limits), data)
    result.width, result.height = found.meta.width, found.meta.height
    return result


def _fill(result: Inspection, scan: PngScan) -> None:
    result.width, result.height = scan.width, scan.height
    result.color = _COLOR_TYPES.get(scan.color_type, f"type {scan.color_type}")
    result.chunk_counts = dict(scan.chunk_counts)
    for text in scan.texts:
        result.texts.append(
            {
                "keyword": text.keyword,
                "chunk": text.chunk_type,
                "text": text.shown,
                "after_idat": text.after_idat,
                "ours": text.keyword in OUR_KEYWORDS,
                "raw_utf8_in_text": text.raw_utf8_in_text,
            }
        )
    packets = scan.xmp_packets
    if packets:
        try:
            result.xmp = parse_xmp(packets[0])
        except ContainerError as exc:
            result.xmp_error = str(exc)

"""Show everything embedded in an image, like the webui's PNG Info, plus the verification result.

Lenient where verification is strict: a file that fails verification is still listed chunk by
chunk, and the signed record is shown only when its signature checked out. Whatever tool wrote
the file, :func:`inspect` also gives one normalized view of it
(:class:`~provenance.extract.model.Extraction`: ``tool``, ``generation``, ``labels``, ``raw``).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.errors import ContainerError
from provenance.extract.containers import read_metadata
from provenance.extract.interpret import interpret
from provenance.extract.model import Extraction
from provenance.extract.png import Limits, PngScan, scan_png
from provenance.finalize import OUR_KEYWORDS
from provenance.report import VerificationReport
from provenance.signing.policy import TrustPolicy
from provenance.verify import Source, verify
from provenance.xmp import XmpFields, parse_xmp

__all__ = ["Inspection", "inspect"]

_COLOR_TYPES = {0: "greyscale", 2: "RGB", 3: "palette", 4: "greyscale+alpha", 6: "RGBA"}


@dataclass
class Inspection:
    """What an image carries, and what verification concluded."""

    source: str
    report: VerificationReport
    width: int | None = None
    height: int | None = None
    color: str | None = None
    texts: list[dict[str, Any]] = field(default_factory=list)
    xmp: XmpFields | None = None
    xmp_error: str | None = None
    chunk_counts: dict[str, int] = field(default_factory=dict)
    read_error: str | None = None
    extraction: Extraction | None = None

    def to_dict(self) -> dict[str, Any]:
        view = self.extraction.to_dict() if self.extraction is not None else {}
        return {
            "file": self.source,
            "tool": view.get("tool"),
            "generation": view.get("generation"),
            "labels": view.get("labels", []),
            "extra": view.get("extra", {}),
            "raw": view.get("raw", {}),
            "container": self.report.container,
            "width": self.width,
            "height": self.height,
            "color": self.color,
            "text": self.texts,
            "xmp": None if self.xmp is None else vars(self.xmp),
            "xmp_error": self.xmp_error,
            "chunks": self.chunk_counts,
            "read_error": self.read_error,
            "verification": self.report.to_dict(),
            "record": self.report.record,
        }


def inspect(source: Source, *, policy: TrustPolicy, limits: Limits | None = None) -> Inspection:
    """Inspect a path or bytes. Raises ``OSError`` only for a path that cannot be opened."""
    limits = limits or Limits()
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), "<bytes>"
    else:
        with Path(source).open("rb") as handle:
            # read(n) allocates n bytes first: ask for what the file holds (one more byte shows
            # a file over the limit, or one that grew), not for the limit
            info = os.fstat(handle.fileno())
            regular = stat.S_ISREG(info.st_mode)  # a pipe's size says nothing
            size = min(info.st_size, limits.max_file_bytes) if regular else limits.max_file_bytes
            data, name = handle.read(size + 1), str(source)
    report = verify(data, policy=policy, limits=limits, name=name)
    result = Inspection(source=report.source, report=report)
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

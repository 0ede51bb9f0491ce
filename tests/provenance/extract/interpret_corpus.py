"""Container metadata of the corpus files for the interpreter tests.

Uses :func:`provenance.extract.containers.read_metadata` when it is there.
TODO(issue 5): the fallback below stands in for the container readers until they are committed;
delete it then. It reads PNG text chunks with ``scan_png``, the alpha-channel stealth payload
with numpy, and JPEG/WebP EXIF through exiftool (those files are skipped without it).
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from provenance.errors import ContainerError
from provenance.extract.model import ContainerMetadata, RawValue
from provenance.extract.png import scan_png

__all__ = ["metadata_from", "metadata_of"]

try:
    from provenance.extract.containers import read_metadata
except ImportError:  # pragma: no cover - until the container readers land
    read_metadata = None  # type: ignore[assignment]


def metadata_of(path: Path) -> ContainerMetadata:
    return metadata_from(path.read_bytes())


def metadata_from(data: bytes) -> ContainerMetadata:
    if read_metadata is not None:
        return read_metadata(data)
    return _fallback(data)


def _fallback(data: bytes) -> ContainerMetadata:
    if data.startswith(b"\x89PNG"):
        return _png(data)
    if data.startswith(b"\xff\xd8") or data[8:12] == b"WEBP":
        return _exiftool(data, "jpeg" if data.startswith(b"\xff\xd8") else "webp")
    return ContainerMetadata(format=None, problems=["not a PNG, JPEG or WebP file"])


def _png(data: bytes) -> ContainerMetadata:
    try:
        scan = scan_png(data)
    except ContainerError as exc:
        return ContainerMetadata(format="png", problems=[str(exc)])
    meta = ContainerMetadata(format="png", width=scan.width, height=scan.height)
    seen: dict[str, int] = {}
    for chunk in scan.texts:
        if chunk.keyword == "XML:com.adobe.xmp":
            meta.xmp.append(chunk.shown)
            continue
        location = f"png:{chunk.chunk_type}:{chunk.keyword}"
        seen[location] = seen.get(location, 0) + 1
        suffix = f"#{seen[location]}" if seen[location] > 1 else ""
        meta.values.append(RawValue(location + suffix, text=chunk.shown))
    if "caBX" in scan.foreign_chunks:
        meta.c2pa.append("png:caBX")
    if scan.color_type in (4, 6):
        meta.has_alpha = True
        _stealth(data, "png:stealth", meta)
    return meta


def _stealth(data: bytes, location: str, meta: ContainerMetadata) -> None:
    with Image.open(io.BytesIO(data)) as image:
        if image.mode != "RGBA":
            return
        alpha = np.asarray(image.getchannel("A"))
    bits = (alpha.T & 1).reshape(-1).astype(np.uint8)  # column by column
    header = np.packbits(bits[:152]).tobytes()
    if header[:15] not in (b"stealth_pngcomp", b"stealth_pnginfo"):
        return
    length = int.from_bytes(header[15:19], "big")
    payload = np.packbits(bits[152 : 152 + length]).tobytes()
    if header[:15] == b"stealth_pngcomp":
        payload = gzip.decompress(payload)
    meta.values.append(RawValue(location, text=payload.decode("utf-8")))


def _exiftool(data: bytes, fmt: str) -> ContainerMetadata:
    exe = shutil.which("exiftool")
    if exe is None:
        pytest.skip("exiftool is needed to read JPEG/WebP until the container readers land")
    out = subprocess.run(
        [exe, "-j", "-b", "-G1", "-"], input=data, capture_output=True, check=True
    ).stdout
    tags = json.loads(out)[0]
    meta = ContainerMetadata(format=fmt)  # type: ignore[arg-type]
    for name, value in tags.items():
        group, _, tag = name.partition(":")
        if group in ("IFD0", "ExifIFD") and isinstance(value, str):
            meta.values.append(RawValue(f"{fmt}:exif:{group}:{tag}", text=value))
    if fmt == "webp" and "Alpha" in str(tags.get("RIFF:WebP_Flags", "")):
        meta.has_alpha = True
        _stealth(data, "webp:stealth", meta)
    return meta

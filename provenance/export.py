"""Exporting a signed image as JPEG or WebP: a new file and a new signed record.

The export's record has ``task.type`` ``export``, the original's record id as
``task.parent_record_id`` and the original's pixel digest as ``task.input_digest``; model and
generation facts are copied from the original, and ``extensions["aigc-provenance.export"]`` says
which format and quality. Its content binding describes the exported file itself (see
:mod:`provenance.jpegwebp` for exactly which bytes the data and render digests cover).

The file carries EXIF (``Software``; ``UserComment`` with the A1111 infotext, so other prompt
readers show it) and XMP (the IPTC and TC260 labels, the prompt and the signed envelope). A record
whose XMP or EXIF would not fit one 64 KB APP1 segment (the same cap applies to WebP) keeps its
full form only in the sidecar: the XMP then names the sidecar (``aigcprov:FullRecord``) and the
SHA-256 of the record bytes (``aigcprov:RecordSHA256``) instead of holding the envelope, and a
``UserComment`` too large is cut, ending with :data:`TRUNCATION_NOTE`.

The sidecar of ``photo.jpg`` is ``photo.jpg.json`` (so that it never replaces the original's
``photo.json``); same layout as PNG sidecars: the record's fields plus ``envelope``.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blake3 import blake3
from PIL import Image

from provenance import schema
from provenance._files import atomic_write_bytes
from provenance.binding import canonical_image, perceptual_hash, pixel_digest
from provenance.canonical import canonical_json
from provenance.errors import RecordInputError
from provenance.extract.exif import EXIF_HEADER
from provenance.extract.jpeg import XMP_SIGNATURE
from provenance.extract.png import Limits
from provenance.finalize import SignedRecordMixin, open_image
from provenance.jpegwebp import (
    MAX_SEGMENT_BODY,
    jpeg_with_metadata,
    make_exif,
    scan_export,
    webp_extended,
    webp_with_metadata,
)
from provenance.record import ContentBinding, build_record, readable_fields
from provenance.signing.envelope import Envelope
from provenance.signing.keys import SigningKey
from provenance.signing.policy import TrustPolicy
from provenance.signing.signer import sign_payload
from provenance.xmp import make_xmp

if TYPE_CHECKING:
    from provenance.catalog.store import Catalog

__all__ = [
    "DEFAULT_QUALITY",
    "EXPORT_EXTENSION",
    "EXPORT_FORMATS",
    "TRUNCATION_NOTE",
    "ExportResult",
    "ExportedImage",
    "encode_export",
    "export_image",
    "export_sidecar_path",
]

EXPORT_EXTENSION = "aigc-provenance.export"
EXPORT_FORMATS = ("jpeg", "webp")
DEFAULT_QUALITY = 90
#: Ends a UserComment cut to fit one APP1 segment (the full record is in the sidecar).
TRUNCATION_NOTE = "\n[truncated: the full record is in the sidecar file]"


def export_sidecar_path(out: Path) -> Path:
    """``photo.jpg`` -> ``photo.jpg.json``."""
    return out.with_name(out.name + ".json")


@dataclass(frozen=True)
class ExportedImage(SignedRecordMixin):
    """A signed JPEG or WebP in memory, before it is written anywhere."""

    data: bytes
    record: dict[str, Any]
    record_bytes: bytes
    envelope: Envelope
    #: True when the file names its sidecar instead of embedding the envelope.
    sidecar_only: bool


@dataclass(frozen=True)
class ExportResult:
    path: Path
    sidecar: Path
    record_id: str
    parent_record_id: str
    record: dict[str, Any]
    sidecar_only: bool


def _pixels_for(image: Image.Image, fmt: str) -> Image.Image:
    """The image in a mode the format stores: JPEG has no alpha (composited on white)."""
    image = canonical_image(image)
    if fmt == "jpeg":
        if image.mode in ("RGBA", "LA"):
            background = Image.new("RGB", image.size, (255, 255, 255))
            background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
            return background
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    if image.mode in ("RGBA", "LA"):
        return image.convert("RGBA")
    return image if image.mode == "RGB" else image.convert("RGB")


def _encode(image: Image.Image, fmt: str, quality: int, icc: bytes | None) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": quality}
    if icc:
        options["icc_profile"] = icc
    if fmt == "jpeg":
        image.save(buffer, format="JPEG", optimize=True, **options)
        return buffer.getvalue()
    image.save(buffer, format="WEBP", method=4, **options)
    return webp_extended(buffer.getvalue(), image.width, image.height)


def export_draft(
    parent: Mapping[str, Any], fmt: str, quality: int, input_digest: str
) -> dict[str, Any]:
    """The draft of an export record: the parent's facts, task ``export``, the extension;
    ``input_digest`` is the pixel digest of the image exported."""
    keep = ("model", "generation", "system", "performance", "warnings")
    draft = {k: json.loads(json.dumps(parent[k])) for k in keep if parent.get(k) is not None}
    extensions = dict(parent.get("extensions") or {})
    extensions[EXPORT_EXTENSION] = {"format": fmt, "quality": quality}
    draft["extensions"] = extensions
    draft["task"] = {
        "type": "export",
        "parent_record_id": parent["record_id"],
        "input_digest": {"alg": "sha256", "value": input_digest},
        "mask_digest": None,
    }
    return draft


def _fit_comment(text: str, software: str) -> str:
    """``text``, cut (ending with :data:`TRUNCATION_NOTE`) if the EXIF would not fit."""
    if len(EXIF_HEADER + make_exif(software, text)) <= MAX_SEGMENT_BODY:
        return text
    keep = (MAX_SEGMENT_BODY - 256 - 2 * len(TRUNCATION_NOTE)) // 2
    while True:
        cut = text[:keep] + TRUNCATION_NOTE
        if len(EXIF_HEADER + make_exif(software, cut)) <= MAX_SEGMENT_BODY:
            return cut
        keep -= 1024


def encode_export(
    image: Image.Image,
    parent: Mapping[str, Any],
    key: SigningKey,
    *,
    fmt: str,
    quality: int = DEFAULT_QUALITY,
    sidecar_name: str,
    producer: str | None = None,
    icc: bytes | None = None,
) -> ExportedImage:
    """Encode ``image`` as ``fmt``, bind and sign its export record, and embed EXIF and XMP."""
    if fmt not in EXPORT_FORMATS:
        choices = ", ".join(EXPORT_FORMATS)
        raise RecordInputError(f"cannot export as {fmt!r}; choose one of {choices}")
    if not 1 <= quality <= 100:
        raise RecordInputError(f"the quality is {quality}; give a number from 1 to 100")
    # (1) encode once; the data digest excludes exactly what (3) adds
    pixels = _pixels_for(image, fmt)
    base = _encode(pixels, fmt, quality, icc)
    scan = scan_export(base, fmt)
    # (2) bind to the image as a decoder will see it
    with Image.open(io.BytesIO(base)) as decoded:
        decoded.load()
        content = ContentBinding(
            format=fmt,
            width=decoded.width,
            height=decoded.height,
            mode=canonical_image(decoded).mode,
            pixel_digest=pixel_digest(decoded),
            data_digest=scan.data_digest,
            render_digest=scan.render_digest,
            phash=perceptual_hash(decoded),
        )
    signed_pixels = parent["content"]["pixel_digest"]  # None: a record bound to bytes alone
    input_digest = signed_pixels["value"] if signed_pixels else pixel_digest(image)
    record = build_record(
        export_draft(parent, fmt, quality, input_digest),
        content,
        producer=producer or f"aigc-prov:{key.key_id}",
    )
    record_bytes = canonical_json(record)
    envelope = sign_payload(record_bytes, schema.payload_type(), key)
    signed = json.loads(record_bytes)
    # (3) EXIF and XMP, from the bytes that were signed; the sidecar when they do not fit
    readable = readable_fields(signed)
    software = readable["Software"]
    exif = make_exif(software, readable["parameters"])
    xmp = make_xmp(signed, envelope=envelope.to_json())
    sidecar_only = (
        len(EXIF_HEADER) + len(exif) > MAX_SEGMENT_BODY
        or len(XMP_SIGNATURE) + len(xmp.encode("utf-8")) > MAX_SEGMENT_BODY
    )
    if sidecar_only:
        exif = make_exif(software, _fit_comment(readable["parameters"], software))
        digest = hashlib.sha256(record_bytes).hexdigest()
        xmp = make_xmp(signed, full_record=(sidecar_name, digest))
    if fmt == "jpeg":
        data = jpeg_with_metadata(base, exif, xmp)
    else:
        data = webp_with_metadata(base, exif, xmp)
    return ExportedImage(data, signed, record_bytes, envelope, sidecar_only)


def _source(
    source: str | Path, policy: TrustPolicy, catalog: Catalog | None
) -> tuple[Path, dict[str, Any]]:
    """The file to export and its verified record: a path, or a record id in the catalog."""
    from provenance.verify import verify

    path = Path(source)
    if not path.exists() and catalog is not None:
        row = catalog.get(str(source))
        if row is None:
            raise RecordInputError(f"{source} is neither a file nor a record in the catalog")
        if not row.file_path:
            raise RecordInputError(f"record {source} has no file in the catalog to export from")
        path = Path(row.file_path)
        if not path.exists():
            raise RecordInputError(f"record {source}'s file {path} is missing")
    elif not path.exists():
        raise RecordInputError(f"{source} does not exist (and no catalog to look it up in)")
    report = verify(path, policy=policy)
    if not report.status.passed or report.record is None:
        failures = [f.message for f in report.findings if f.kind == "failure"]
        why = failures[0] if failures else report.status.describe()
        raise RecordInputError(
            f"{path} does not verify ({report.status.value}: {why}); only images whose "
            "signature is valid and trusted and whose content matches it can be exported"
        )
    return path, report.record


def export_image(
    source: str | Path,
    key: SigningKey,
    out: Path,
    *,
    fmt: str,
    policy: TrustPolicy,
    quality: int = DEFAULT_QUALITY,
    overwrite: bool = False,
    catalog: Catalog | None = None,
    producer: str | None = None,
    limits: Limits | None = None,
) -> ExportResult:
    """Verify ``source`` (a path, or a record id in ``catalog``), export it as ``fmt`` to ``out``
    with its sidecar, and catalogue the new record. The original is never modified.

    Raises :class:`RecordInputError` when the source does not verify and ``FileExistsError`` when
    ``out`` or its sidecar exists and ``overwrite`` is false.
    """
    side = export_sidecar_path(out)
    for target in (out, side):
        if not overwrite and target.exists():
            raise FileExistsError(f"{target} already exists")
    path, parent = _source(source, policy, catalog)
    if out.resolve() == path.resolve() or side.resolve() == path.resolve():
        raise RecordInputError("the export would replace the original; choose another output")
    image = open_image(path, limits)
    exported = encode_export(
        image,
        parent,
        key,
        fmt=fmt,
        quality=quality,
        sidecar_name=side.name,
        producer=producer,
        icc=image.info.get("icc_profile"),
    )
    if catalog is not None:
        row = exported.catalog_row(file_path=str(out.resolve()), state="pending")
        catalog.begin_record(row)
    try:
        atomic_write_bytes(out, exported.data, overwrite=overwrite)
    except BaseException:
        if catalog is not None:
            catalog.forget_record(exported.record_id)
        raise
    atomic_write_bytes(side, exported.sidecar_json(), overwrite=True)
    if catalog is not None:
        catalog.complete_record(exported.record_id, blake3(exported.data).hexdigest())
    parent_id = str(parent["record_id"])
    return ExportResult(
        out, side, exported.record_id, parent_id, exported.record, exported.sidecar_only
    )

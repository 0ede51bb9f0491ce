"""The finalize step every image leaves through.

build record -> validate against the schema -> bind to content -> sign (Ed25519) -> embed
(text chunks + XMP) -> catalog row (pending) -> write the file atomically -> write the JSON
sidecar -> catalog row complete.

Order matters for crash safety: the catalog row is committed as ``pending`` before the file
exists and marked complete after the file and its sidecar are written, so a crash leaves at worst
a pending row (``aigc-prov fsck`` completes it if the file is whole, or drops it) and never a
catalog row pointing at a half-written image. The image is written before its sidecar.
"""

from __future__ import annotations

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
from provenance.embed import insert_text_chunks
from provenance.errors import RecordInputError
from provenance.extract.png import Limits, scan_png
from provenance.record import (
    ENVELOPE_KEYWORD,
    READABLE_KEYWORDS,
    XMP_KEYWORD,
    ContentBinding,
    build_record,
    readable_fields,
)
from provenance.signing.envelope import Envelope
from provenance.signing.keys import SigningKey
from provenance.signing.signer import sign_payload
from provenance.xmp import make_xmp

if TYPE_CHECKING:
    from provenance.catalog.store import Catalog

__all__ = [
    "OUR_KEYWORDS",
    "FinalizeResult",
    "SignedImage",
    "SignedRecordMixin",
    "finalize",
    "open_image",
    "sidecar_document",
    "sidecar_path",
    "sign_image",
]

#: Text chunk keywords our writer adds; left out of the data digest.
OUR_KEYWORDS = frozenset((*READABLE_KEYWORDS, ENVELOPE_KEYWORD, XMP_KEYWORD))


class SignedRecordMixin:
    """What every signed file held in memory offers: its record id, catalog row and sidecar."""

    record: dict[str, Any]
    record_bytes: bytes
    envelope: Envelope

    @property
    def record_id(self) -> str:
        return str(self.record["record_id"])

    def catalog_row(
        self,
        *,
        file_path: str | None = None,
        state: str = "complete",
        file_digest: str | None = None,
    ) -> dict[str, Any]:
        """This record's catalog row (the signer is the key that signed the envelope)."""
        from provenance.catalog.store import record_values

        return record_values(
            self.record,
            self.record_bytes,
            self.envelope.to_json(),
            self.envelope.signatures[0].key_id,
            file_path=file_path,
            state=state,
            file_digest=file_digest,
        )

    def sidecar_json(self) -> bytes:
        return sidecar_document(self.record, self.envelope.to_dict())


def sidecar_document(record: Mapping[str, Any], envelope: Mapping[str, Any]) -> bytes:
    """The sidecar: the record's fields at the top level (WebUI paths) plus the envelope."""
    doc = dict(record)
    doc["envelope"] = dict(envelope)
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


@dataclass(frozen=True)
class SignedImage(SignedRecordMixin):
    """A signed PNG in memory, before it is written anywhere."""

    png: bytes
    record: dict[str, Any]
    record_bytes: bytes
    envelope: Envelope


@dataclass(frozen=True)
class FinalizeResult:
    path: Path
    sidecar: Path | None
    record_id: str
    record: dict[str, Any]


def open_image(path: Path, limits: Limits | None = None) -> Image.Image:
    """Load an image made elsewhere, refusing anything Pillow cannot read or that is too large."""
    limits = limits or Limits()
    try:
        with Image.open(path) as image:
            pixels = image.width * image.height
            if pixels > limits.max_pixels:
                raise RecordInputError(
                    f"{path} is {image.width}x{image.height}, over the limit of "
                    f"{limits.max_pixels} pixels"
                )
            image.load()
            return image.copy()
    except RecordInputError:
        raise
    except OSError as exc:
        raise RecordInputError(f"cannot read {path} as an image: {exc}") from None
    except (ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise RecordInputError(f"{path} is not a usable image: {exc}") from None


def sidecar_path(image_path: Path) -> Path:
    """``cat.png`` -> ``cat.json``: the sidecar sits next to the image with the same base name."""
    return image_path.with_suffix(".json")


def sign_image(
    image: Image.Image,
    draft: Mapping[str, Any],
    key: SigningKey,
    *,
    producer: str | None = None,
    compress_level: int = 6,
    record_id: str | None = None,
    created_at: str | None = None,
) -> SignedImage:
    """Encode ``image`` as PNG, bind and sign its record, and embed everything."""
    # (1) one canonical pixel layout; the image data is compressed exactly once
    image = canonical_image(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    base = buffer.getvalue()
    # (2) bind: the data digest of the encoded image, the decoded pixels, the chunks that change
    #     how they are displayed, and a perceptual hash
    scan = scan_png(base, excluded_keywords=OUR_KEYWORDS)
    content = ContentBinding(
        format="png",
        width=image.width,
        height=image.height,
        mode=image.mode,
        pixel_digest=pixel_digest(image),
        data_digest=scan.data_digest,
        render_digest=scan.render_digest,
        phash=perceptual_hash(image),
    )
    # (3) the record, validated, serialised once (RFC 8785) and signed as those exact bytes
    record = build_record(
        draft,
        content,
        producer=producer or f"aigc-prov:{key.key_id}",
        record_id=record_id,
        created_at=created_at,
    )
    record_bytes = canonical_json(record)
    envelope = sign_payload(record_bytes, schema.payload_type(), key)
    # (4) the readable text is derived from the bytes that were signed, as verify will do
    signed_record = json.loads(record_bytes)
    texts = list(readable_fields(signed_record).items())
    texts.append((ENVELOPE_KEYWORD, envelope.to_json()))
    png = insert_text_chunks(base, texts, xmp=make_xmp(signed_record))
    return SignedImage(png, signed_record, record_bytes, envelope)


def finalize(
    image: Image.Image,
    draft: Mapping[str, Any],
    key: SigningKey,
    out_path: Path,
    *,
    producer: str | None = None,
    compress_level: int = 6,
    overwrite: bool = False,
    write_sidecar: bool = True,
    catalog: Catalog | None = None,
) -> FinalizeResult:
    """Sign ``image`` with ``draft``, write it to ``out_path`` (and its sidecar) atomically, and
    register the record in ``catalog`` in the same step.

    Raises ``FileExistsError`` if ``out_path`` exists and ``overwrite`` is false,
    :class:`~provenance.errors.SchemaError` if the completed record is not valid, and
    :class:`~provenance.errors.CatalogError` if the catalog refuses the record.
    """
    side = sidecar_path(out_path) if write_sidecar else None
    for target in (out_path, side):
        if target is not None and not overwrite and target.exists():
            raise FileExistsError(f"{target} already exists")
    signed = sign_image(image, draft, key, producer=producer, compress_level=compress_level)
    if catalog is not None:
        register_pending(catalog, signed, out_path)
    try:
        atomic_write_bytes(out_path, signed.png, overwrite=overwrite)
    except BaseException:
        if catalog is not None:
            catalog.forget_record(signed.record_id)
        raise
    if side is not None:
        atomic_write_bytes(side, signed.sidecar_json(), overwrite=True)
    if catalog is not None:
        catalog.complete_record(signed.record_id, blake3(signed.png).hexdigest())
    return FinalizeResult(out_path, side, signed.record_id, signed.record)


def register_pending(catalog: Catalog, signed: SignedImage, out_path: Path) -> None:
    """Commit the catalog row of ``signed`` as pending, before its file is written."""
    catalog.begin_record(signed.catalog_row(file_path=str(out_path.resolve()), state="pending"))

"""Bring folders of existing outputs, from any tool, under the catalog.

For each PNG, JPEG or WebP file (found by magic bytes): one of our signed files is catalogued as
it is (its own record); anything else gets an ``import`` record stating what the original tool
wrote (:func:`provenance.extract.interpret.interpret`), bound to the original file and signed by
the importing key. By default the binding is the file's BLAKE3 digest alone (schema version 2:
``pixel_digest`` and ``phash`` null), so that no image is decoded, as with any metadata reader;
``bind_pixels`` decodes each file and binds its pixels and perceptual hash as well, which lets
re-encoded copies be found by their looks later. The catalog holds only signed records;
``sign_copies_to`` additionally writes, for each foreign file, a signed PNG copy carrying the
record, or, for files whose own signature must stay intact (C2PA manifest, NovelAI signature), a
JSON sidecar binding the untouched original. Originals are never modified.

Idempotent and resumable: a file whose BLAKE3 digest is already catalogued is skipped, rows are
committed in batches, and a file that cannot be read is reported with its reason without
stopping the run. The heavy part (reading, interpreting, decoding) runs in ``workers`` processes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import rfc8785
from blake3 import blake3
from PIL import Image, UnidentifiedImageError

from provenance import schema
from provenance._files import WholeFileReader, atomic_write_bytes
from provenance.binding import canonical_image, canonical_mode, perceptual_hash, pixel_digest
from provenance.canonical import MAX_SAFE_INTEGER, canonical_json
from provenance.catalog.store import IMPORT_EXTENSION, Catalog, record_values
from provenance.errors import ProvenanceError
from provenance.extract.containers import detect_format, read_metadata
from provenance.extract.interpret import interpret
from provenance.extract.png import Limits
from provenance.finalize import SignedRecordMixin, finalize
from provenance.record import ContentBinding, build_record
from provenance.signing.envelope import Envelope
from provenance.signing.keys import SigningKey
from provenance.signing.policy import TrustPolicy
from provenance.signing.signer import sign_payload
from provenance.verify import verify

__all__ = ["IMPORT_EXTENSION", "Examined", "ImportReport", "examine", "find_images", "import_files"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
_BAD_CHARS = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0xFFFE, 0xFFFF], "\ufffd")
MAX_EXTRA_BYTES = 64 << 10
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@dataclass
class ImportReport:
    """What one import run did, file by file."""

    imported: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "skipped": self.skipped, "failed": self.failed}


@dataclass(frozen=True)
class Examined:
    """What a worker learned about one file (picklable; no catalog access)."""

    path: str
    digest: str
    error: str | None = None
    real_path: str = ""  # the absolute path, links resolved (what the catalog records)
    ours: bool = False
    format: str | None = None
    width: int = 0
    height: int = 0
    mode: str = ""
    pixel_digest: str | None = None  # None: not decoded (the record binds the bytes alone)
    phash: str | None = None
    view: dict[str, Any] = field(default_factory=dict)  # Extraction.to_dict() without raw
    keeps_signature: str | None = None  # "c2pa" or "novelai": never rewrite the file
    #: The import record for a foreign file, canonical (RFC 8785) and ready to sign, and its
    #: catalog row without the envelope; made in the worker when given the importing key's id
    #: (``view`` then keeps only the tool: the rest is in the record).
    record_bytes: bytes | None = None
    row: dict[str, Any] | None = None


def find_images(folder: Path, recursive: bool) -> list[Path]:
    """Candidate files under ``folder``, sorted: image suffixes, hidden files and our sidecars
    left out (the format itself is decided later by magic bytes)."""
    pattern = folder.rglob("*") if recursive else folder.glob("*")
    return sorted(
        p
        for p in pattern
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


_READER = WholeFileReader()  # one per process (each worker has its own)


class _ViewFile(io.RawIOBase):
    """A read-only file over a memoryview, so that Pillow can parse a header without a copy."""

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        piece = self.view[self.position : self.position + len(target)]
        target[: len(piece)] = piece
        self.position += len(piece)
        return len(piece)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: len(self.view)}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        return self.position


@functools.lru_cache(maxsize=256)
def _real_folder(folder: str) -> str:
    return os.path.realpath(folder)


def _real_path(path: str) -> str:
    """``os.path.realpath`` with each folder resolved once per run (cleared by
    :func:`import_files`): a file of a folder costs one ``lstat``, not one per path part."""
    if os.path.islink(path):
        return os.path.realpath(path)
    folder, name = os.path.split(path)
    return os.path.join(_real_folder(folder or "."), name)


#: PNG (bit depth, colour type) -> the mode Pillow opens it in, for what generators write.
_PNG_MODES = {(8, 2): "RGB", (8, 6): "RGBA"}


def _png_header(data: memoryview) -> tuple[tuple[int, int], str] | None:
    """Size and mode from an 8-bit RGB or RGBA PNG's IHDR (intact, with a non-zero size), as
    Pillow would give them, without Pillow reading the header and metadata chunks once more;
    None for anything else, which Pillow then reads."""
    if len(data) < 33 or bytes(data[12:16]) != b"IHDR":
        return None
    width, height, depth, color = struct.unpack_from(">IIBB", data, 16)
    mode = _PNG_MODES.get((depth, color))
    if mode is None or not width or not height:
        return None
    if zlib.crc32(data[12:29]) != int.from_bytes(data[29:33], "big"):
        return None
    return (width, height), mode


def examine(
    path: str,
    limits: Limits | None = None,
    bind_pixels: bool = False,
    key_id: str | None = None,
) -> Examined:
    """Read and interpret one file; with ``bind_pixels`` also decode it for its pixel digest and
    perceptual hash (otherwise only its header is parsed). With ``key_id`` (the importing key's
    id), a foreign file's import record and catalog row are also made here, so that the caller
    only signs and stores them. Never raises: problems come back in ``error``."""
    limits = limits or Limits()
    try:
        data = _READER.read(path, limits.max_file_bytes)
    except (OSError, ValueError) as exc:
        return Examined(path, "", error=f"cannot read: {getattr(exc, 'strerror', None) or exc}")
    digest = blake3(data).hexdigest()
    fmt = detect_format(data)
    if fmt is None:
        return Examined(path, digest, error="not a PNG, JPEG or WebP image (by its first bytes)")
    meta = read_metadata(data, limits=limits)
    extraction = interpret(meta, data)
    ours = any(v.location.endswith(":AIGCProvenance") for v in meta.values)  # verify decides
    pdigest = phash = None
    # a clean PNG's size and mode from its IHDR; a damaged one goes to Pillow, as always
    clean_png = fmt == "png" and not bind_pixels and not meta.problems
    header = _png_header(data) if clean_png else None
    try:
        if header is not None:
            size, mode = header
        else:
            source = io.BytesIO(data) if bind_pixels else io.BufferedReader(_ViewFile(data))
            with Image.open(source) as image:  # exactly the bytes that were digested
                size, mode = image.size, canonical_mode(image.mode)
                if bind_pixels:
                    if image.width * image.height > limits.max_pixels:
                        return Examined(
                            path, digest, error=f"{image.width}x{image.height} is too large"
                        )
                    image.load()
                    pixels = canonical_image(image)
                    pdigest, phash = pixel_digest(pixels), perceptual_hash(pixels)
    except UnidentifiedImageError:
        return Examined(path, digest, error="the image header cannot be read (not a valid image)")
    except Exception as exc:
        what = "decoded" if bind_pixels else "read"
        return Examined(path, digest, error=f"the image data cannot be {what}: {exc}")
    view = extraction.to_dict()
    view.pop("raw", None)
    keeps = None
    if meta.c2pa:
        keeps = "c2pa"
    elif extraction.extra.get("novelai_signature") == "valid":
        keeps = "novelai"
    found = Examined(
        path,
        digest,
        real_path=_real_path(path),
        ours=ours,
        format=fmt,
        width=size[0],
        height=size[1],
        mode=mode,
        pixel_digest=pdigest,
        phash=phash,
        view=view,
        keeps_signature=keeps,
    )
    if key_id is None or ours:
        return found
    try:
        draft = import_draft(found)
        record = build_record(draft, _original_binding(found), producer=f"aigc-prov:{key_id}")
        record_bytes = canonical_json(record)
    except (ProvenanceError, rfc8785.CanonicalizationError) as exc:
        return replace(found, error=f"its metadata cannot be recorded: {exc}")
    row = record_values(
        record,  # the same values as its RFC 8785 bytes, which the signature covers
        record_bytes,
        "",
        key_id,
        file_path=found.real_path,
        state="complete",
        file_digest=digest,
    )
    return replace(found, record_bytes=record_bytes, row=row, view={"tool": view.get("tool")})


def _clean_text(value: Any, what: str, warnings: list[str]) -> str:
    if not isinstance(value, str):
        return ""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    cleaned = text.translate(_BAD_CHARS)
    cleaned = cleaned.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
    if cleaned != text:
        warnings.append(f"the {what} held characters PNG text and XMP cannot carry; replaced")
    if len(cleaned) > 100_000:
        warnings.append(f"the {what} was cut to 100000 characters")
        cleaned = cleaned[:100_000]
    return cleaned


def _int_in(value: Any, low: int, high: int) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    return value if ok else None


def _num_in(value: Any, low: float, high: float) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    return float(value) if ok else None


def _signable(text: str) -> Any:
    """The JSON ``text`` of a tool's values, parsed back with what RFC 8785 cannot sign made
    signable: integers beyond +-(2**53 - 1) (tools write such seeds) and ``NaN`` or
    ``Infinity`` stay as their text, exactly as the tool wrote the number; lone surrogates
    become ``?``."""
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")
    return json.loads(text, parse_int=_signable_int, parse_constant=str)


def _signable_int(digits: str) -> int | str:
    value = int(digits)
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else digits


def import_draft(found: Examined) -> dict[str, Any]:
    """The draft of an import record for a foreign file: what its tool wrote, normalized."""
    gen = found.view.get("generation") or {}
    tool = found.view.get("tool") or {}
    warnings: list[str] = []
    extra_json = json.dumps(found.view.get("extra") or {}, ensure_ascii=False, default=str)
    if len(extra_json) > MAX_EXTRA_BYTES:
        warnings.append("the tool's other fields are too large for the record; see the file")
        extra_json = "{}"
    labels = found.view.get("labels") or []
    # what the tool wrote, kept as it is in the extension (as JSON RFC 8785 can sign)
    kept = _signable(
        json.dumps(
            {"tool": tool, "generation": gen, "labels": labels}, ensure_ascii=False, default=str
        )
    )
    model = gen.get("model") or tool.get("name") or "unknown"
    text_model = _clean_text(str(model), "model name", warnings)[:1024] or "unknown"
    return {
        "task": {
            "type": "import",
            "parent_record_id": None,
            "input_digest": None,
            "mask_digest": None,
        },
        "model": {"name": text_model, "revision": None},
        "generation": {
            "prompt": _clean_text(gen.get("prompt"), "prompt", warnings),
            "negative_prompt": _clean_text(gen.get("negative_prompt"), "negative prompt", warnings),
            "width": _int_in(gen.get("width"), 1, 1_000_000),
            "height": _int_in(gen.get("height"), 1, 1_000_000),
            "num_inference_steps": _int_in(gen.get("steps"), 1, 10_000),
            "cfg_scale": _num_in(gen.get("cfg_scale"), 0, 1000),
            "seed": _int_in(gen.get("seed"), 0, MAX_SAFE_INTEGER),
            "num_images": 1,
            "sampler": _clean_text(gen.get("sampler"), "sampler", warnings)[:4096] or None,
        },
        "warnings": warnings,
        "extensions": {
            IMPORT_EXTENSION: {
                "source_file": os.path.basename(found.path),
                "source_digest": {"alg": "blake3", "value": found.digest},
                "source_format": found.format,
                "tool": kept["tool"],
                "generation": kept["generation"],
                "labels": kept["labels"],
                "extra": _signable(extra_json),
                "keeps_signature": found.keeps_signature,
            }
        },
    }


def _original_binding(found: Examined) -> ContentBinding:
    """Binds a record to the untouched original: its whole bytes, and its pixels and look when
    they were decoded."""
    return ContentBinding(
        format=str(found.format),
        width=found.width,
        height=found.height,
        mode=found.mode,
        pixel_digest=found.pixel_digest,
        data_digest=found.digest,
        render_digest=_EMPTY_SHA256,
        phash=found.phash,
    )


@dataclass(frozen=True)
class _SignedOriginal(SignedRecordMixin):
    """An import record signed for a file that stays as it is (no copy written)."""

    record: dict[str, Any]
    record_bytes: bytes
    envelope: Envelope


def _sign_original(
    found: Examined, draft: dict[str, Any] | None, key: SigningKey
) -> _SignedOriginal:
    """Sign an import record for a file the workers made none for: one of our files whose
    record does not verify here, or (with copies) a file that keeps its own signature."""
    draft = draft if draft is not None else import_draft(found)
    record = build_record(draft, _original_binding(found), producer=_producer(key))
    record_bytes = canonical_json(record)
    envelope = sign_payload(record_bytes, schema.payload_type(), key)
    return _SignedOriginal(json.loads(record_bytes), record_bytes, envelope)


def _producer(key: SigningKey) -> str:
    return f"aigc-prov:{key.key_id}"


def _examined(
    paths: Sequence[str], workers: int, limits: Limits, bind_pixels: bool, key_id: str | None
) -> Iterator[Examined]:
    if workers <= 1 or len(paths) < 2:
        for path in paths:
            yield examine(path, limits, bind_pixels, key_id)
        return
    schema.prepare()  # the workers build records: each inherits the compiled validator
    with ProcessPoolExecutor(max_workers=workers) as pool:
        n = len(paths)
        yield from pool.map(
            examine, paths, [limits] * n, [bind_pixels] * n, [key_id] * n, chunksize=16
        )


def _chunks(items: Iterator[Examined], size: int) -> Iterator[list[Examined]]:
    chunk: list[Examined] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_files(
    catalog: Catalog,
    paths: Sequence[Path],
    *,
    key: SigningKey,
    policy: TrustPolicy,
    root: Path | None = None,
    sign_copies_to: Path | None = None,
    workers: int = 1,
    limits: Limits | None = None,
    bind_pixels: bool = False,
    on_file: Callable[[str, str], None] | None = None,
) -> ImportReport:
    """Import ``paths`` into ``catalog`` (see the module docstring); ``root`` is the folder the
    copies' relative names are taken from. ``bind_pixels`` decodes every file so that its
    record also binds its pixels and perceptual hash (implied by ``sign_copies_to``, which
    decodes anyway). ``on_file(path, outcome)`` is called per file."""
    bind_pixels = bind_pixels or sign_copies_to is not None
    _real_folder.cache_clear()  # folders are resolved afresh in each run
    report = ImportReport()
    limits = limits or Limits()
    batch = _Batch(catalog)
    scheduled: dict[str, str] = {}  # digest -> the first file with those bytes in this run
    # with copies, finalize makes each record from the draft: the workers need not
    key_id = key.key_id if sign_copies_to is None else None
    found_all = _examined([str(p) for p in paths], workers, limits, bind_pixels, key_id)
    for chunk in _chunks(found_all, _Batch.size):
        catalogued = catalog.imported_sources([f.digest for f in chunk if f.digest])
        for found in chunk:
            outcome = _skip_reason(found, scheduled, catalogued, catalog)
            if outcome is not None:
                report.skipped.append({"file": found.path, "reason": outcome})
                _tell(on_file, found.path, "skipped")
                continue
            outcome = _import_one(catalog, found, key, policy, root, sign_copies_to, report, batch)
            _tell(on_file, found.path, outcome)
    batch.flush()
    return report


def _skip_reason(
    found: Examined, scheduled: dict[str, str], catalogued: dict[str, Any], catalog: Catalog
) -> str | None:
    """Why ``found`` needs no import (same bytes seen or catalogued), or None. A pending row an
    interrupted run left for the same bytes is removed: the file is imported again."""
    if not found.digest:
        return None  # unreadable: reported as failed
    if found.digest in scheduled:
        return f"same file as {scheduled[found.digest]}"
    scheduled[found.digest] = found.path
    known = catalogued.get(found.digest)
    if known is not None and known.state == "complete":
        return f"already imported as {known.record_id}"
    if known is not None:
        catalog.forget_record(known.record_id)
    return None


class _Batch:
    """Rows committed together (a killed run loses at most one batch; a rerun redoes it)."""

    size = 64

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.catalog.add_records(self.rows)
        self.rows = []


def _tell(on_file: Callable[[str, str], None] | None, path: str, outcome: str) -> None:
    if on_file is not None:
        on_file(path, outcome)


def _import_one(
    catalog: Catalog,
    found: Examined,
    key: SigningKey,
    policy: TrustPolicy,
    root: Path | None,
    copies: Path | None,
    report: ImportReport,
    batch: _Batch,
) -> str:
    if found.error is not None:
        report.failed.append({"file": found.path, "reason": found.error})
        return "failed"
    draft = None if found.row is not None else import_draft(found)
    if found.ours:
        outcome = _import_ours(catalog, found, policy, report)
        if outcome is not None:
            return outcome
        draft = import_draft(found)
        draft["warnings"].append(
            "the file carries a record of ours that does not verify here; imported as found"
        )
    tool = (found.view.get("tool") or {}).get("name")
    entry: dict[str, Any] = {"file": found.path, "tool": tool}
    relative = _relative(Path(found.real_path), root) if copies is not None else Path()
    if copies is not None and found.keeps_signature is None:
        # a.png -> a.png, a.jpg -> a-jpg.png: one copy per original, never two on one name
        suffix = relative.suffix.lower()
        stem = relative.stem if suffix == ".png" else f"{relative.stem}-{suffix.lstrip('.')}"
        out = copies / relative.parent / f"{stem}.png"
        with Image.open(found.path) as image:
            image.load()
            draft = draft if draft is not None else import_draft(found)
            result = finalize(image, draft, key, out, overwrite=True, catalog=catalog)
        entry.update(record_id=result.record_id, copy=str(result.path))
    elif found.row is not None and found.record_bytes is not None:  # made by the worker
        envelope = sign_payload(found.record_bytes, schema.payload_type(), key)
        batch.add({**found.row, "envelope": envelope.to_json()})
        entry["record_id"] = found.row["record_id"]
    else:
        signed = _sign_original(found, draft, key)
        if copies is not None:  # the original keeps its own signature: a sidecar beside a copy
            side = copies / relative.parent / f"{relative.name}.json"  # a.webp -> a.webp.json
            atomic_write_bytes(side, signed.sidecar_json(), overwrite=True)
            entry["sidecar"] = str(side)
        batch.add(signed.catalog_row(file_path=found.real_path, file_digest=found.digest))
        entry["record_id"] = signed.record_id
    report.imported.append(entry)
    return "imported"


def _relative(resolved: Path, root: Path | None) -> Path:
    if root is not None:
        try:
            return resolved.relative_to(root.resolve())
        except ValueError:
            pass
    return Path(resolved.name)


def _import_ours(
    catalog: Catalog, found: Examined, policy: TrustPolicy, report: ImportReport
) -> str | None:
    """Catalogue one of our signed files with its own record; None when it does not verify."""
    data = Path(found.path).read_bytes()
    result = verify(data, policy=policy, name=found.path)
    if result.record is None or result.record_bytes is None or result.signer is None:
        return None
    if not result.status.passed:
        return None  # untrusted, revoked or altered: its record is not catalogued as ours
    if catalog.get(result.record["record_id"], include_pending=True) is not None:
        report.skipped.append({"file": found.path, "reason": "its own record is catalogued"})
        return "skipped"
    from provenance.catalog.fsck import embedded_envelope

    catalog.add_record(
        record_values(
            result.record,
            result.record_bytes,
            embedded_envelope(data),
            result.signer.key_id,
            file_path=found.real_path,
            state="complete",
            file_digest=found.digest,
        )
    )
    report.imported.append(
        {"file": found.path, "tool": "aigc-provenance", "record_id": result.record["record_id"]}
    )
    return "imported"

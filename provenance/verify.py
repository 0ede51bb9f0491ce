"""Verifying an image: extract -> envelope signature -> schema -> bindings -> readable fields
-> trust policy -> report.

:func:`verify` never raises on hostile input; everything it finds is a finding in the returned
:class:`~provenance.report.VerificationReport`. :func:`verify_strict` raises
:class:`~provenance.errors.VerificationError` unless the status is ``verified`` or
``verified_reencoded``. Both need an explicit trust policy.

Steps (numbered in the code as here):

1. Identify the container by its magic bytes (PNG is read; JPEG and WebP are verified when they
   carry our XMP namespace, as our exports do, and otherwise read for another tool's metadata
   or AI labels, which give ``foreign_metadata``; other formats are named).
2. Scan the PNG within :class:`~provenance.extract.png.Limits` (structure, CRCs, text chunks,
   data digest); JPEG/WebP with :func:`provenance.jpegwebp.scan_export`.
3. Find exactly one signed envelope; none means unsigned / foreign metadata / no provenance.
   A JPEG/WebP export whose record is too large for the file names its sidecar instead
   (``aigcprov:FullRecord``): the envelope is read from the sidecar next to the file and must
   be the record whose SHA-256 the file names.
4. Check the signature over the exact record bytes *before* parsing them.
5. Parse the bytes strictly and validate them against the schema their payload type names;
   upgrade older versions for display.
6. Judge the signer with the trust policy (revocation wins over any time the record claims).
7. Content binding: the data digest (fast, no decoding); else, for a trusted signer only, the
   decoded pixel digest and the render digest (chunks that change how pixels are displayed).
8. Readable fields (PNG text; JPEG/WebP EXIF ``Software`` and ``UserComment``) and XMP must
   agree with the signed record.
9. Image-data CRCs, unless the data digest (which covers them) matched.
10. With a catalog: the embedded record against the catalog's copy, or a stripped copy by
    its exact bytes or pixels (``catalog_match``) or perceptual hash (``soft_match``, never
    verified).
"""

from __future__ import annotations

import bisect
import hashlib
import io
import itertools
import json
import logging
import mmap
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blake3 import blake3
from PIL import Image

from provenance import schema
from provenance._version import SOFTWARE_NAME
from provenance.binding import perceptual_hash, pixel_digest
from provenance.embed import png_chunk
from provenance.errors import ContainerError, EnvelopeError, SchemaError, VerificationError
from provenance.extract.containers import read_metadata, sniff_container
from provenance.extract.exif import decode_user_comment
from provenance.extract.interpret import interpret
from provenance.extract.png import (
    PNG_SIGNATURE,
    Buffer,
    Limits,
    PngScan,
    image_crc_problem,
    scan_png,
)
from provenance.finalize import OUR_KEYWORDS
from provenance.jpegwebp import USER_COMMENT_PREFIX, ExportScan, parse_exif, scan_export
from provenance.record import ENVELOPE_KEYWORD, READABLE_KEYWORDS, readable_fields
from provenance.report import SignerInfo, Status, VerificationReport
from provenance.signing.envelope import Envelope
from provenance.signing.keyring import utc_now
from provenance.signing.policy import TrustPolicy
from provenance.signing.verifier import check_envelope
from provenance.xmp import XmpFields, expected_xmp_fields, parse_xmp

if TYPE_CHECKING:
    from provenance.catalog.store import Catalog

__all__ = ["Source", "verify", "verify_strict"]

log = logging.getLogger(__name__)

Source = str | os.PathLike[str] | bytes | bytearray

#: A record is a few KB; the schema allows long prompts. Anything larger is refused unparsed.
MAX_RECORD_BYTES = 1 << 20
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
#: How the finding for an exception verify caught begins (hostile input no check foresaw: every
#: other refusal gives a reason of its own; ``bench/fuzz_readers.py --verify`` counts these).
UNFORESEEN_ERROR = "the file could not be read"
#: Files up to this size are read into memory; larger ones are memory-mapped.
_MAP_ABOVE = 256 << 20

#: Text keys other generators write (A1111 family, ComfyUI, InvokeAI, NovelAI, Fooocus, ...).
_FOREIGN_TEXT_KEYS = {
    "parameters",
    "prompt",
    "workflow",
    "invokeai_metadata",
    "invokeai_graph",
    "sd-metadata",
    "Dream",
    "generation_data",
    "fooocus_scheme",
    "parameters-json",
    "smproj",
    "Comment",
    "Description",
    "AIGC",
    "negative_prompt",
    "use_stable_diffusion_model",
}
#: Chunk types other tools write (C2PA manifest, ComfyUI graph, EXIF).
_FOREIGN_CHUNKS = frozenset({"caBX", "comf", "eXIf"})


def verify(
    source: Source,
    *,
    policy: TrustPolicy,
    limits: Limits | None = None,
    force_pixels: bool = False,
    name: str | None = None,
    catalog: Catalog | None = None,
) -> VerificationReport:
    """Verify an image file (path) or its bytes against ``policy``.

    Args:
        source: a path or the file's bytes.
        policy: who may have signed (see :mod:`provenance.signing.policy`); always explicit.
        limits: safety limits for hostile files.
        force_pixels: also check the decoded-pixel digest when the fast data digest matches.
        name: how the report names the input (defaults to the path, or ``<bytes>``).
        catalog: look stripped copies up by pixel digest and perceptual hash, and compare an
            embedded record with the catalog's copy (step 10).

    Raises:
        OSError: only when ``source`` is a path that cannot be opened.
    """
    limits = limits or Limits()
    if isinstance(source, bytes | bytearray):
        report = VerificationReport(source=name or "<bytes>", checked_at=utc_now())
        _guarded(report, source, policy, limits, force_pixels, catalog, None)
        return report
    path = Path(source)
    report = VerificationReport(source=name or str(path), checked_at=utc_now())
    with path.open("rb") as handle:  # a missing or unreadable path is the caller's error
        info = os.fstat(handle.fileno())
        size = info.st_size
        if not stat.S_ISREG(info.st_mode):
            report.fail(Status.MALFORMED, "not a regular file (a device, pipe or folder)")
        elif size > limits.max_file_bytes:
            report.fail(
                Status.MALFORMED,
                f"the file is larger than the limit of {limits.max_file_bytes} bytes",
            )
        elif size <= _MAP_ABOVE or not handle.seekable():
            data = handle.read(size + 1)  # a file that grows meanwhile is caught by the scan
            _guarded(report, data, policy, limits, force_pixels, catalog, path)
        else:  # large files are mapped, not copied
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                _guarded(report, mapped, policy, limits, force_pixels, catalog, path)
    return report


def _guarded(
    report: VerificationReport,
    data: Buffer,
    policy: TrustPolicy,
    limits: Limits,
    force_pixels: bool,
    catalog: Catalog | None,
    path: Path | None,
) -> None:
    try:
        _verify(report, data, policy, limits, force_pixels, path)
        if catalog is not None:
            report.input_digest = blake3(data).hexdigest()
            _check_catalog(report, data, limits, catalog)
    except Exception as exc:  # last line of defence: hostile input never escapes as a traceback
        log.debug("unexpected error verifying %s", report.source, exc_info=True)
        report.fail(Status.MALFORMED, f"{UNFORESEEN_ERROR} ({type(exc).__name__}: {exc})")


#: Statuses of a file without a usable embedded record: the catalog may still recognise it.
_WITHOUT_RECORD = {Status.NO_PROVENANCE, Status.FOREIGN_METADATA, Status.UNSIGNED}
_DECODABLE = {"png", "jpeg", "webp", "gif"}


def _check_catalog(
    report: VerificationReport, data: Buffer, limits: Limits, catalog: Catalog
) -> None:
    """(10) The catalog: the embedded record against its stored copy, or a file without one by
    its bytes (an imported original) or its pixels (exact digests: ``catalog_match``) or its
    looks (perceptual hash: ``soft_match``)."""
    if report.record_bytes is not None and report.record_id is not None:
        row = catalog.get(report.record_id)
        if row is None:
            report.add("catalog_unknown", f"record {report.record_id} is not in this catalog")
        elif bytes(row.record_bytes) != report.record_bytes:
            report.fail(
                Status.METADATA_MISMATCH,
                f"the embedded record {report.record_id} differs from the catalog's copy",
            )
        else:
            report.add("catalog_record", f"the catalog holds record {report.record_id} unchanged")
        return
    if report.status not in _WITHOUT_RECORD or report.container not in _DECODABLE:
        return
    imported = catalog.imported_from(report.input_digest or blake3(data).hexdigest())
    if imported is not None and imported.state == "complete":
        report.candidates = [{"record_id": imported.record_id, "distance": 0, "exact": True}]
        report.fail(
            Status.CATALOG_MATCH,
            "no embedded provenance, but its bytes are exactly those of the file imported as "
            f"catalogued record {imported.record_id}",
        )
        return
    try:
        with Image.open(io.BytesIO(bytes(data))) as image:
            if image.width * image.height > limits.max_pixels:
                report.add("catalog_not_checked", "the image is too large to look up by pixels")
                return
            image.load()
            digest = pixel_digest(image)
            phash = perceptual_hash(image)
    except Exception as exc:  # an undecodable file simply cannot be looked up
        report.add("catalog_not_checked", f"the image could not be decoded ({type(exc).__name__})")
        return
    exact = catalog.by_pixel_digest(digest)
    if exact:
        ids = ", ".join(row.record_id for row in exact[:5])
        report.candidates = [
            {"record_id": r.record_id, "distance": 0, "exact": True} for r in exact
        ]
        report.fail(
            Status.CATALOG_MATCH,
            f"no embedded provenance, but its pixels are exactly those of catalogued record {ids}",
        )
        return
    near = catalog.by_phash(phash)
    if near:
        report.candidates = [
            {"record_id": r.record_id, "distance": d, "exact": False} for r, d in near
        ]
        shown = ", ".join(f"{r.record_id} (distance {d})" for r, d in near[:5])
        report.fail(
            Status.SOFT_MATCH,
            "no embedded provenance; it looks like catalogued record(s) "
            f"{shown} (perceptual hash, not proof)",
        )


def verify_strict(
    source: Source,
    *,
    policy: TrustPolicy,
    limits: Limits | None = None,
    force_pixels: bool = False,
) -> VerificationReport:
    """Like :func:`verify`, but raise :class:`VerificationError` unless the image verifies."""
    report = verify(source, policy=policy, limits=limits, force_pixels=force_pixels)
    if not report.status.passed:
        raise VerificationError(report)
    return report


def _verify(
    report: VerificationReport,
    data: Buffer,
    policy: TrustPolicy,
    limits: Limits,
    force_pixels: bool,
    path: Path | None = None,
) -> None:
    # (1) container, by magic bytes
    head = bytes(data[:16])
    if not head:
        report.fail(Status.MALFORMED, "the file is empty")
        return
    container = sniff_container(head)
    report.container = container
    if container is None:
        report.fail(
            Status.MALFORMED, "not an image: the file does not start with a known image signature"
        )
        return
    if container != "png":
        if container in ("jpeg", "webp") and _find(data, _OUR_XMP_NS) >= 0:
            _verify_export(report, data, container, policy, limits, force_pixels, path)
        else:
            _not_read(report, container, data, limits)
        return

    # (2) one bounded pass over the chunks
    try:
        scan = scan_png(data, excluded_keywords=OUR_KEYWORDS, limits=limits, check_image_crc=False)
    except ContainerError as exc:
        report.fail(Status.MALFORMED, str(exc))
        return
    _check_record(report, scan, data, policy, limits, force_pixels)
    # (9) image-data CRCs: a matching data digest covers them; otherwise they are checked here
    if not any(f.code == "bytes_match" for f in report.findings):
        problem = image_crc_problem(data, scan)
        if problem:
            report.fail(Status.MALFORMED, problem)


def _check_record(
    report: VerificationReport,
    scan: PngScan,
    data: Buffer,
    policy: TrustPolicy,
    limits: Limits,
    force_pixels: bool,
) -> None:
    """Steps 3 to 8, on a scanned PNG."""
    bad_text = [t.keyword for t in scan.texts if t.invalid_utf8]
    if bad_text:
        report.fail(Status.MALFORMED, f"iTXt chunk {bad_text[0]!r} is not valid UTF-8")
        return

    # (3) exactly one signed envelope
    envelopes = scan.text_values(ENVELOPE_KEYWORD)
    if not envelopes:
        _classify_without_envelope(report, scan, data, limits)
        return
    if len(envelopes) > 1:
        report.fail(
            Status.MALFORMED,
            f"the file carries {len(envelopes)} signed records; exactly one is allowed",
        )
        return
    try:
        envelope = Envelope.from_json(envelopes[0])
    except EnvelopeError as exc:
        report.fail(Status.MALFORMED, str(exc))
        return
    if not envelope.signatures:
        report.fail(Status.UNSIGNED, "the file carries a provenance record with no signature")
        return

    record = _check_signed(report, envelope, policy)
    if record is None:
        return

    # (7) content binding
    _check_content(report, scan, record, data, limits, force_pixels)

    # (8) readable text and XMP
    _check_readable(report, scan, record)


def _check_signed(
    report: VerificationReport, envelope: Envelope, policy: TrustPolicy
) -> dict[str, Any] | None:
    """Steps 4 to 6: the signature, the schema, the signer. None when a step failed."""
    # (4) the signature over the exact bytes, before they are parsed
    try:
        check = check_envelope(envelope, policy)
    except EnvelopeError as exc:
        report.fail(Status.MALFORMED, str(exc))
        return None
    if not check.valid:
        report.signer = SignerInfo(check.key_id, "unknown", trusted=False)
        report.fail(
            Status.SIGNATURE_INVALID,
            f"the signature by key {check.key_id} does not match the signed record: "
            "the record or the signature was changed after signing",
        )
        return None
    report.add(
        "signature_valid", f"the record's signature by key {check.key_id} is valid", "success"
    )

    # (5) strict parse and schema validation of the verified bytes
    record = _parse_record(report, envelope)
    if record is None:
        return None

    # (6) the signer, judged by the caller's policy
    _judge_signer(report, check.trust, record, policy)
    return record


def _parse_record(report: VerificationReport, envelope: Envelope) -> dict[str, Any] | None:
    try:
        version = schema.version_from_payload_type(envelope.payload_type)
    except SchemaError:
        report.fail(
            Status.MALFORMED,
            f"the record's payload type {envelope.payload_type!r} names a schema version "
            "this software does not know; upgrade aigc-provenance",
        )
        return None
    if len(envelope.payload) > MAX_RECORD_BYTES:
        report.fail(
            Status.MALFORMED,
            f"the signed record is {len(envelope.payload)} bytes, over the limit of "
            f"{MAX_RECORD_BYTES}",
        )
        return None
    try:
        text = envelope.payload.decode("utf-8")
        doc = json.loads(text, object_pairs_hook=_strict_object)
        # JSON escapes can spell lone surrogates, which are not text: refuse them.
        if _SURROGATE_ESCAPE.search(envelope.payload):
            json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as exc:
        report.fail(Status.MALFORMED, f"the signed record is not valid UTF-8 JSON ({exc})")
        return None
    if not isinstance(doc, dict):
        report.fail(Status.MALFORMED, "the signed record is not a JSON object")
        return None
    problems = schema.iter_problems(doc, version)
    if problems:
        shown = "; ".join(f"{p}: {m}" for p, m in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        report.fail(Status.MALFORMED, f"the signed record is not schema-valid: {shown}{more}")
        return None
    report.schema_version = version
    record = schema.upgrade(doc) if version != schema.CURRENT_VERSION else doc
    report.record = record
    report.record_bytes = envelope.payload
    return record


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _judge_signer(
    report: VerificationReport, trust: Any, record: dict[str, Any], policy: TrustPolicy
) -> None:
    report.signer = SignerInfo(
        trust.key_id, trust.status, trust.trusted, trust.revoked_at, trust.label
    )
    if trust.status == "revoked":
        reason = f" ({trust.revocation_reason})" if trust.revocation_reason else ""
        report.fail(
            Status.REVOKED_KEY,
            f"key {trust.key_id} was revoked at {trust.revoked_at}{reason}; the record "
            f"claims it was signed at {record['created_at']}, a claim that cannot prove "
            "the signature predates the revocation",
        )
    elif not trust.trusted:
        report.fail(
            Status.UNTRUSTED_SIGNER,
            f"the signature is valid, but key {trust.key_id} is not trusted by the "
            f"policy ({policy.describe()}); if you trust this signer, import their public "
            "key with `aigc-prov keys trust`",
        )
    elif trust.status == "retired":
        report.add(
            "signer_trusted",
            f"key {trust.key_id} is trusted (retired: it signs no new "
            "records, its earlier signatures stay valid)",
            "success",
        )
    else:
        report.add(
            "signer_trusted", f"key {trust.key_id} is trusted ({policy.describe()})", "success"
        )


def _settled_without_decoding(
    report: VerificationReport,
    data_digest: str,
    size: tuple[int | None, int | None],
    content: dict[str, Any],
    force_pixels: bool,
) -> bool:
    """(7) The fast path: True when the content question is answered without decoding."""
    if data_digest == content["data_digest"]["value"]:
        report.add("bytes_match", "the image data is byte-for-byte what was signed", "success")
        return not force_pixels
    if report.signer is None or not report.signer.trusted:
        # (7a) decoding costs time and memory: a signer nobody trusts cannot make us pay for it
        report.add(
            "content_not_checked",
            "the image data differs from what was signed; its pixels were not decoded because "
            "the signer is not trusted",
        )
        return True
    if size != (content["width"], content["height"]):
        report.fail(
            Status.CONTENT_ALTERED,
            f"the image is {size[0]}x{size[1]} but the record was signed for "
            f"{content['width']}x{content['height']}",
        )
        return True
    return False


def _over_decoding_limit(
    report: VerificationReport, width: int, height: int, limits: Limits
) -> bool:
    if width * height <= limits.max_pixels:
        return False
    report.fail(
        Status.MALFORMED,
        f"the image has {width * height} pixels, over the decoding limit of {limits.max_pixels}",
    )
    return True


def _pixels_match(
    report: VerificationReport, decode: Callable[[], str], content: dict[str, Any]
) -> bool:
    """(7b) Decode (``decode`` returns the pixel digest) and compare with the signed pixels."""
    if content["pixel_digest"] is None:  # an import record bound to the original's bytes alone
        report.fail(
            Status.CONTENT_ALTERED,
            "the record binds the original file's bytes only (no pixel digest), and the bytes "
            "differ",
        )
        return False
    try:
        digest = decode()
    except Exception as exc:  # any decoder failure means the signed pixels are not there
        report.fail(
            Status.CONTENT_ALTERED,
            f"the image data was changed and no longer decodes ({type(exc).__name__}: {exc})",
        )
        return False
    if digest != content["pixel_digest"]["value"]:
        report.fail(
            Status.CONTENT_ALTERED, "the decoded pixels differ from the pixels that were signed"
        )
        return False
    return True


def _check_content(
    report: VerificationReport,
    scan: PngScan,
    record: dict[str, Any],
    data: Buffer,
    limits: Limits,
    force_pixels: bool,
) -> None:
    content = record["content"]
    if _settled_without_decoding(
        report, scan.data_digest, (scan.width, scan.height), content, force_pixels
    ):
        return
    if scan.bit_depth == 16 and scan.color_type in (2, 4, 6):
        # Pillow decodes 16-bit colour to 8 bits: the low bytes would go unchecked.
        report.fail(
            Status.CONTENT_ALTERED,
            "the image was re-encoded at 16 bits per sample; its pixels cannot be the signed ones",
        )
        return
    if _over_decoding_limit(report, scan.width, scan.height, limits):
        return

    def decode() -> str:
        with _image_only_png(scan, data) as stream, Image.open(stream, formats=["PNG"]) as image:
            image.load()
            return pixel_digest(image)

    if not _pixels_match(report, decode, content):
        return
    if scan.render_digest != content["render_digest"]["value"]:
        present = sorted({ctype for ctype, _ in scan.render_chunks})
        now = f"present now: {', '.join(present)}" if present else "the file now has none"
        report.fail(
            Status.CONTENT_ALTERED,
            "the pixels are identical, but the chunks that change how they are displayed "
            f"(colour, transparency, orientation) differ from the signed ones; {now}",
        )
        return
    report.add(
        "pixels_identical", "the decoded pixels are identical to the signed pixels", "success"
    )
    if scan.data_digest != content["data_digest"]["value"]:
        report.add(
            "container_changed",
            "the file was re-encoded or had chunks added since "
            f"signing{_container_changes(scan)}; the pixels are unchanged",
        )


def _image_only_png(scan: PngScan, data: Buffer) -> io.BufferedReader:
    """The file reduced to what decoding needs (IHDR, PLTE, tRNS, IDAT, IEND), without copying.

    Pillow then never sees text chunks (it has its own, stricter text limits) and holds no copy
    of them; every chunk was already checked by the scan.
    """
    head = PNG_SIGNATURE + png_chunk(b"IHDR", scan.ihdr)
    for ctype, body in scan.render_chunks:
        if ctype in ("PLTE", "tRNS"):
            head += png_chunk(ctype.encode("ascii"), body)
    view = memoryview(data)
    parts: list[bytes | memoryview] = [head]
    parts += [view[offset : offset + span] for offset, span in scan.idat_spans]
    parts.append(png_chunk(b"IEND", b""))
    return io.BufferedReader(_Segments(parts), buffer_size=1 << 16)


class _Segments(io.RawIOBase):
    """A read-only, seekable stream over pieces of memory, read in place."""

    def __init__(self, parts: list[bytes | memoryview]) -> None:
        super().__init__()
        self._parts = [memoryview(part) for part in parts]
        self._starts = list(itertools.accumulate((len(p) for p in self._parts), initial=0))
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._starts[-1]}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        written = 0
        index = bisect.bisect_right(self._starts, self._pos) - 1
        while written < len(out) and index < len(self._parts):
            part = self._parts[index]
            start = self._pos - self._starts[index]
            count = min(len(part) - start, len(out) - written)
            out[written : written + count] = part[start : start + count]
            written += count
            self._pos += count
            index += 1
        return written

    def close(self) -> None:
        for part in self._parts:
            part.release()
        self._parts = []
        super().close()


def _container_changes(scan: PngScan) -> str:
    extra = sorted({t.keyword for t in scan.texts if t.keyword not in OUR_KEYWORDS})
    notes = []
    if extra:
        notes.append("text chunks not written by the signer: " + ", ".join(extra))
    if scan.foreign_chunks:
        notes.append("other chunks: " + ", ".join(sorted(set(scan.foreign_chunks))))
    if scan.trailing_bytes:
        notes.append(f"{scan.trailing_bytes} bytes after the end of the PNG")
    return f" ({'; '.join(notes)})" if notes else ""


def _clip(text: str, size: int = 80) -> str:
    return repr(text if len(text) <= size else text[: size - 3] + "...")


def _check_readable(report: VerificationReport, scan: PngScan, record: dict[str, Any]) -> None:
    expected = readable_fields(record)
    missing = []
    for keyword in READABLE_KEYWORDS:
        values = scan.text_values(keyword)
        want = expected.get(keyword)
        if not values:
            if want is not None:
                missing.append(keyword)
            continue
        for value in values:
            if want is None:
                report.fail(
                    Status.METADATA_MISMATCH,
                    f"the file shows {keyword} {_clip(value)} but the signed record has "
                    "no such value",
                )
            elif value != want:
                report.fail(
                    Status.METADATA_MISMATCH,
                    f"the file's {keyword} says {_clip(value)} but the signed record says "
                    f"{_clip(want)}",
                )
    packets = scan.xmp_packets
    if len(packets) > 1:
        report.fail(
            Status.MALFORMED, f"the file carries {len(packets)} XMP packets; PNG allows one"
        )
        return
    if not packets:
        missing.append("XMP")
    else:
        try:
            found = parse_xmp(packets[0])
        except ContainerError as exc:
            report.fail(Status.MALFORMED, str(exc))
            return
        _compare_xmp(report, found, expected_xmp_fields(record))
        export_only = [
            name
            for name, value in (
                ("aigcprov:Envelope", found.envelope),
                ("aigcprov:FullRecord", found.full_record),
                ("aigcprov:RecordSHA256", found.record_sha256),
            )
            if value is not None
        ]
        if found.unexpected or export_only:
            report.fail(
                Status.METADATA_MISMATCH,
                "the XMP packet holds content the signer did not write: "
                + ", ".join([*found.unexpected, *export_only][:5]),
            )
    _check_lookalikes(report, scan)
    if missing:
        report.add(
            "metadata_missing",
            "readable copies were removed (not an error: the signed "
            "record is complete): " + ", ".join(missing),
        )


def _reader_name(keyword: str) -> str:
    """A keyword as tag readers such as exiftool name it: case and punctuation dropped."""
    return "".join(ch for ch in keyword.casefold() if ch.isalnum())


#: Names readers show for what we write (PNG text keys, and the XMP fields they list beside them).
_SHOWN_AS_OURS = {_reader_name(k) for k in OUR_KEYWORDS} | {
    "description",
    "digitalsourcetype",
    "aigc",
    "creatortool",
    "createdate",
    "recordid",
}


def _check_lookalikes(report: VerificationReport, scan: PngScan) -> None:
    """Text added after signing that readers would show as one of our fields, or as XMP."""
    for text in scan.texts:
        if text.keyword in OUR_KEYWORDS:
            continue
        name = _reader_name(text.keyword)
        if name in _SHOWN_AS_OURS:
            report.fail(
                Status.METADATA_MISMATCH,
                f"a text chunk {text.keyword!r} that readers show as one of the signed fields "
                "was added to the file",
            )
        elif name == "rawprofiletypexmp" or "adobe:ns:meta" in text.text[:4096]:
            report.fail(
                Status.METADATA_MISMATCH,
                f"a second XMP packet (text chunk {text.keyword!r}) was added to the file",
            )


_XMP_NAMES = {
    "digital_source_type": "Iptc4xmpExt:DigitalSourceType",
    "aigc": "TC260:AIGC",
    "description": "dc:description",
    "creator_tool": "xmp:CreatorTool",
    "create_date": "xmp:CreateDate",
    "record_id": "aigcprov:RecordID",
}


def _compare_xmp(
    report: VerificationReport, found: XmpFields, want: XmpFields, skip: tuple[str, ...] = ()
) -> None:
    for attr, label in _XMP_NAMES.items():
        if attr in skip:
            continue
        got, exp = getattr(found, attr), getattr(want, attr)
        if attr == "aigc" and got is None and found.aigc_raw is not None:
            report.fail(Status.METADATA_MISMATCH, "the XMP TC260:AIGC label is not valid JSON")
        elif got is None:
            report.add("metadata_missing", f"the XMP has no {label}")
        elif got != exp:
            shown = json.dumps(got, ensure_ascii=False) if isinstance(got, dict) else str(got)
            wanted = json.dumps(exp, ensure_ascii=False) if isinstance(exp, dict) else str(exp)
            report.fail(
                Status.METADATA_MISMATCH,
                f"the XMP {label} says {_clip(shown)} but the signed record says {_clip(wanted)}",
            )


def _classify_without_envelope(
    report: VerificationReport, scan: PngScan, data: Buffer, limits: Limits
) -> None:
    keys = [t.keyword for t in scan.texts]
    software = scan.text_values("Software")
    ours_xmp = any("urn:aigc-provenance:ns:xmp" in p for p in scan.xmp_packets)
    if ours_xmp or any(s.startswith(SOFTWARE_NAME) for s in software):
        report.fail(
            Status.UNSIGNED,
            "the file carries aigc-provenance metadata but no signed "
            "record, so none of its claims can be checked",
        )
        return
    # what the readers recognise (the tool, AI labels), then where it lies in the file
    named = _foreign_metadata(data, limits)
    places = []
    foreign_keys = sorted({k for k in keys if k in _FOREIGN_TEXT_KEYS})
    if foreign_keys:
        places.append(f"text chunks: {', '.join(foreign_keys)}")
    places += [f"{c} chunk" for c in sorted(set(scan.foreign_chunks)) if c in _FOREIGN_CHUNKS]
    found, where = ", ".join(named), "; ".join(places)
    if found or where:
        _fail_foreign(report, f"{found} ({where})" if found and where else found or where)
        return
    shown = f" (text chunks present: {', '.join(sorted(set(keys)))})" if keys else ""
    report.fail(Status.NO_PROVENANCE, f"no provenance metadata found in the file{shown}")


# --- JPEG and WebP exports ------------------------------------------------------------------------

_OUR_XMP_NS = b"urn:aigc-provenance:ns:xmp"
#: A sidecar is a record plus its envelope: a few KB, at most the record limit and some.
_MAX_SIDECAR_BYTES = 4 * MAX_RECORD_BYTES
#: EXIF tags readers show as an image's description or title: added ones would pose as ours.
_EXIF_SHOWN_AS_PROMPT = {"ImageDescription", "XPTitle", "XPComment", "XPSubject", "XPKeywords"}


def _find(data: Buffer, needle: bytes) -> int:
    if isinstance(data, memoryview):
        return bytes(data).find(needle)
    return data.find(needle)


#: How another tool's AI labels are named in the ``foreign_metadata`` finding.
_LABEL_NAMES = {
    "c2pa": "C2PA manifest",
    "iptc": "IPTC DigitalSourceType",
    "tc260": "TC260 AIGC label",
}


def _not_read(report: VerificationReport, container: str, data: Buffer, limits: Limits) -> None:
    if container not in ("jpeg", "webp"):
        report.fail(
            Status.NO_PROVENANCE,
            f"{container.upper()} files are not read for embedded provenance yet "
            "(this version reads PNG, JPEG and WebP)",
        )
        return
    foreign = _foreign_metadata(data, limits)
    if foreign:
        _fail_foreign(report, ", ".join(foreign))
        return
    report.fail(
        Status.NO_PROVENANCE,
        f"no aigc-provenance record in this {container.upper()} file (no XMP packet of ours)",
    )


def _fail_foreign(report: VerificationReport, what: str) -> None:
    report.fail(
        Status.FOREIGN_METADATA,
        f"no aigc-provenance record; found another tool's metadata (not checked): {what}",
    )


def _foreign_metadata(data: Buffer, limits: Limits) -> list[str]:
    """What another tool wrote into an image: the generator the readers recognise, AI labels,
    or XMP. Pixels are not decoded: a stealth payload is left to ``inspect`` (a 150 KB PNG can
    hold a 40-megapixel image, which verify would have to decode only to find nothing)."""
    meta = read_metadata(data, limits=limits, stealth=False)
    view = interpret(meta)
    found = []
    tool = view.tool.get("name")
    if tool is not None and tool != "c2pa":  # a C2PA-only file is named by its label below
        found.append(f"{tool} generation data")
    for label in view.labels:
        name = _LABEL_NAMES[label.scheme]
        if name not in found:
            found.append(name)
    if meta.xmp and not found:
        found.append("XMP")
    return found


def _verify_export(
    report: VerificationReport,
    data: Buffer,
    fmt: str,
    policy: TrustPolicy,
    limits: Limits,
    force_pixels: bool,
    path: Path | None,
) -> None:
    """Steps 2 to 8 on a JPEG or WebP that carries our XMP namespace (an export)."""
    # (2) one bounded pass over the segments or chunks
    try:
        scan = scan_export(data, fmt, limits)
    except ContainerError as exc:
        report.fail(Status.MALFORMED, str(exc))
        return
    if not any(_OUR_XMP_NS.decode() in packet for packet in scan.xmp):
        _not_read(report, fmt, data, limits)
        return
    if len(scan.xmp) > 1:
        report.fail(
            Status.MALFORMED,
            f"the file carries {len(scan.xmp)} XMP packets; the signer wrote exactly one",
        )
        return
    try:
        fields = parse_xmp(scan.xmp[0])
    except ContainerError as exc:
        report.fail(Status.MALFORMED, str(exc))
        return

    # (3) the signed envelope: in the XMP, or in the sidecar the XMP names
    text = fields.envelope
    if text is None:
        text = _sidecar_envelope(report, fields, path)
    if text is None:
        return
    try:
        envelope = Envelope.from_json(text)
    except EnvelopeError as exc:
        report.fail(Status.MALFORMED, str(exc))
        return
    if not envelope.signatures:
        report.fail(Status.UNSIGNED, "the file carries a provenance record with no signature")
        return
    if fields.envelope is None:
        digest = hashlib.sha256(envelope.payload).hexdigest()
        if digest != (fields.record_sha256 or "").lower():
            report.fail(
                Status.METADATA_MISMATCH,
                f"the sidecar {fields.full_record} holds a record whose SHA-256 ({digest[:16]}...)"
                " is not the one the file names: it belongs to another file or was replaced",
            )
            return
        report.add(
            "record_in_sidecar",
            f"the full signed record is in the sidecar {fields.full_record} (too large for the "
            "file); it is the record the file names by its SHA-256",
        )

    # (4)-(6) signature, schema, signer: exactly as for PNG
    record = _check_signed(report, envelope, policy)
    if record is None:
        return

    # (7) content binding
    _check_export_content(report, scan, record, data, limits, force_pixels)

    # (8) EXIF and XMP
    _check_export_readable(report, scan, fields, record)


def _sidecar_envelope(
    report: VerificationReport, fields: XmpFields, path: Path | None
) -> str | None:
    """The envelope JSON from the sidecar the XMP names; None (with a finding) when unusable."""
    name = fields.full_record
    if name is None:
        report.fail(
            Status.UNSIGNED,
            "the file carries aigc-provenance metadata but no signed "
            "record, so none of its claims can be checked",
        )
        return None
    if not name or name != Path(name).name or name in (".", ".."):
        report.fail(Status.MALFORMED, f"the XMP names a sidecar {name!r} outside the file's folder")
        return None
    if path is None:
        report.fail(
            Status.UNSIGNED,
            f"the signed record is kept in the sidecar {name}, which cannot be read when "
            "verifying bytes alone; verify the file with its sidecar next to it",
        )
        return None
    side = path.parent / name
    try:
        with side.open("rb") as handle:
            raw = handle.read(_MAX_SIDECAR_BYTES + 1)
    except FileNotFoundError:
        report.fail(
            Status.UNSIGNED,
            f"the signed record is kept in the sidecar {name}, which is missing: the file "
            f"alone carries no signed record; put {name} next to {path.name}",
        )
        return None
    except OSError as exc:
        report.fail(Status.UNSIGNED, f"the sidecar {side} cannot be read ({exc.strerror})")
        return None
    if len(raw) > _MAX_SIDECAR_BYTES:
        report.fail(
            Status.MALFORMED, f"the sidecar {name} is larger than {_MAX_SIDECAR_BYTES} bytes"
        )
        return None
    try:
        doc = json.loads(raw.decode("utf-8"))
        envelope = doc["envelope"]
        if not isinstance(envelope, dict):
            raise TypeError("envelope is not an object")
        return json.dumps(envelope)
    except (UnicodeError, ValueError, RecursionError, KeyError, TypeError) as exc:
        report.fail(
            Status.MALFORMED,
            f"the sidecar {name} holds no readable signed envelope ({type(exc).__name__})",
        )
        return None


def _check_export_content(
    report: VerificationReport,
    scan: ExportScan,
    record: dict[str, Any],
    data: Buffer,
    limits: Limits,
    force_pixels: bool,
) -> None:
    content = record["content"]
    if scan.render_digest != content["render_digest"]["value"]:
        # EXIF lies outside the data digest: its orientation is checked here, without decoding
        present = ", ".join(scan.render_items) or "the file now has none"
        report.fail(
            Status.CONTENT_ALTERED,
            "what changes how the pixels are displayed (ICC profile, EXIF orientation) differs "
            f"from the signed file; present now: {present}",
        )
        return
    if _settled_without_decoding(
        report, scan.data_digest, (scan.width, scan.height), content, force_pixels
    ):
        return
    if _over_decoding_limit(report, scan.width or 0, scan.height or 0, limits):
        return
    decoder = "JPEG" if scan.format == "jpeg" else "WEBP"

    def decode() -> str:
        with Image.open(io.BytesIO(bytes(data)), formats=[decoder]) as image:
            if (image.width, image.height) != (scan.width, scan.height):
                raise ValueError("the decoded size differs from the header's")
            image.load()
            return pixel_digest(image)

    if not _pixels_match(report, decode, content):
        return
    report.add(
        "pixels_identical", "the decoded pixels are identical to the signed pixels", "success"
    )
    if scan.data_digest != content["data_digest"]["value"]:
        notes = []
        if scan.others:
            notes.append("segments or chunks: " + ", ".join(sorted(set(scan.others))))
        if scan.trailing_bytes:
            notes.append(f"{scan.trailing_bytes} bytes after the end of the file")
        shown = f" ({'; '.join(notes)})" if notes else ""
        report.add(
            "container_changed",
            f"the file was re-encoded or had segments added since signing{shown}; the pixels "
            "are unchanged",
        )


def _check_export_readable(
    report: VerificationReport, scan: ExportScan, fields: XmpFields, record: dict[str, Any]
) -> None:
    from provenance.export import TRUNCATION_NOTE

    expected = readable_fields(record)
    missing: list[str] = []
    if len(scan.exif) > 1:
        report.fail(
            Status.METADATA_MISMATCH,
            f"the file carries {len(scan.exif)} EXIF blocks; the signer wrote one",
        )
    if not scan.exif:
        missing.append("EXIF")
    else:
        exif = parse_exif(scan.exif[0])  # already read by the scan: it parses
        want = expected["Software"]
        if exif.software is None:
            missing.append("EXIF Software")
        elif exif.software != want:
            report.fail(
                Status.METADATA_MISMATCH,
                f"the file's EXIF Software says {_clip(exif.software)} but the signed record "
                f"says {_clip(want)}",
            )
        infotext = expected["parameters"]
        if exif.user_comment is None:
            missing.append("EXIF UserComment")
        elif exif.user_comment != USER_COMMENT_PREFIX + infotext.encode("utf-16-be"):
            shown, _how = decode_user_comment(exif.user_comment)
            head = shown.removesuffix(TRUNCATION_NOTE)
            if fields.full_record is not None and head != shown and infotext.startswith(head):
                report.add(
                    "metadata_truncated",
                    f"the EXIF UserComment shows the first {len(head)} of {len(infotext)} "
                    "characters of the signed infotext; the full record is in the sidecar",
                )
            else:
                report.fail(
                    Status.METADATA_MISMATCH,
                    f"the file's EXIF UserComment says {_clip(shown)} but the signed record "
                    f"says {_clip(infotext)}",
                )
        posing = [t for t in exif.other_tags if t in _EXIF_SHOWN_AS_PROMPT]
        if posing:
            report.fail(
                Status.METADATA_MISMATCH,
                "EXIF tags that readers show as the image's description were added to the "
                "file: " + ", ".join(sorted(set(posing))),
            )
        added = sorted(
            {t for t in exif.other_tags if t not in _EXIF_SHOWN_AS_PROMPT and t != "Orientation"}
        )
        if added:
            report.add("metadata_added", "EXIF tags not written by the signer: " + ", ".join(added))
    skip = ("description",) if fields.full_record is not None else ()
    _compare_xmp(report, fields, expected_xmp_fields(record), skip)
    if fields.unexpected:
        report.fail(
            Status.METADATA_MISMATCH,
            "the XMP packet holds content the signer did not write: "
            + ", ".join(fields.unexpected[:5]),
        )
    if missing:
        report.add(
            "metadata_missing",
            "readable copies were removed (not an error: the signed "
            "record is complete): " + ", ".join(missing),
        )

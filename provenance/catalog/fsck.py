"""Consistency between the catalog and the files it names, and the repair of what a crash left.

1. Pending rows (a finalize was interrupted): if the file exists, is complete and carries exactly
   the row's signed record, the row is completed (and a missing sidecar written from the
   catalog's copy); otherwise the row is dropped. Temporary files the interrupted writes left
   next to it are removed either way.
2. Complete rows whose file is gone, or whose bytes changed since they were written, are
   reported (never deleted: the record stays as evidence).
3. Signed PNGs found in the given folders that have no row (a record written elsewhere, or a
   catalog restored from an older backup) are verified against the trust policy and added.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blake3 import blake3

from provenance._files import atomic_write_bytes
from provenance.catalog.store import Catalog, record_values
from provenance.extract.png import scan_png
from provenance.finalize import sidecar_document, sidecar_path
from provenance.record import ENVELOPE_KEYWORD
from provenance.signing.envelope import Envelope
from provenance.signing.policy import TrustPolicy
from provenance.verify import verify

__all__ = ["FsckReport", "fsck"]


@dataclass
class FsckReport:
    completed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    checked: int = 0

    @property
    def consistent(self) -> bool:
        """True when nothing is left pending and every row's file is present and unchanged."""
        return not (self.missing or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "consistent": self.consistent,
            "checked": self.checked,
            "completed": self.completed,
            "dropped": self.dropped,
            "imported": self.imported,
            "missing": [{"record_id": r, "file": f} for r, f in self.missing],
            "changed": [{"record_id": r, "file": f} for r, f in self.changed],
            "skipped": [{"file": f, "reason": why} for f, why in self.skipped],
        }


def _embedded_payload(data: bytes) -> bytes | None:
    """The signed record bytes embedded in a PNG, or None."""
    try:
        scan = scan_png(data)
        envelopes = scan.text_values(ENVELOPE_KEYWORD)
        if len(envelopes) != 1:
            return None
        return Envelope.from_json(envelopes[0]).payload
    except Exception:  # any unreadable file simply carries no usable record
        return None


def fsck(
    catalog: Catalog,
    *,
    policy: TrustPolicy,
    folders: Iterable[Path] = (),
    repair: bool = True,
) -> FsckReport:
    """Check (and with ``repair``, fix) the catalog against the files it names."""
    report = FsckReport()
    # (1) pending rows left by an interrupted finalize
    for row in catalog.pending():
        path = Path(row.file_path) if row.file_path else None
        data = _read(path)
        whole = data is not None and _embedded_payload(data) == bytes(row.record_bytes)
        if whole and data is not None and path is not None:
            report.completed.append(row.record_id)
            if repair:
                _restore_sidecar(path, row)
                catalog.complete_record(row.record_id, blake3(data).hexdigest())
        else:
            report.dropped.append(row.record_id)
            if repair:
                catalog.forget_record(row.record_id)
        if repair and path is not None:  # what the interrupted atomic writes left behind
            for name in (path.name, sidecar_path(path).name):
                for stray in path.parent.glob(f".{name}.*.tmp"):
                    with contextlib.suppress(OSError):
                        stray.unlink()
    # (2) complete rows whose file is gone or changed
    known_files: set[str] = set()
    for row in catalog.complete_rows():
        report.checked += 1
        if not row.file_path:
            continue
        known_files.add(row.file_path)
        data = _read(Path(row.file_path))
        if data is None:
            report.missing.append((row.record_id, row.file_path))
        elif row.file_digest and blake3(data).hexdigest() != row.file_digest:
            report.changed.append((row.record_id, row.file_path))
    # (3) signed files in the given folders that the catalog does not know
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.png")):
            resolved = str(path.resolve())
            if resolved in known_files:
                continue
            _import_file(catalog, path, policy, report, repair)
    return report


def _restore_sidecar(path: Path, row: Any) -> None:
    """Write the sidecar an interrupted finalize did not get to, from the catalog's copy."""
    side = sidecar_path(path)
    if side.exists():
        return
    text = sidecar_document(json.loads(bytes(row.record_bytes)), json.loads(row.envelope))
    atomic_write_bytes(side, text, overwrite=False)


def _import_file(
    catalog: Catalog, path: Path, policy: TrustPolicy, report: FsckReport, repair: bool
) -> None:
    data = _read(path)
    if data is None:
        return
    result = verify(data, policy=policy, name=str(path))
    if result.record is None or result.record_bytes is None or result.signer is None:
        return  # not one of our signed files
    if catalog.get(result.record["record_id"], include_pending=True) is not None:
        return  # catalogued under another path (a copy): nothing to repair
    if not result.status.passed:
        report.skipped.append((str(path), f"{result.status.value}: not imported"))
        return
    report.imported.append(result.record["record_id"])
    if repair:
        envelope = embedded_envelope(data)
        catalog.add_record(
            record_values(
                result.record,
                result.record_bytes,
                envelope,
                result.signer.key_id,
                file_path=str(path.resolve()),
                state="complete",
                file_digest=blake3(data).hexdigest(),
            )
        )


def embedded_envelope(data: bytes) -> str:
    """The envelope text embedded in one of our signed PNGs (the caller has verified it)."""
    return scan_png(data).text_values(ENVELOPE_KEYWORD)[0]


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None

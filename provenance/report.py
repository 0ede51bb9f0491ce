"""Verification reports: one overall status and a list of findings, as data.

Each finding has a stable ``code``, a ``kind`` (``success``, ``info`` or ``failure``) and one
sentence. A failure finding's code is one of the overall statuses; the overall status is the
failure of highest precedence (``Status.PRECEDENCE``), else ``verified_reencoded`` or
``verified``. Codes and their strings are part of the public interface: never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from provenance._version import __version__

__all__ = ["Finding", "SignerInfo", "Status", "VerificationReport"]


class Status(StrEnum):
    """Overall verification status (exact strings are stable)."""

    VERIFIED = "verified"
    VERIFIED_REENCODED = "verified_reencoded"
    UNTRUSTED_SIGNER = "untrusted_signer"
    REVOKED_KEY = "revoked_key"
    SIGNATURE_INVALID = "signature_invalid"
    CONTENT_ALTERED = "content_altered"
    METADATA_MISMATCH = "metadata_mismatch"
    MALFORMED = "malformed"
    UNSIGNED = "unsigned"
    FOREIGN_METADATA = "foreign_metadata"
    NO_PROVENANCE = "no_provenance"
    CATALOG_MATCH = "catalog_match"
    SOFT_MATCH = "soft_match"

    def describe(self) -> str:
        return _DESCRIPTIONS[self]

    @property
    def passed(self) -> bool:
        return self in (Status.VERIFIED, Status.VERIFIED_REENCODED)


_DESCRIPTIONS = {
    Status.VERIFIED: "signed by a trusted key; file and record unchanged",
    Status.VERIFIED_REENCODED: "signed by a trusted key; pixels identical, container changed",
    Status.UNTRUSTED_SIGNER: "signature valid, but the signer is not trusted by the policy",
    Status.REVOKED_KEY: "signed by a key that has been revoked",
    Status.SIGNATURE_INVALID: "the signature does not match the record",
    Status.CONTENT_ALTERED: "the pixels differ from the signed record",
    Status.METADATA_MISMATCH: "readable metadata or XMP disagrees with the signed record",
    Status.MALFORMED: "the file or its record is structurally invalid",
    Status.UNSIGNED: "our provenance metadata is present but not signed",
    Status.FOREIGN_METADATA: "only another tool's metadata is present",
    Status.NO_PROVENANCE: "no provenance metadata found",
    Status.CATALOG_MATCH: (
        "no embedded provenance, but the exact file or pixels are a catalogued record"
    ),
    Status.SOFT_MATCH: "no embedded provenance; similar-looking catalogued records (not proof)",
}

#: Most severe first. A file's status is the first of these among its failure findings.
PRECEDENCE: tuple[Status, ...] = (
    Status.MALFORMED,
    Status.SIGNATURE_INVALID,
    Status.REVOKED_KEY,
    Status.CONTENT_ALTERED,
    Status.METADATA_MISMATCH,
    Status.UNTRUSTED_SIGNER,
    Status.CATALOG_MATCH,
    Status.SOFT_MATCH,
    Status.UNSIGNED,
    Status.FOREIGN_METADATA,
    Status.NO_PROVENANCE,
)

Kind = Literal["success", "info", "failure"]


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    kind: Kind = "info"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class SignerInfo:
    key_id: str
    status: str  # active, retired, revoked, unknown
    trusted: bool
    revoked_at: str | None = None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "status": self.status,
            "trusted": self.trusted,
            "revoked_at": self.revoked_at,
            "label": self.label,
        }


@dataclass
class VerificationReport:
    """Everything one verification found. Build with :func:`provenance.verify`."""

    source: str
    findings: list[Finding] = field(default_factory=list)
    record: dict[str, Any] | None = None
    record_bytes: bytes | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    signer: SignerInfo | None = None
    schema_version: str | None = None
    container: str | None = None
    checked_at: str | None = None
    tool_version: str = __version__
    #: BLAKE3 of the whole input, when it was verified with a catalog (the catalog looks files
    #: up by it, and the audit log records it); not part of :meth:`to_dict`.
    input_digest: str | None = None

    @property
    def status(self) -> Status:
        failures = {f.code for f in self.findings if f.kind == "failure"}
        for status in PRECEDENCE:
            if status.value in failures:
                return status
        # "verified" needs positive evidence, never just the absence of failures.
        successes = {f.code for f in self.findings if f.kind == "success"}
        signed = {"signature_valid", "signer_trusted"} <= successes
        if not signed or not successes & {"bytes_match", "pixels_identical"}:
            return Status.NO_PROVENANCE
        if any(f.code == "container_changed" for f in self.findings):
            return Status.VERIFIED_REENCODED
        return Status.VERIFIED

    @property
    def record_id(self) -> str | None:
        return None if self.record is None else self.record.get("record_id")

    def add(self, code: str, message: str, kind: Kind = "info") -> None:
        self.findings.append(Finding(code, message, kind))

    def fail(self, status: Status, message: str) -> None:
        self.findings.append(Finding(status.value, message, "failure"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form printed by ``aigc-prov verify --json`` and returned by the API."""
        return {
            "file": self.source,
            "status": self.status.value,
            "findings": [f.to_dict() for f in self.findings],
            "signer": None if self.signer is None else self.signer.to_dict(),
            "record_id": self.record_id,
            "candidates": self.candidates,
            "schema_version": self.schema_version,
            "container": self.container,
            "checked_at": self.checked_at,
            "tool_version": self.tool_version,
        }

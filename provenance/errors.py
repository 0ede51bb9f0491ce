"""The one error hierarchy of aigc-provenance.

Every error the library raises on purpose derives from :class:`ProvenanceError`, so a caller can
catch the family or a single kind::

    ProvenanceError
    ├── SchemaError            a record does not match its JSON Schema (every problem + path)
    │   └── UnknownSchemaVersion
    ├── SigningKeyError        a key is missing, unreadable, or needs a passphrase
    │   └── KeyRingError       the key ring file is damaged or an operation is not allowed
    ├── EnvelopeError          a signed envelope is structurally bad (before any signature check)
    ├── ContainerError         an image container is unreadable or outside the safety limits
    ├── RecordInputError       a record or attestation request given by a user is unusable
    ├── CatalogError           the catalog cannot be opened, is outdated, or refuses a change
    └── VerificationError      raised only by the strict wrapper; carries the full report

Verification itself never raises on hostile input: :func:`provenance.verify` returns a report in
which a bad signature or a broken file is data (c2pa-python's model). ``diagnostics()`` gives the
multi-line text the CLI and the service show (sigstore-python's model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provenance.report import VerificationReport

__all__ = [
    "CatalogError",
    "ContainerError",
    "EnvelopeError",
    "KeyRingError",
    "ProvenanceError",
    "RecordInputError",
    "SchemaError",
    "SigningKeyError",
    "UnknownSchemaVersion",
    "VerificationError",
]


class ProvenanceError(Exception):
    """Base of every error raised by aigc-provenance."""

    hint: str = ""

    def diagnostics(self) -> str:
        """A readable explanation with what to do next, for the CLI and the API."""
        text = str(self)
        return f"{text}\n{self.hint}" if self.hint else text


class SchemaError(ProvenanceError, ValueError):
    """A record does not validate. ``problems`` lists every one as ``(json_path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = "; ".join(f"{path}: {msg}" for path, msg in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"record is not schema-valid: {lines}{more}")

    def diagnostics(self) -> str:
        return "record is not schema-valid:\n" + "\n".join(
            f"  {path}: {msg}" for path, msg in self.problems
        )


class UnknownSchemaVersion(SchemaError):
    """The record names a schema version this software does not know and cannot upgrade."""

    def __init__(self, version: str) -> None:
        self.version = version
        super().__init__([("$", f"unknown record schema version {version!r}")])
        self.hint = "Upgrade aigc-provenance to read records written by a newer release."


class SigningKeyError(ProvenanceError):
    """A signing or public key is missing, unreadable, or unusable."""


class KeyRingError(SigningKeyError):
    """The key ring is damaged, or an operation on it is not allowed."""


class EnvelopeError(ProvenanceError, ValueError):
    """A signed envelope is structurally invalid (checked before any signature)."""


class ContainerError(ProvenanceError, ValueError):
    """An image file is unreadable, corrupt, or beyond the configured safety limits."""


class RecordInputError(ProvenanceError, ValueError):
    """Input given to build or sign a record is unusable (bad image, bad record file...)."""


class CatalogError(ProvenanceError):
    """The catalog cannot be opened, needs a migration, or refuses an operation."""


class VerificationError(ProvenanceError):
    """Raised by :func:`provenance.verify_strict` when an image does not verify.

    The full :class:`~provenance.report.VerificationReport` is kept in ``report``.
    """

    def __init__(self, report: VerificationReport) -> None:
        self.report = report
        failures = [f for f in report.findings if f.kind == "failure"]
        reason = failures[0].message if failures else report.status.describe()
        super().__init__(f"{report.status.value}: {reason}")

    def diagnostics(self) -> str:
        lines = [f"status: {self.report.status.value}"]
        lines += [f"  [{f.code}] {f.message}" for f in self.report.findings]
        return "\n".join(lines)

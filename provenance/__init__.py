"""aigc-provenance: signed, schema-validated provenance records for AI-generated images.

Sign an image and verify it::

    from pathlib import Path
    from PIL import Image
    from provenance import (Attestation, KeyRing, KeyRingPolicy, draft_from_attestation,
                            finalize, verify)

    ring = KeyRing.open(Path("~/.local/share/aigc-provenance/keys").expanduser())
    ring.init()                                    # once: creates the signing key (0600)
    draft = draft_from_attestation(Attestation(prompt="一只橘猫", seed=42, steps=8, cfg_scale=0))
    result = finalize(Image.open("cat.png"), draft, ring.signing_key(), Path("cat.signed.png"))
    report = verify(result.path, policy=KeyRingPolicy(ring))
    print(report.status)                           # Status.VERIFIED

This package imports neither torch nor fastapi.
"""

from provenance._version import __version__
from provenance.errors import (
    ContainerError,
    EnvelopeError,
    KeyRingError,
    ProvenanceError,
    RecordInputError,
    SchemaError,
    SigningKeyError,
    UnknownSchemaVersion,
    VerificationError,
)
from provenance.extract.png import Limits
from provenance.finalize import FinalizeResult, SignedImage, finalize, sidecar_path, sign_image
from provenance.record import Attestation, build_record, draft_from_attestation, draft_from_file
from provenance.report import Finding, SignerInfo, Status, VerificationReport
from provenance.signing import (
    KeyRing,
    KeyRingPolicy,
    PublicKey,
    SigningKey,
    TrustedKeys,
    TrustPolicy,
    UnsafeTrustAnyKey,
)
from provenance.verify import verify, verify_strict

__all__ = [
    "Attestation",
    "ContainerError",
    "EnvelopeError",
    "FinalizeResult",
    "Finding",
    "KeyRing",
    "KeyRingError",
    "KeyRingPolicy",
    "Limits",
    "ProvenanceError",
    "PublicKey",
    "RecordInputError",
    "SchemaError",
    "SignedImage",
    "SignerInfo",
    "SigningKey",
    "SigningKeyError",
    "Status",
    "TrustPolicy",
    "TrustedKeys",
    "UnknownSchemaVersion",
    "UnsafeTrustAnyKey",
    "VerificationError",
    "VerificationReport",
    "__version__",
    "build_record",
    "draft_from_attestation",
    "draft_from_file",
    "finalize",
    "sidecar_path",
    "sign_image",
    "verify",
    "verify_strict",
]

"""Checking an envelope's signature against an explicit trust policy.

Steps (numbered as in the code):

1. The envelope has exactly one signature (none: unsigned; several: malformed).
2. The signature verifies over ``PAE(payloadType, payload)`` with the key the envelope carries.
3. Only then is the key judged by the caller's trust policy (trusted, retired, revoked, unknown).

Nothing here raises on a bad signature: the result says what happened. Callers must not parse
the payload unless ``valid`` is true.
"""

from __future__ import annotations

from dataclasses import dataclass

from provenance.errors import EnvelopeError
from provenance.signing.envelope import Envelope, pae
from provenance.signing.keys import PublicKey
from provenance.signing.policy import TrustDecision, TrustPolicy

__all__ = ["SignatureCheck", "check_envelope"]


@dataclass(frozen=True)
class SignatureCheck:
    """Outcome of checking one envelope. ``trust`` is set only when the signature is valid."""

    valid: bool
    key_id: str
    public_key: PublicKey
    trust: TrustDecision | None


def check_envelope(envelope: Envelope, policy: TrustPolicy) -> SignatureCheck:
    """Verify ``envelope`` and judge its signer with ``policy``.

    Raises :class:`EnvelopeError` only for an envelope with no or several signatures (a
    structural problem the caller classifies); an invalid signature is a result, not an error.
    """
    # (1) exactly one signature
    if not envelope.signatures:
        raise EnvelopeError("the envelope carries no signature")
    if len(envelope.signatures) > 1:
        raise EnvelopeError(
            f"the envelope carries {len(envelope.signatures)} signatures; expected 1"
        )
    signature = envelope.signatures[0]
    # (2) the signature over the pre-authentication encoding
    valid = signature.public_key.verify(signature.sig, pae(envelope.payload_type, envelope.payload))
    if not valid:
        return SignatureCheck(False, signature.key_id, signature.public_key, None)
    # (3) the signer, judged by the caller's policy
    decision = policy.decide(signature.public_key)
    return SignatureCheck(True, signature.key_id, signature.public_key, decision)

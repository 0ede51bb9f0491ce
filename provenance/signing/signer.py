"""Signing: wrap exact record bytes in a signed envelope."""

from __future__ import annotations

from provenance.signing.envelope import Envelope, EnvelopeSignature, pae
from provenance.signing.keys import SigningKey

__all__ = ["sign_payload"]


def sign_payload(payload: bytes, payload_type: str, key: SigningKey) -> Envelope:
    """Sign ``PAE(payload_type, payload)`` with ``key`` and return the envelope."""
    sig = key.sign(pae(payload_type, payload))
    return Envelope(payload_type, payload, (EnvelopeSignature(key.key_id, key.public, sig),))

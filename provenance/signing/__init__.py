"""Ed25519 keys, the key ring and trust policies, signing and verifying envelopes.

Sign and verify::

    from provenance.signing import KeyRing, KeyRingPolicy, sign_payload, check_envelope

    ring = KeyRing.open(path)
    env = sign_payload(record_bytes, payload_type, ring.signing_key())
    check = check_envelope(env, KeyRingPolicy(ring))
"""

from provenance.signing.envelope import Envelope, EnvelopeSignature, pae
from provenance.signing.keyring import KeyEntry, KeyOrigin, KeyRing, KeyStatus
from provenance.signing.keys import PublicKey, SigningKey, key_id_for
from provenance.signing.policy import (
    KeyRingPolicy,
    TrustDecision,
    TrustedKeys,
    TrustPolicy,
    UnsafeTrustAnyKey,
)
from provenance.signing.signer import sign_payload
from provenance.signing.verifier import SignatureCheck, check_envelope

__all__ = [
    "Envelope",
    "EnvelopeSignature",
    "KeyEntry",
    "KeyOrigin",
    "KeyRing",
    "KeyRingPolicy",
    "KeyStatus",
    "PublicKey",
    "SignatureCheck",
    "SigningKey",
    "TrustDecision",
    "TrustPolicy",
    "TrustedKeys",
    "UnsafeTrustAnyKey",
    "check_envelope",
    "key_id_for",
    "pae",
    "sign_payload",
]

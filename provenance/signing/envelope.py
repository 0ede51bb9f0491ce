"""A DSSE-style signed envelope around the exact record bytes.

The signature covers ``PAE(payloadType, payload)`` where PAE is DSSE v1's pre-authentication
encoding and ``payloadType`` names the record schema version
(``application/vnd.aigc-provenance.record+json; version=1``). The payload bytes are stored as they
were signed and verified *before* anything parses them; nothing is re-serialised.

Wire form (compact JSON, ASCII)::

    {"payloadType": "...", "payload": "<base64 record bytes>",
     "signatures": [{"keyid": "<32 hex>", "publicKey": "<base64 32 bytes>", "sig": "<base64>"}]}

``keyid`` is only a hint; it must equal the id derived from ``publicKey``. Trust comes from the
verifier's policy, never from the envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from provenance.errors import EnvelopeError, SigningKeyError
from provenance.signing.keys import PublicKey

__all__ = ["MAX_ENVELOPE_BYTES", "Envelope", "EnvelopeSignature", "pae"]

MAX_ENVELOPE_BYTES = 4 * 1024 * 1024


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 SP len(type) SP type SP len(body) SP body``."""
    ptype = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(ptype), ptype, len(payload), payload)


@dataclass(frozen=True)
class EnvelopeSignature:
    key_id: str
    public_key: PublicKey
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "payloadType": self.payload_type,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "signatures": [
                {
                    "keyid": s.key_id,
                    "publicKey": s.public_key.b64(),
                    "sig": base64.b64encode(s.sig).decode("ascii"),
                }
                for s in self.signatures
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        """Parse strictly; raises :class:`EnvelopeError` saying what is wrong."""
        if len(text) > MAX_ENVELOPE_BYTES:
            raise EnvelopeError(f"signed envelope is larger than {MAX_ENVELOPE_BYTES} bytes")
        try:
            doc = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, RecursionError) as exc:
            raise EnvelopeError(f"signed envelope is not valid JSON ({exc})") from None
        return cls.from_dict(doc)

    @classmethod
    def from_dict(cls, doc: Any) -> Envelope:
        if not isinstance(doc, dict):
            raise EnvelopeError("signed envelope is not a JSON object")
        expected = {"payloadType", "payload", "signatures"}
        if set(doc) != expected:
            raise EnvelopeError(
                f"signed envelope must have exactly the keys {sorted(expected)}, has {sorted(doc)}"
            )
        ptype, payload, sigs = doc["payloadType"], doc["payload"], doc["signatures"]
        if not isinstance(ptype, str) or not isinstance(payload, str):
            raise EnvelopeError("envelope payloadType and payload must be strings")
        if not isinstance(sigs, list):
            raise EnvelopeError("envelope signatures must be a list")
        parsed = tuple(_parse_signature(item, i) for i, item in enumerate(sigs))
        return cls(ptype, _b64(payload, "payload"), parsed)


def _parse_signature(item: Any, index: int) -> EnvelopeSignature:
    if not isinstance(item, dict) or set(item) != {"keyid", "publicKey", "sig"}:
        raise EnvelopeError(f"signature {index} must have exactly keyid, publicKey and sig")
    if not all(isinstance(item[k], str) for k in item):
        raise EnvelopeError(f"signature {index} fields must be strings")
    try:
        public = PublicKey(_b64(item["publicKey"], "publicKey"))
    except SigningKeyError:
        raise EnvelopeError(f"signature {index} public key is not a 32-byte Ed25519 key") from None
    if item["keyid"] != public.key_id:
        raise EnvelopeError(
            f"signature {index} names key {item['keyid']!r} but carries key {public.key_id}"
        )
    sig = _b64(item["sig"], "sig")
    if len(sig) != 64:
        raise EnvelopeError(f"signature {index} is {len(sig)} bytes; Ed25519 signatures are 64")
    return EnvelopeSignature(public.key_id, public, sig)


def _b64(text: str, field: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError(f"envelope {field} is not valid base64") from None
    # One encoding per value: otherwise the unused low bits of the last digit could be changed
    # and a changed file would still verify as unchanged.
    if base64.b64encode(raw).decode("ascii") != text:
        raise EnvelopeError(f"envelope {field} is not canonical base64 (unused bits are set)")
    return raw


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result

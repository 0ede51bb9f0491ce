"""Trust policies: who is allowed to have signed a record.

A verifier is always given a policy explicitly; there is no default that trusts everyone.

* :class:`KeyRingPolicy` trusts the keys of a key ring (our own keys, active or retired, and the
  public keys imported with ``trust``) and knows which of them are revoked and when.
* :class:`TrustedKeys` trusts an explicit, non-empty list of public keys.
* :class:`UnsafeTrustAnyKey` accepts any valid signature. It exists for tests and exploration,
  logs a warning every time it is used, and is never what the CLI or the service use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from provenance.signing.keyring import KeyRing, KeyStatus
from provenance.signing.keys import PublicKey

__all__ = ["KeyRingPolicy", "TrustDecision", "TrustPolicy", "TrustedKeys", "UnsafeTrustAnyKey"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrustDecision:
    """What a policy says about one signing key.

    ``status`` is ``active``, ``retired``, ``revoked`` or ``unknown``; ``trusted`` is true only for
    active and retired keys the policy accepts.
    """

    key_id: str
    status: str
    trusted: bool
    revoked_at: str | None = None
    revocation_reason: str | None = None
    label: str | None = None


class TrustPolicy(Protocol):
    """Decides whether a public key may sign records."""

    def decide(self, public_key: PublicKey) -> TrustDecision: ...

    def describe(self) -> str: ...


class KeyRingPolicy:
    """Trust every non-revoked key in ``keyring`` (local keys and explicitly trusted ones)."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    def decide(self, public_key: PublicKey) -> TrustDecision:
        entry = self.keyring.get(public_key.key_id)
        if entry is None:
            return TrustDecision(public_key.key_id, "unknown", trusted=False)
        if entry.public_key != public_key:  # same id, other key: treat as unknown
            return TrustDecision(public_key.key_id, "unknown", trusted=False)
        return TrustDecision(
            key_id=entry.key_id,
            status=entry.status.value,
            trusted=entry.status is not KeyStatus.REVOKED,
            revoked_at=entry.revoked_at,
            revocation_reason=entry.revocation_reason,
            label=entry.label,
        )

    def describe(self) -> str:
        return f"key ring at {self.keyring.directory}"


class TrustedKeys:
    """Trust exactly these public keys. An empty list is refused: it could never pass."""

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self._keys = {k.key_id: k for k in keys}
        if not self._keys:
            raise ValueError("TrustedKeys needs at least one key; an empty policy trusts nobody")

    def decide(self, public_key: PublicKey) -> TrustDecision:
        trusted = self._keys.get(public_key.key_id) == public_key
        return TrustDecision(public_key.key_id, "active" if trusted else "unknown", trusted)

    def describe(self) -> str:
        return f"{len(self._keys)} explicitly trusted key(s)"


class UnsafeTrustAnyKey:
    """UNSAFE: accepts any key whose signature is valid. For tests and exploration only."""

    def decide(self, public_key: PublicKey) -> TrustDecision:
        log.warning("UnsafeTrustAnyKey accepted key %s without any trust check", public_key.key_id)
        return TrustDecision(public_key.key_id, "active", trusted=True)

    def describe(self) -> str:
        return "UNSAFE: any key"

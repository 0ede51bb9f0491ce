"""Ed25519 keys: generation, key ids, and private/public key files.

The key id is derived from the public key alone (first 16 bytes of SHA-256 over the raw 32-byte
key, hex), so anyone holding the public key computes the same id. Private keys are PKCS#8 PEM,
written with mode 0600 and optionally encrypted with a passphrase; public keys are
SubjectPublicKeyInfo PEM, which is what ``keys export`` prints and ``keys trust`` reads.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provenance._files import atomic_write_bytes
from provenance.errors import SigningKeyError

__all__ = [
    "PublicKey",
    "SigningKey",
    "key_id_for",
]


def key_id_for(raw_public_key: bytes) -> str:
    """Key id of a raw 32-byte Ed25519 public key: 32 hex digits."""
    if len(raw_public_key) != 32:
        raise SigningKeyError("an Ed25519 public key is exactly 32 bytes")
    return hashlib.sha256(raw_public_key).digest()[:16].hex()


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key with its derived id."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise SigningKeyError("an Ed25519 public key is exactly 32 bytes")

    @property
    def key_id(self) -> str:
        return key_id_for(self.raw)

    def b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is a valid Ed25519 signature of ``message`` by this key."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def to_pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        """Read an exported public key (PEM SubjectPublicKeyInfo, Ed25519 only)."""
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(
                f"only Ed25519 public keys are supported, got {type(key).__name__}"
            )
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @classmethod
    def from_b64(cls, text: str) -> PublicKey:
        try:
            raw = base64.b64decode(text, validate=True)
        except (ValueError, TypeError):
            raise SigningKeyError("public key is not valid base64") from None
        return cls(raw)


class SigningKey:
    """An Ed25519 private key. Never printed, logged or pickled."""

    __slots__ = ("_key", "public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = PublicKey(raw)

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("signing keys are not picklable")

    @property
    def key_id(self) -> str:
        return self.public.key_id

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def save(self, path: Path, passphrase: bytes | None = None) -> None:
        """Write the key to ``path`` atomically with mode 0600 (never readable by others)."""
        atomic_write_bytes(path, self.to_pem(passphrase), mode=0o600)

    @classmethod
    def load(cls, path: Path, passphrase: bytes | None = None) -> SigningKey:
        """Read a private key file; encrypted files need ``passphrase``."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SigningKeyError(f"cannot read private key {path}: {exc.strerror}") from None
        encrypted = b"ENCRYPTED PRIVATE KEY" in data
        if encrypted and not passphrase:
            err = SigningKeyError(
                f"private key {path.name} is encrypted and no passphrase was given"
            )
            err.hint = "Set AIGC_PROV_KEY_PASSPHRASE or run the command in a terminal to be asked."
            raise err
        try:
            key = serialization.load_pem_private_key(
                data, password=passphrase if encrypted else None
            )
        except (ValueError, TypeError):
            reason = "wrong passphrase" if encrypted else "not a PEM private key"
            raise SigningKeyError(f"cannot load private key {path.name}: {reason}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path.name} is not an Ed25519 private key")
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            raise SigningKeyError(
                f"private key {path} is readable by other users (mode {mode:o}); run chmod 600"
            )
        return cls(key)

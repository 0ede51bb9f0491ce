"""The key ring: our own signing keys and other signers' public keys we chose to trust.

Layout of a key ring folder (mode 0700)::

    keyring.json            every known key: id, public key, status, origin, times
    private/<key_id>.pem    our private keys (mode 0600, optionally passphrase-encrypted)

Statuses: ``active`` (signs new records; one local key at a time), ``retired`` (replaced by
``rotate``; its old signatures stay valid), ``revoked`` (every signature by it is reported as
``revoked_key``, whatever time a record claims). Origins: ``local`` (we hold the private key) and
``trusted`` (imported with ``trust``; public key only).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from provenance._files import atomic_write_bytes
from provenance.errors import KeyRingError, SigningKeyError
from provenance.signing.keys import PublicKey, SigningKey

__all__ = ["KeyEntry", "KeyOrigin", "KeyRing", "KeyStatus", "utc_now"]

_FORMAT = 1


def utc_now() -> str:
    """Now as RFC 3339 UTC with a Z suffix (microseconds kept)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class KeyStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
    REVOKED = "revoked"


class KeyOrigin(StrEnum):
    LOCAL = "local"
    TRUSTED = "trusted"


@dataclass(frozen=True)
class KeyEntry:
    """One key the ring knows."""

    key_id: str
    public_key: PublicKey
    status: KeyStatus
    origin: KeyOrigin
    added_at: str
    retired_at: str | None = None
    revoked_at: str | None = None
    revocation_reason: str | None = None
    label: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["public_key"] = self.public_key.b64()
        data["status"] = self.status.value
        data["origin"] = self.origin.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyEntry:
        try:
            public = PublicKey.from_b64(data["public_key"])
            entry = cls(
                key_id=str(data["key_id"]),
                public_key=public,
                status=KeyStatus(data["status"]),
                origin=KeyOrigin(data["origin"]),
                added_at=str(data["added_at"]),
                retired_at=data.get("retired_at"),
                revoked_at=data.get("revoked_at"),
                revocation_reason=data.get("revocation_reason"),
                label=data.get("label"),
            )
        except (KeyError, ValueError, TypeError, SigningKeyError) as exc:
            raise KeyRingError(f"damaged key ring entry: {exc}") from None
        if entry.key_id != public.key_id:
            raise KeyRingError(f"key ring entry {entry.key_id} does not match its public key")
        return entry


class KeyRing:
    """A key ring stored in a folder. Every change is written atomically."""

    def __init__(self, directory: Path, entries: dict[str, KeyEntry]) -> None:
        self.directory = directory
        self._entries = entries

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path) -> KeyRing:
        """Open the ring in ``directory``; a missing ring opens empty (nothing is written)."""
        path = directory / "keyring.json"
        if not path.exists():
            return cls(directory, {})
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyRingError(f"cannot read key ring {path}: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise KeyRingError(f"{path} is not an aigc-provenance key ring (format {_FORMAT})")
        entries = {}
        for item in doc.get("keys", []):
            entry = KeyEntry.from_json(item)
            entries[entry.key_id] = entry
        return cls(directory, entries)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the ring's lock, and re-read it, so concurrent changes are never lost."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._entries = KeyRing.open(self.directory)._entries
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        doc = {"format": _FORMAT, "keys": [e.to_json() for e in self._entries.values()]}
        data = json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        atomic_write_bytes(self.directory / "keyring.json", data, mode=0o644)

    def _private_path(self, key_id: str) -> Path:
        return self.directory / "private" / f"{key_id}.pem"

    # -- queries -------------------------------------------------------------------------------

    def entries(self) -> list[KeyEntry]:
        return sorted(self._entries.values(), key=lambda e: (e.added_at, e.key_id))

    def get(self, key_id: str) -> KeyEntry | None:
        return self._entries.get(key_id)

    def find(self, prefix: str) -> KeyEntry:
        """The entry whose id starts with ``prefix`` (at least 8 hex digits, unambiguous)."""
        prefix = prefix.strip().lower()
        if len(prefix) < 8:
            raise KeyRingError("give at least 8 hex digits of the key id")
        matches = [e for e in self._entries.values() if e.key_id.startswith(prefix)]
        if not matches:
            raise KeyRingError(f"no key {prefix} in the key ring; `aigc-prov keys list` shows them")
        if len(matches) > 1:
            raise KeyRingError(f"key id prefix {prefix} is ambiguous; give more digits")
        return matches[0]

    def active_local(self) -> KeyEntry | None:
        for entry in self._entries.values():
            if entry.origin is KeyOrigin.LOCAL and entry.status is KeyStatus.ACTIVE:
                return entry
        return None

    def signing_key(self, passphrase: bytes | None = None) -> SigningKey:
        """The private key of the active local key."""
        entry = self.active_local()
        if entry is None:
            err = KeyRingError(f"no active signing key in {self.directory}")
            err.hint = "Create one with `aigc-prov keys init`."
            raise err
        key = SigningKey.load(self._private_path(entry.key_id), passphrase)
        if key.key_id != entry.key_id:
            raise KeyRingError(f"private key file for {entry.key_id} holds another key")
        return key

    def is_encrypted(self) -> bool:
        """Whether the active local private key needs a passphrase."""
        entry = self.active_local()
        if entry is None:
            return False
        try:
            return b"ENCRYPTED" in self._private_path(entry.key_id).read_bytes()
        except OSError:
            return False

    # -- changes -------------------------------------------------------------------------------

    def init(self, passphrase: bytes | None = None, label: str | None = None) -> KeyEntry:
        """Create the first local signing key. Refuses if an active one exists."""
        with self._locked():
            return self._init(passphrase, label)

    def _init(self, passphrase: bytes | None, label: str | None) -> KeyEntry:
        if self.active_local() is not None:
            raise KeyRingError(
                f"{self.directory} already has an active signing key; "
                "use `keys rotate` to replace it"
            )
        return self._add_local(passphrase, label)

    def rotate(self, passphrase: bytes | None = None, label: str | None = None) -> KeyEntry:
        """Make a new active key; the previous active key becomes ``retired``."""
        with self._locked():
            return self._rotate(passphrase, label)

    def _rotate(self, passphrase: bytes | None, label: str | None) -> KeyEntry:
        old = self.active_local()
        if old is not None:
            self._entries[old.key_id] = replace(old, status=KeyStatus.RETIRED, retired_at=utc_now())
        return self._add_local(passphrase, label)

    def _add_local(self, passphrase: bytes | None, label: str | None) -> KeyEntry:
        key = SigningKey.generate()
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        key.save(self._private_path(key.key_id), passphrase)
        entry = KeyEntry(
            key_id=key.key_id,
            public_key=key.public,
            status=KeyStatus.ACTIVE,
            origin=KeyOrigin.LOCAL,
            added_at=utc_now(),
            label=label,
        )
        self._entries[entry.key_id] = entry
        self._save()
        return entry

    def revoke(self, key_id_prefix: str, reason: str | None = None) -> KeyEntry:
        """Revoke a key (ours or a trusted one). Its signatures then report ``revoked_key``."""
        with self._locked():
            return self._revoke(key_id_prefix, reason)

    def _revoke(self, key_id_prefix: str, reason: str | None) -> KeyEntry:
        entry = self.find(key_id_prefix)
        if entry.status is KeyStatus.REVOKED:
            raise KeyRingError(f"key {entry.key_id} was already revoked at {entry.revoked_at}")
        revoked = replace(
            entry, status=KeyStatus.REVOKED, revoked_at=utc_now(), revocation_reason=reason
        )
        self._entries[entry.key_id] = revoked
        self._save()
        return revoked

    def trust(self, public_key: PublicKey, label: str | None = None) -> KeyEntry:
        """Trust another signer's exported public key."""
        with self._locked():
            return self._trust(public_key, label)

    def _trust(self, public_key: PublicKey, label: str | None) -> KeyEntry:
        existing = self._entries.get(public_key.key_id)
        if existing is not None:
            raise KeyRingError(
                f"key {public_key.key_id} is already in the key ring ({existing.status.value})"
            )
        entry = KeyEntry(
            key_id=public_key.key_id,
            public_key=public_key,
            status=KeyStatus.ACTIVE,
            origin=KeyOrigin.TRUSTED,
            added_at=utc_now(),
            label=label,
        )
        self._entries[entry.key_id] = entry
        self._save()
        return entry

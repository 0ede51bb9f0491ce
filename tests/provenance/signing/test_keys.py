"""Keys, key ring, envelopes and trust policies."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest

from provenance import KeyRing, KeyRingError, PublicKey, SigningKey, SigningKeyError, TrustedKeys
from provenance.errors import EnvelopeError
from provenance.signing import (
    Envelope,
    KeyRingPolicy,
    UnsafeTrustAnyKey,
    check_envelope,
    pae,
    sign_payload,
)

PTYPE = "application/vnd.aigc-provenance.record+json; version=1"


def test_key_id_is_derived_from_the_public_key() -> None:
    key = SigningKey.generate()
    assert key.key_id == hashlib.sha256(key.public.raw).hexdigest()[:32]
    assert PublicKey.from_pem(key.public.to_pem()).key_id == key.key_id


def test_private_key_file_is_0600_and_never_in_repr(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path / "keys")
    entry = ring.init()
    private = tmp_path / "keys" / "private" / f"{entry.key_id}.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    key = ring.signing_key()
    assert "PRIVATE" not in repr(key) and entry.key_id in repr(key)


def test_readable_private_key_is_refused(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path / "keys")
    entry = ring.init()
    (tmp_path / "keys" / "private" / f"{entry.key_id}.pem").chmod(0o644)
    with pytest.raises(SigningKeyError, match=r"readable by other users .* run chmod 600"):
        ring.signing_key()


def test_encrypted_key_needs_the_passphrase(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path / "keys")
    ring.init(passphrase=b"correct horse")
    assert ring.is_encrypted()
    with pytest.raises(SigningKeyError, match="is encrypted and no passphrase was given"):
        ring.signing_key()
    with pytest.raises(SigningKeyError, match="wrong passphrase"):
        ring.signing_key(b"wrong")
    assert ring.signing_key(b"correct horse").key_id == ring.active_local().key_id  # type: ignore[union-attr]


def test_rotate_retires_and_revoke_records_the_time(tmp_path: Path) -> None:
    ring = KeyRing.open(tmp_path / "keys")
    first = ring.init()
    with pytest.raises(KeyRingError, match="already has an active signing key"):
        ring.init()
    second = ring.rotate()
    reopened = KeyRing.open(tmp_path / "keys")
    assert reopened.get(first.key_id).status.value == "retired"  # type: ignore[union-attr]
    assert reopened.get(first.key_id).retired_at  # type: ignore[union-attr]
    assert reopened.active_local().key_id == second.key_id  # type: ignore[union-attr]
    revoked = reopened.revoke(first.key_id[:10], reason="compromised")
    assert revoked.revoked_at and revoked.revocation_reason == "compromised"
    with pytest.raises(KeyRingError, match="already revoked"):
        reopened.revoke(first.key_id)
    with pytest.raises(KeyRingError, match="at least 8 hex digits"):
        reopened.revoke("abc")


def test_trust_an_exported_public_key(tmp_path: Path) -> None:
    theirs = SigningKey.generate()
    ring = KeyRing.open(tmp_path / "keys")
    entry = ring.trust(PublicKey.from_pem(theirs.public.to_pem()), label="partner studio")
    assert entry.origin.value == "trusted"
    decision = KeyRingPolicy(KeyRing.open(tmp_path / "keys")).decide(theirs.public)
    assert decision.trusted and decision.label == "partner studio"
    with pytest.raises(KeyRingError, match="already in the key ring"):
        ring.trust(theirs.public)


def test_pae_is_dsse_v1() -> None:
    assert pae("t/x", b"hello") == b"DSSEv1 3 t/x 5 hello"


def test_envelope_round_trip_and_tamper() -> None:
    key = SigningKey.generate()
    env = sign_payload(b'{"a":1}', PTYPE, key)
    parsed = Envelope.from_json(env.to_json())
    assert parsed == env
    check = check_envelope(parsed, TrustedKeys([key.public]))
    assert check.valid and check.trust is not None and check.trust.trusted
    changed_type = Envelope(PTYPE.replace("1", "2"), env.payload, env.signatures)
    assert not check_envelope(changed_type, TrustedKeys([key.public])).valid


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"payloadType":"t","payload":"e30="}', "exactly the keys"),
        ('{"payloadType":"t","payload":"e30=","signatures":[],"payloadType":"u"}', "duplicate key"),
        ('{"payloadType":"t","payload":"!!","signatures":[]}', "payload is not valid base64"),
        ("[1,2]", "not a JSON object"),
        (
            '{"payloadType":"t","payload":"e30=","signatures":[{"keyid":"00","publicKey":"'
            + "A" * 43
            + '=","sig":"'
            + "A" * 86
            + '=="}]}',
            "names key '00' but carries key",
        ),
    ],
)
def test_malformed_envelopes_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        Envelope.from_json(text)


def test_policies_are_explicit() -> None:
    with pytest.raises(ValueError, match="empty policy trusts nobody"):
        TrustedKeys([])
    stranger = SigningKey.generate()
    assert not TrustedKeys([SigningKey.generate().public]).decide(stranger.public).trusted


def test_unsafe_policy_warns_every_time(caplog: pytest.LogCaptureFixture) -> None:
    key = SigningKey.generate()
    assert UnsafeTrustAnyKey().decide(key.public).trusted
    assert "UnsafeTrustAnyKey accepted key" in caplog.text

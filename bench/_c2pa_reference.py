"""The C2PA reference for the benchmarks: c2pa-python signing and reading, fully offline.

An Ed25519 chain made here with ``cryptography`` (root CA + end-entity with the EKUs
c2pa-kp-claimSigning *and* emailProtection, see docs reference section 2.3), thumbnails off,
remote manifest fetching off, and a reader that trusts the root through ``trust.user_anchors``
with ``trust.trust_config`` listing the claimSigning OID.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["C2paChain", "make_chain", "read_and_validate", "reader_context", "sign_png"]

CLAIM_SIGNING_EKU = "1.3.6.1.4.1.62558.2.1"
_EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION


@dataclass(frozen=True)
class C2paChain:
    """PEM strings: the end-entity chain (leaf first, root left out), its key, the root."""

    chain_pem: str
    key_pem: str
    root_pem: str


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aigc-provenance benchmark"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_chain() -> C2paChain:
    """A fresh Ed25519 root CA and end-entity certificate, valid from an hour ago for a day."""
    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=1)
    root_key = Ed25519PrivateKey.generate()
    leaf_key = Ed25519PrivateKey.generate()
    root_name, leaf_name = _name("bench root CA"), _name("bench signer")
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(root_ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, None)
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(leaf_name)
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(CLAIM_SIGNING_EKU), _EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, None)
    )
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return C2paChain(
        chain_pem=leaf.public_bytes(pem).decode("ascii"),
        key_pem=key_pem.decode("ascii"),
        root_pem=root.public_bytes(pem).decode("ascii"),
    )


def _settings(chain: C2paChain) -> dict[str, Any]:
    return {
        "trust": {"user_anchors": chain.root_pem, "trust_config": CLAIM_SIGNING_EKU + "\n"},
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"remote_manifest_fetch": False},
    }


def reader_context(chain: C2paChain) -> c2pa.Context:
    """A reader context that trusts ``chain``'s root (built once, reused for every read)."""
    return c2pa.Context.from_dict(_settings(chain))


def sign_png(src: Path, dst: Path, chain: C2paChain) -> None:
    """C2PA-sign the PNG ``src`` into ``dst`` (created, trainedAlgorithmicMedia, no thumbnail)."""
    context = reader_context(chain)
    info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ED25519, chain.chain_pem.encode(), chain.key_pem.encode(), None
    )
    manifest = {
        "claim_generator_info": [{"name": "aigc-provenance-bench", "version": "1"}],
        "title": src.name,
        "format": "image/png",
    }
    with (
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(json.dumps(manifest), context=context) as builder,
    ):
        builder.set_intent(
            c2pa.C2paBuilderIntent.CREATE, c2pa.C2paDigitalSourceType.TRAINED_ALGORITHMIC_MEDIA
        )
        builder.sign_file(src, dst, signer)


def read_and_validate(path: Path, context: c2pa.Context) -> str | None:
    """Read and validate the C2PA manifest of the file at ``path``; return the state."""
    with c2pa.Reader(path, context=context) as reader:
        return reader.get_validation_state()

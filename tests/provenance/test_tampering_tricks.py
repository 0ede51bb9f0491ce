"""Tricks that change what a person sees without changing the signed bytes or pixels.

Each came out of a review of the verifier; each must never pass as verified.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from provenance import (
    KeyRing,
    KeyRingPolicy,
    PublicKey,
    SignedImage,
    SigningKey,
    Status,
    sign_image,
    verify,
)
from provenance.record import ENVELOPE_KEYWORD, XMP_KEYWORD
from provenance.schema import payload_type
from provenance.signing import sign_payload
from tests import pngtools
from tests.conftest import attestation, sample_image

MakeSigned = Callable[..., SignedImage]


def _status_and_messages(png: bytes, policy: KeyRingPolicy) -> tuple[Status, str]:
    report = verify(png, policy=policy)
    return report.status, " | ".join(f.message for f in report.findings if f.kind == "failure")


def test_second_xmp_description_is_refused(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    png = make_signed().png
    xmp = pngtools.get_text(png, XMP_KEYWORD)
    evil = (
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">EVIL a dog</rdf:li></rdf:Alt>'
        "</dc:description></rdf:Description></rdf:RDF>"
    )
    status, why = _status_and_messages(
        pngtools.replace_text(png, XMP_KEYWORD, xmp.replace("</rdf:RDF>", evil)), policy
    )
    assert status is Status.METADATA_MISMATCH
    assert "the XMP packet holds content the signer did not write: 2 rdf:Description" in why


def test_extra_xmp_language_is_refused(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    png = make_signed().png
    xmp = pngtools.get_text(png, XMP_KEYWORD).replace(
        "</rdf:Alt>", '<rdf:li xml:lang="en-US">EVIL</rdf:li></rdf:Alt>'
    )
    status, why = _status_and_messages(pngtools.replace_text(png, XMP_KEYWORD, xmp), policy)
    assert status is Status.METADATA_MISMATCH
    assert "dc:description languages ['x-default', 'en-US']" in why


@pytest.mark.parametrize("keyword", ["Prompt ", "prompt", "Description", "Negative-Prompt"])
def test_text_readers_show_as_ours_is_refused(
    make_signed: MakeSigned, policy: KeyRingPolicy, keyword: str
) -> None:
    parts = pngtools.chunks(make_signed().png)
    parts.insert(-1, (b"tEXt", keyword.encode() + b"\0EVIL a dog"))
    status, why = _status_and_messages(pngtools.build(parts), policy)
    assert status is Status.METADATA_MISMATCH
    assert f"a text chunk {keyword!r} that readers show as one of the signed fields" in why


def test_imagemagick_xmp_carrier_is_refused(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    parts = pngtools.chunks(make_signed().png)
    body = zlib.compress(b"\nxmp\n 40\n<x:xmpmeta xmlns:x='adobe:ns:meta/'></x:xmpmeta>\n")
    parts.insert(-1, (b"zTXt", b"Raw profile type xmp\0\0" + body))
    status, why = _status_and_messages(pngtools.build(parts), policy)
    assert status is Status.METADATA_MISMATCH
    assert "a second XMP packet (text chunk 'Raw profile type xmp')" in why


def test_apng_frames_added_are_content_changes(
    make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    png = make_signed().png
    parts = pngtools.chunks(png)
    width, height = struct.unpack(">II", parts[0][1][:8])
    frame = zlib.compress(b"".join(b"\0" + b"\xff\0\0" * width for _ in range(height)))
    fctl = struct.pack(">IIIIIHHBB", 1, width, height, 0, 0, 1, 1, 0, 0)
    parts.insert(1, (b"acTL", struct.pack(">II", 2, 0)))
    parts.insert(-1, (b"fcTL", fctl))
    parts.insert(-1, (b"fdAT", struct.pack(">I", 2) + frame))
    status, why = _status_and_messages(pngtools.build(parts), policy)
    assert status is Status.CONTENT_ALTERED
    assert "present now: acTL, fcTL, fdAT" in why


def test_latin1_prompt_verifies(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    """Latin-1 bytes that also happen to be valid UTF-8 must be read as Latin-1 (the standard)."""
    status, why = _status_and_messages(make_signed("a 2×½ inch card, photo").png, policy)
    assert status is Status.VERIFIED, why


def test_second_ihdr_is_malformed(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    parts = pngtools.chunks(make_signed().png)
    parts.insert(-1, parts[0])
    status, why = _status_and_messages(pngtools.build(parts), policy)
    assert status is Status.MALFORMED
    assert why == "PNG file has a second IHDR chunk"


def test_unknown_critical_chunk_is_malformed(
    make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    parts = pngtools.chunks(make_signed().png)
    parts.insert(1, (b"QQQQ", b"x"))
    status, why = _status_and_messages(pngtools.build(parts), policy)
    assert status is Status.MALFORMED
    assert why == "PNG file has an unknown critical chunk QQQQ"


def test_truncated_compressed_text_is_malformed(
    make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    parts = pngtools.chunks(make_signed().png)
    parts.insert(-1, (b"zTXt", b"Comment\0\0" + zlib.compress(b"hello world" * 50)[:-6]))
    status, why = _status_and_messages(pngtools.build(parts), policy)
    assert status is Status.MALFORMED
    assert "holds a truncated or padded compressed stream" in why


def test_sixteen_bit_reencode_is_not_identical(key: SigningKey, policy: KeyRingPolicy) -> None:
    """Pillow reads 16-bit colour as 8 bits: hidden low bytes must not pass as identical."""
    signed = sign_image(sample_image(3, (16, 8)), attestation(), key)
    with Image.open(io.BytesIO(signed.png)) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=">u2") * 257 + 7  # low bytes changed
    rows = b"".join(b"\0" + row.tobytes() for row in rgb)
    parts = pngtools.chunks(signed.png)
    ihdr = bytearray(parts[0][1])
    ihdr[8] = 16
    parts[0] = (b"IHDR", bytes(ihdr))
    tampered = pngtools.with_idat(pngtools.build(parts), zlib.compress(rows))
    status, why = _status_and_messages(tampered, policy)
    assert status is Status.CONTENT_ALTERED
    assert "re-encoded at 16 bits per sample" in why


def test_control_characters_in_keywords_are_malformed(policy: KeyRingPolicy) -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG")
    parts = pngtools.chunks(out.getvalue())
    parts.insert(1, (b"tEXt", b"\rOK   verified\x1b[8m\0x"))
    status, why = _status_and_messages(pngtools.build(parts), policy)
    assert status is Status.MALFORMED
    assert "keyword holds control characters" in why


def test_record_with_a_lone_surrogate_is_malformed(
    key: SigningKey, make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    png = make_signed().png
    payload = json.dumps({"prompt": "\ud800 cat"}).encode()  # ASCII JSON escaping a surrogate
    env = sign_payload(payload, payload_type(), key)
    status, why = _status_and_messages(
        pngtools.replace_text(png, ENVELOPE_KEYWORD, env.to_json()), policy
    )
    assert status is Status.MALFORMED
    assert "the signed record is not valid UTF-8 JSON" in why


@pytest.mark.timeout(5)
def test_record_with_many_schema_errors_is_quick(
    key: SigningKey, make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    png = make_signed().png
    record = dict(make_signed().record)
    record["warnings"] = [1] * 150_000  # ~450 KB of invalid items, under the size limit
    env = sign_payload(json.dumps(record).encode(), payload_type(), key)
    status, why = _status_and_messages(
        pngtools.replace_text(png, ENVELOPE_KEYWORD, env.to_json()), policy
    )
    assert status is Status.MALFORMED
    assert "not schema-valid" in why


def test_devices_are_not_read(policy: KeyRingPolicy) -> None:
    report = verify("/dev/zero", policy=policy)
    assert report.status is Status.MALFORMED
    assert report.findings[0].message == "not a regular file (a device, pipe or folder)"


def test_concurrent_key_ring_changes_are_not_lost(tmp_path: Path) -> None:
    first = KeyRing.open(tmp_path / "keys")
    entry = first.init()
    second = KeyRing.open(tmp_path / "keys")  # opened before the revocation below
    first.revoke(entry.key_id)
    second.trust(PublicKey(SigningKey.generate().public.raw))
    again = KeyRing.open(tmp_path / "keys")
    assert again.get(entry.key_id).status.value == "revoked"  # type: ignore[union-attr]
    assert len(again.entries()) == 2

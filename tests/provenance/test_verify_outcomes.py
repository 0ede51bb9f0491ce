"""One fixture per verification outcome, each made by changing exactly one thing of a valid file."""

from __future__ import annotations

import base64
import io
import json
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from provenance import (
    KeyRing,
    KeyRingPolicy,
    SignedImage,
    SigningKey,
    Status,
    TrustedKeys,
    VerificationError,
    verify,
    verify_strict,
)
from provenance.record import ENVELOPE_KEYWORD, XMP_KEYWORD
from provenance.schema import payload_type
from provenance.signing import sign_payload
from tests import pngtools
from tests.conftest import CORPUS

MakeSigned = Callable[..., SignedImage]


def failure(report, status: Status) -> str:  # type: ignore[no-untyped-def]
    messages = [f.message for f in report.findings if f.code == status.value]
    assert messages, f"no {status} finding in {report.findings}"
    return messages[0]


@pytest.mark.parametrize(
    "prompt", ["an orange cat, photo", "一只橘猫坐在窗台上，高清照片, 油画风格"]
)
def test_round_trip_verifies(make_signed: MakeSigned, policy: KeyRingPolicy, prompt: str) -> None:
    signed = make_signed(prompt)
    report = verify(signed.png, policy=policy)
    assert report.status is Status.VERIFIED
    assert report.record is not None
    assert report.record["generation"]["prompt"] == prompt
    assert report.record_id == signed.record_id
    assert report.signer is not None and report.signer.status == "active"
    assert {"signature_valid", "signer_trusted", "bytes_match"} <= {f.code for f in report.findings}
    forced = verify(signed.png, policy=policy, force_pixels=True)
    assert forced.status is Status.VERIFIED
    assert "pixels_identical" in {f.code for f in forced.findings}


def test_pixel_byte_changed_with_crc_fixed(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    tampered = pngtools.flip_pixel_byte(make_signed().png, row=5, column_byte=10)
    report = verify(tampered, policy=policy)
    assert report.status is Status.CONTENT_ALTERED
    assert "decoded pixels differ" in failure(report, Status.CONTENT_ALTERED)


def test_compressed_image_byte_flipped_with_crc_fixed(
    make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    png = make_signed().png
    data = bytearray(pngtools.idat_stream(png))
    data[len(data) // 2] ^= 0xFF
    report = verify(pngtools.with_idat(png, bytes(data)), policy=policy)
    assert report.status is Status.CONTENT_ALTERED
    assert re.search(r"pixels differ|no longer decodes", failure(report, Status.CONTENT_ALTERED))


def test_prompt_edited(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    tampered = pngtools.replace_text(make_signed().png, "Prompt", "a dog")
    report = verify(tampered, policy=policy)
    assert report.status is Status.METADATA_MISMATCH
    assert re.search(
        r"Prompt says 'a dog' but the signed record says 'an orange cat",
        failure(report, Status.METADATA_MISMATCH),
    )


def test_parameters_edited(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    png = make_signed().png
    text = pngtools.get_text(png, "parameters").replace("Seed: 42", "Seed: 43")
    report = verify(pngtools.replace_text(png, "parameters", text), policy=policy)
    assert report.status is Status.METADATA_MISMATCH
    assert "parameters says" in failure(report, Status.METADATA_MISMATCH)


def test_xmp_source_type_edited(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    png = make_signed().png
    xmp = pngtools.get_text(png, XMP_KEYWORD).replace("trainedAlgorithmicMedia", "digitalCapture")
    report = verify(pngtools.replace_text(png, XMP_KEYWORD, xmp), policy=policy)
    assert report.status is Status.METADATA_MISMATCH
    assert "XMP Iptc4xmpExt:DigitalSourceType says" in failure(report, Status.METADATA_MISMATCH)


def _envelope(png: bytes) -> dict:  # type: ignore[type-arg]
    return json.loads(pngtools.get_text(png, ENVELOPE_KEYWORD))


def _with_envelope(png: bytes, doc: dict) -> bytes:  # type: ignore[type-arg]
    return pngtools.replace_text(png, ENVELOPE_KEYWORD, json.dumps(doc))


def test_record_byte_changed(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    png = make_signed().png
    env = _envelope(png)
    payload = base64.b64decode(env["payload"])
    assert b'"seed":42' in payload
    env["payload"] = base64.b64encode(payload.replace(b'"seed":42', b'"seed":43')).decode()
    report = verify(_with_envelope(png, env), policy=policy)
    assert report.status is Status.SIGNATURE_INVALID
    assert "does not match the signed record" in failure(report, Status.SIGNATURE_INVALID)
    assert report.record is None  # never parsed after a failed signature


def test_record_reserialised_with_same_content(
    make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    """Canonicalisation trap: same JSON data, other bytes -> the signature no longer matches."""
    png = make_signed().png
    env = _envelope(png)
    record = json.loads(base64.b64decode(env["payload"]))
    env["payload"] = base64.b64encode(json.dumps(record, indent=1).encode()).decode()
    assert verify(_with_envelope(png, env), policy=policy).status is Status.SIGNATURE_INVALID


def test_signature_byte_changed(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    png = make_signed().png
    env = _envelope(png)
    sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
    sig[10] ^= 0x01
    env["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    report = verify(_with_envelope(png, env), policy=policy)
    assert report.status is Status.SIGNATURE_INVALID
    assert re.search(
        r"signature by key [0-9a-f]{32} does not match", failure(report, Status.SIGNATURE_INVALID)
    )


def test_envelope_moved_onto_another_image(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    original, other = make_signed(seed=1), make_signed(seed=2)
    ours = [(t, d) for t, d in pngtools.chunks(original.png) if pngtools.is_text(t)]
    other_parts = [(t, d) for t, d in pngtools.chunks(other.png) if not pngtools.is_text(t)]
    transplanted = pngtools.build(other_parts[:1] + ours + other_parts[1:])
    report = verify(transplanted, policy=policy)
    assert report.status is Status.CONTENT_ALTERED
    assert "decoded pixels differ" in failure(report, Status.CONTENT_ALTERED)


def test_chunk_added_after_signing(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    parts = pngtools.chunks(make_signed().png)
    parts.insert(-1, (b"tEXt", b"Comment\0resized by a photo app"))
    report = verify(pngtools.build(parts), policy=policy)
    assert report.status is Status.VERIFIED_REENCODED
    changed = [f.message for f in report.findings if f.code == "container_changed"]
    assert changed and "text chunks not written by the signer: Comment" in changed[0]


def test_bytes_appended_after_iend(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    report = verify(make_signed().png + b"junk", policy=policy)
    assert report.status is Status.VERIFIED_REENCODED
    assert any("4 bytes after the end of the PNG" in f.message for f in report.findings)


def test_lossless_reencode_keeping_metadata(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    with Image.open(io.BytesIO(make_signed("一只橘猫").png)) as image:
        info = PngInfo()
        for key, value in image.text.items():
            info.add_text(key, value)
        out = io.BytesIO()
        image.save(out, format="PNG", pnginfo=info, compress_level=1)
    report = verify(out.getvalue(), policy=policy)
    assert report.status is Status.VERIFIED_REENCODED
    assert "pixels_identical" in {f.code for f in report.findings}


def test_all_metadata_stripped(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    with Image.open(io.BytesIO(make_signed().png)) as image:
        out = io.BytesIO()
        image.save(out, format="PNG")
    report = verify(out.getvalue(), policy=policy)
    assert report.status is Status.NO_PROVENANCE
    assert failure(report, Status.NO_PROVENANCE).startswith("no provenance metadata found")


def test_envelope_removed_leaves_unsigned(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    report = verify(pngtools.drop_text(make_signed().png, ENVELOPE_KEYWORD), policy=policy)
    assert report.status is Status.UNSIGNED
    assert "no signed record" in failure(report, Status.UNSIGNED)


def test_unknown_key(make_signed: MakeSigned, ring: KeyRing) -> None:
    stranger = SigningKey.generate()
    report = verify(make_signed(signing_key=stranger).png, policy=KeyRingPolicy(ring))
    assert report.status is Status.UNTRUSTED_SIGNER
    assert report.signer is not None and report.signer.key_id == stranger.key_id
    assert f"key {stranger.key_id} is not trusted" in failure(report, Status.UNTRUSTED_SIGNER)


def test_revoked_key_whatever_the_claimed_time(make_signed: MakeSigned, ring: KeyRing) -> None:
    signed = make_signed()  # signed *before* the revocation; the record's time is only a claim
    entry = ring.revoke(ring.signing_key().key_id, reason="laptop lost")
    report = verify(signed.png, policy=KeyRingPolicy(ring))
    assert report.status is Status.REVOKED_KEY
    message = failure(report, Status.REVOKED_KEY)
    assert f"revoked at {entry.revoked_at} (laptop lost)" in message
    assert f"claims it was signed at {signed.record['created_at']}" in message


def test_retired_key_still_verifies(make_signed: MakeSigned, ring: KeyRing) -> None:
    signed = make_signed()
    ring.rotate()
    report = verify(signed.png, policy=KeyRingPolicy(ring))
    assert report.status is Status.VERIFIED
    assert report.signer is not None and report.signer.status == "retired"


def test_signed_but_schema_invalid_record(
    key: SigningKey, make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    png = make_signed().png
    record = json.loads(base64.b64decode(_envelope(png)["payload"]))
    record["generation"]["num_inference_steps"] = 0
    del record["labels"]
    env = sign_payload(json.dumps(record).encode(), payload_type(), key)
    report = verify(pngtools.replace_text(png, ENVELOPE_KEYWORD, env.to_json()), policy=policy)
    assert report.status is Status.MALFORMED
    message = failure(report, Status.MALFORMED)
    assert "not schema-valid" in message
    assert "$.generation.num_inference_steps" in message and "'labels' is a required" in message


def test_unknown_schema_version(
    key: SigningKey, make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    png = make_signed().png
    payload = base64.b64decode(_envelope(png)["payload"])
    env = sign_payload(payload, payload_type("9"), key)
    report = verify(pngtools.replace_text(png, ENVELOPE_KEYWORD, env.to_json()), policy=policy)
    assert report.status is Status.MALFORMED
    assert "schema version this software does not know" in failure(report, Status.MALFORMED)


def test_foreign_metadata_only() -> None:
    a1111 = CORPUS / "sd-parsers" / "parsers" / "AUTOMATIC1111" / "automatic1111_cropped.png"
    report = verify(a1111, policy=TrustedKeys([SigningKey.generate().public]))
    assert report.status is Status.FOREIGN_METADATA
    assert failure(report, Status.FOREIGN_METADATA).endswith(
        "another tool's metadata (not checked): a1111 generation data (text chunks: parameters)"
    )


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("sd-metadata/png/comfyui.png", "comfyui generation data (text chunks: prompt, workflow)"),
        # a text key other tools use, in a file no reader recognises: the key alone
        ("sd-metadata/png/gimp.png", "text chunks: Comment"),
        ("sd-metadata/jpg/swarmui.jpg", "swarmui generation data"),
    ],
)
def test_foreign_metadata_names_the_tool_and_where(name: str, named: str) -> None:
    report = verify(CORPUS / name, policy=TrustedKeys([SigningKey.generate().public]))
    assert report.status is Status.FOREIGN_METADATA
    assert failure(report, Status.FOREIGN_METADATA).endswith(f"(not checked): {named}")


def test_c2pa_only_file_is_foreign_metadata() -> None:
    chatgpt = CORPUS / "sd-metadata" / "c2pa" / "png" / "chatgpt-image2.png"
    report = verify(chatgpt, policy=TrustedKeys([SigningKey.generate().public]))
    assert report.status is Status.FOREIGN_METADATA
    assert failure(report, Status.FOREIGN_METADATA).endswith(": C2PA manifest (caBX chunk)")


def test_strict_wrapper_raises_with_reason(make_signed: MakeSigned, policy: KeyRingPolicy) -> None:
    good = make_signed()
    assert verify_strict(good.png, policy=policy).status is Status.VERIFIED
    tampered = pngtools.replace_text(good.png, "Seed", "7")
    with pytest.raises(VerificationError, match=r"metadata_mismatch: the file's Seed says '7'"):
        verify_strict(tampered, policy=policy)


def test_report_json_shape(make_signed: MakeSigned, policy: KeyRingPolicy, tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(make_signed().png)
    doc = verify(path, policy=policy).to_dict()
    assert doc["file"] == str(path) and doc["status"] == "verified"
    assert set(doc["signer"]) >= {"key_id", "status"}
    assert all(set(f) == {"code", "kind", "message"} for f in doc["findings"])
    assert doc["record_id"]


@pytest.mark.parametrize(
    ("ctype", "data"),
    [
        (b"gAMA", (100000).to_bytes(4, "big")),  # gamma 1.0: every colour displays differently
        (b"eXIf", b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x03\0\0\0\0\0\0"),  # rotate 180
        (b"tRNS", b"\0\0\0\0\0\0"),  # black becomes transparent
    ],
)
def test_chunk_changing_the_display_added(
    make_signed: MakeSigned, policy: KeyRingPolicy, ctype: bytes, data: bytes
) -> None:
    """Same decoded bytes, different picture on screen: not a mere re-encode."""
    parts = pngtools.chunks(make_signed().png)
    parts.insert(1, (ctype, data))
    report = verify(pngtools.build(parts), policy=policy)
    assert report.status is Status.CONTENT_ALTERED
    message = failure(report, Status.CONTENT_ALTERED)
    assert "the pixels are identical, but the chunks that change how they are displayed" in message
    assert f"present now: {ctype.decode()}" in message


def test_large_compressed_text_added_is_only_a_container_change(
    make_signed: MakeSigned, policy: KeyRingPolicy
) -> None:
    """A 2 MiB zTXt (over Pillow's own 1 MiB text limit) must not be mistaken for bad pixels."""
    parts = pngtools.chunks(make_signed().png)
    parts.insert(-1, (b"zTXt", b"Comment\0\0" + zlib.compress(b"x" * (2 << 20))))
    report = verify(pngtools.build(parts), policy=policy)
    assert report.status is Status.VERIFIED_REENCODED


def test_untrusted_signer_cannot_make_verify_decode(make_signed: MakeSigned, ring: KeyRing) -> None:
    stranger = SigningKey.generate()
    tampered = pngtools.flip_pixel_byte(make_signed(signing_key=stranger).png, 1, 1)
    report = verify(tampered, policy=KeyRingPolicy(ring))
    assert report.status is Status.UNTRUSTED_SIGNER
    assert "content_not_checked" in {f.code for f in report.findings}
    assert "pixels_identical" not in {f.code for f in report.findings}

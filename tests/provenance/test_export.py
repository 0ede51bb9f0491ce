"""JPEG/WebP exports: new signed records, read by exiftool and sd-parsers, verified by us, and
every kind of tampering reported with its reason."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
from pathlib import Path

import piexif
import piexif.helper
import pytest
import sd_parsers
from PIL import Image, ImageDraw

from provenance import KeyRing, KeyRingPolicy, SigningKey, Status, finalize, verify
from provenance.catalog.store import Catalog
from provenance.errors import RecordInputError
from provenance.export import EXPORT_EXTENSION, TRUNCATION_NOTE, export_image
from provenance.inspect import inspect
from provenance.jpegwebp import (
    jpeg_with_metadata,
    scan_export,
    webp_extended,
    webp_with_metadata,
)
from tests.conftest import attestation, sample_image

PROMPT = "一只橘猫坐在窗台上, golden hour: 35mm photo"
SUFFIX = {"jpeg": ".jpg", "webp": ".webp"}
#: A required third-party reader (scripts/test.sh installs it): a missing one fails, never skips.
exiftool = shutil.which("exiftool")


def signed_png(tmp_path: Path, key: SigningKey, prompt: str = PROMPT, seed: int = 0) -> Path:
    out = tmp_path / f"orig{seed}.png"
    finalize(sample_image(seed, (96, 64)), attestation(prompt), key, out)
    return out


def export(
    tmp_path: Path,
    key: SigningKey,
    policy: KeyRingPolicy,
    fmt: str,
    prompt: str = PROMPT,
    catalog: Catalog | None = None,
) -> tuple[Path, Path]:
    original = signed_png(tmp_path, key, prompt)
    out = tmp_path / f"export{SUFFIX[fmt]}"
    export_image(original, key, out, fmt=fmt, policy=policy, quality=85, catalog=catalog)
    return original, out


def codes(report: object) -> list[str]:
    return [f.code for f in report.findings]  # type: ignore[attr-defined]


def failures(report: object) -> str:
    return " | ".join(f.message for f in report.findings if f.kind == "failure")  # type: ignore[attr-defined]


def exif_tool(*args: str) -> None:
    assert exiftool is not None, "exiftool is required: apt-get install -y libimage-exiftool-perl"
    subprocess.run([exiftool, "-q", "-overwrite_original", *args], check=True)


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_export_round_trip(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy, fmt: str
) -> None:
    original = signed_png(tmp_path, key)
    before = original.read_bytes()
    parent = verify(original, policy=policy).record
    assert parent is not None
    out = tmp_path / f"export{SUFFIX[fmt]}"
    result = export_image(original, key, out, fmt=fmt, policy=policy, quality=80)
    assert original.read_bytes() == before  # never modified
    assert result.sidecar == tmp_path / f"export{SUFFIX[fmt]}.json"
    assert not result.sidecar_only

    report = verify(out, policy=policy)
    assert report.status == Status.VERIFIED, failures(report)
    assert "bytes_match" in codes(report)
    record = report.record
    assert record is not None
    assert record["task"]["type"] == "export"
    assert record["task"]["parent_record_id"] == parent["record_id"]
    assert record["task"]["input_digest"] == parent["content"]["pixel_digest"]
    assert record["generation"]["prompt"] == PROMPT
    assert record["model"] == parent["model"]
    assert record["extensions"][EXPORT_EXTENSION] == {"format": fmt, "quality": 80}
    assert record["content"]["format"] == fmt
    with Image.open(out) as image:
        assert image.format == fmt.upper()
    assert verify(out, policy=policy, force_pixels=True).status == Status.VERIFIED

    sidecar = json.loads(result.sidecar.read_text("utf-8"))
    assert sidecar["record_id"] == record["record_id"]
    assert sidecar["generation"]["prompt"] == PROMPT
    assert "envelope" in sidecar

    parsed = sd_parsers.ParserManager().parse(str(out))
    assert parsed is not None
    assert parsed.full_prompt == PROMPT

    found = inspect(out, policy=policy).to_dict()
    assert found["tool"]["name"] == "aigc-provenance"
    assert found["generation"]["prompt"] == PROMPT
    assert found["extra"]["record_id"] == record["record_id"]
    assert found["verification"]["status"] == "verified"


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_exiftool_reads_the_prompt_and_labels(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy, fmt: str
) -> None:
    _, out = export(tmp_path, key, policy, fmt)
    assert exiftool is not None, "exiftool is required: apt-get install -y libimage-exiftool-perl"
    shown = json.loads(subprocess.run([exiftool, "-j", str(out)], capture_output=True).stdout)[0]
    assert shown["UserComment"].startswith(PROMPT + "\nNegative prompt: blurry\nSteps: 8")
    assert shown["DigitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert shown["Software"].startswith("aigc-provenance")
    assert "Orientation" not in shown


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_piexif_reads_the_a1111_user_comment(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy, fmt: str
) -> None:
    # our EXIF is the layout A1111 writes with piexif (IFD0 Software, Exif sub-IFD UserComment,
    # UNICODE + UTF-16BE), written by hand with the next-IFD link piexif leaves out
    _, out = export(tmp_path, key, policy, fmt)
    with Image.open(out) as image:
        exif = piexif.load(image.info["exif"])
    comment = piexif.helper.UserComment.load(exif["Exif"][piexif.ExifIFD.UserComment])
    assert comment.startswith(PROMPT + "\nNegative prompt: blurry\nSteps: 8")
    assert exif["0th"][piexif.ImageIFD.Software].decode("ascii").startswith("aigc-provenance")
    assert exif["Exif"][piexif.ExifIFD.UserComment].startswith(b"UNICODE\0")
    made_by_piexif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Software: exif["0th"][piexif.ImageIFD.Software]},
            "Exif": {piexif.ExifIFD.UserComment: exif["Exif"][piexif.ExifIFD.UserComment]},
        }
    )
    again = piexif.load(made_by_piexif)
    assert again["Exif"] == exif["Exif"]
    assert again["0th"][piexif.ImageIFD.Software] == exif["0th"][piexif.ImageIFD.Software]


def _forge(out: Path, fmt: str, change: bool) -> bytes:
    """Re-encode the export's image (a region repainted when ``change``) and put our EXIF and
    XMP back in, as a forger would."""
    data = out.read_bytes()
    scan = scan_export(data, fmt)
    with Image.open(out) as image:
        image.load()
        pixels = image.convert("RGB")
    if change:
        ImageDraw.Draw(pixels).rectangle((10, 10, 40, 30), fill=(255, 0, 0))
    buffer = io.BytesIO()
    pixels.save(buffer, format=fmt.upper(), quality=85)
    if fmt == "jpeg":
        return jpeg_with_metadata(buffer.getvalue(), scan.exif[0], scan.xmp[0])
    extended = webp_extended(buffer.getvalue(), pixels.width, pixels.height)
    return webp_with_metadata(extended, scan.exif[0], scan.xmp[0])


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_painted_region_is_content_altered(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy, fmt: str
) -> None:
    _, out = export(tmp_path, key, policy, fmt)
    report = verify(_forge(out, fmt, change=True), policy=policy)
    assert report.status == Status.CONTENT_ALTERED
    assert "decoded pixels differ" in failures(report)


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_flipped_byte_in_image_data_is_content_altered(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy, fmt: str
) -> None:
    _, out = export(tmp_path, key, policy, fmt)
    data = bytearray(out.read_bytes())
    at = len(data) - 40 if fmt == "jpeg" else 80  # inside the entropy-coded data / VP8 frame
    data[at] ^= 0x55
    assert verify(bytes(data), policy=policy).status == Status.CONTENT_ALTERED


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_untrusted_signer_is_not_decoded(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy, fmt: str
) -> None:
    _, out = export(tmp_path, key, policy, fmt)
    stranger = KeyRing.open(tmp_path / "stranger")
    stranger.init()
    report = verify(out, policy=KeyRingPolicy(stranger))
    assert report.status == Status.UNTRUSTED_SIGNER
    assert "bytes_match" in codes(report)


def test_added_comment_is_verified_reencoded(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy
) -> None:
    _, out = export(tmp_path, key, policy, "jpeg")
    exif_tool("-Comment=shared on a forum", str(out))
    report = verify(out, policy=policy)
    assert report.status == Status.VERIFIED_REENCODED
    changed = next(f.message for f in report.findings if f.code == "container_changed")
    assert "segments or chunks: COM" in changed


def test_metadata_stripped_is_no_provenance_then_catalog_match(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy
) -> None:
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    _, out = export(tmp_path, key, policy, "jpeg", catalog=catalog)
    exported = verify(out, policy=policy).record_id
    exif_tool("-all=", str(out))
    report = verify(out, policy=policy)
    assert report.status == Status.NO_PROVENANCE
    assert "no aigc-provenance record in this JPEG file" in failures(report)
    report = verify(out, policy=policy, catalog=catalog)
    assert report.status == Status.CATALOG_MATCH
    assert exported is not None and exported in failures(report)
    catalog.close()


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_edited_user_comment_is_metadata_mismatch(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy, fmt: str
) -> None:
    _, out = export(tmp_path, key, policy, fmt)
    exif_tool("-UserComment=a photo of a dog", str(out))
    report = verify(out, policy=policy)
    assert report.status == Status.METADATA_MISMATCH
    assert "EXIF UserComment says 'a photo of a dog'" in failures(report)


def test_added_image_description_is_metadata_mismatch(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy
) -> None:
    _, out = export(tmp_path, key, policy, "jpeg")
    exif_tool("-ImageDescription=a dog", str(out))
    report = verify(out, policy=policy)
    assert report.status == Status.METADATA_MISMATCH
    assert "show as the image's description were added" in failures(report)
    assert "ImageDescription" in failures(report)


def test_added_artist_is_noted_but_verified(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy
) -> None:
    _, out = export(tmp_path, key, policy, "jpeg")
    exif_tool("-Artist=someone", str(out))
    report = verify(out, policy=policy)
    assert report.status == Status.VERIFIED, failures(report)
    added = next(f.message for f in report.findings if f.code == "metadata_added")
    assert "Artist" in added


def test_edited_xmp_description_is_metadata_mismatch(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy
) -> None:
    _, out = export(tmp_path, key, policy, "jpeg")
    exif_tool("-XMP-dc:Description=a dog", str(out))
    report = verify(out, policy=policy)
    assert report.status == Status.METADATA_MISMATCH
    assert "dc:description says 'a dog'" in failures(report)


def test_added_orientation_is_content_altered(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy
) -> None:
    _, out = export(tmp_path, key, policy, "jpeg")
    exif_tool("-n", "-Orientation=6", str(out))
    report = verify(out, policy=policy)
    assert report.status == Status.CONTENT_ALTERED
    assert "present now: Orientation" in failures(report)


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_oversized_record_lives_in_the_sidecar(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy, fmt: str
) -> None:
    prompt = "很长的提示 " + "a very long prompt, " * 3000
    original = signed_png(tmp_path, key, prompt[:60_000])
    out = tmp_path / f"big{SUFFIX[fmt]}"
    result = export_image(original, key, out, fmt=fmt, policy=policy)
    assert result.sidecar_only
    assert result.sidecar.name == out.name + ".json"
    report = verify(out, policy=policy)
    assert report.status == Status.VERIFIED, failures(report)
    where = next(f.message for f in report.findings if f.code == "record_in_sidecar")
    assert f"the full signed record is in the sidecar {out.name}.json" in where
    assert "metadata_truncated" in codes(report)
    assert report.record is not None
    assert report.record["generation"]["prompt"] == prompt[:60_000]
    scan = scan_export(out.read_bytes(), fmt)
    assert all(len(block) <= 65_533 for block in scan.exif)
    assert TRUNCATION_NOTE.encode("utf-16-be") in scan.exif[0]

    # verifying bytes alone cannot reach the sidecar
    alone = verify(out.read_bytes(), policy=policy)
    assert alone.status == Status.UNSIGNED
    assert "cannot be read when verifying bytes alone" in failures(alone)

    # a sidecar of another export is refused by the SHA-256 the file names
    other = tmp_path / "other"
    other.mkdir()
    second = signed_png(other, key, prompt[:59_000], seed=1)
    export_image(second, key, other / out.name, fmt=fmt, policy=policy)
    saved = result.sidecar.read_bytes()
    shutil.copy(other / result.sidecar.name, result.sidecar)
    swapped = verify(out, policy=policy)
    assert swapped.status == Status.METADATA_MISMATCH
    assert "is not the one the file names" in failures(swapped)

    # a missing sidecar is said plainly
    result.sidecar.unlink()
    missing = verify(out, policy=policy)
    assert missing.status == Status.UNSIGNED
    assert f"the sidecar {out.name}.json, which is missing" in failures(missing)
    result.sidecar.write_bytes(saved)
    assert verify(out, policy=policy).status == Status.VERIFIED


def test_unsigned_png_is_refused(tmp_path: Path, key: SigningKey, policy: KeyRingPolicy) -> None:
    plain = tmp_path / "plain.png"
    sample_image().save(plain)
    with pytest.raises(RecordInputError, match=r"does not verify \(no_provenance: "):
        export_image(plain, key, tmp_path / "x.jpg", fmt="jpeg", policy=policy)
    assert not (tmp_path / "x.jpg").exists()


def test_tampered_png_is_refused(tmp_path: Path, key: SigningKey, policy: KeyRingPolicy) -> None:
    from tests import pngtools

    original = signed_png(tmp_path, key)
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(pngtools.replace_text(original.read_bytes(), "Steps", "9"))
    with pytest.raises(RecordInputError, match=r"does not verify \(metadata_mismatch: "):
        export_image(tampered, key, tmp_path / "x.webp", fmt="webp", policy=policy)
    tampered.write_bytes(pngtools.flip_pixel_byte(original.read_bytes(), 3, 5))
    with pytest.raises(RecordInputError, match=r"does not verify \(content_altered: "):
        export_image(tampered, key, tmp_path / "x.webp", fmt="webp", policy=policy)
    assert not (tmp_path / "x.webp").exists()


def test_existing_output_is_refused(tmp_path: Path, key: SigningKey, policy: KeyRingPolicy) -> None:
    original = signed_png(tmp_path, key)
    out = tmp_path / "x.jpg"
    out.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        export_image(original, key, out, fmt="jpeg", policy=policy)
    assert out.read_bytes() == b"precious"
    export_image(original, key, out, fmt="jpeg", policy=policy, overwrite=True)
    assert verify(out, policy=policy).status == Status.VERIFIED


def test_record_id_source_and_catalog_rows(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy
) -> None:
    catalog = Catalog.open(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    original = tmp_path / "orig.png"
    made = finalize(sample_image(), attestation(PROMPT), key, original, catalog=catalog)
    out = tmp_path / "by-id.webp"
    result = export_image(made.record_id, key, out, fmt="webp", policy=policy, catalog=catalog)
    row = catalog.get(result.record_id)
    assert row is not None and row.file_path == str(out.resolve())
    report = verify(out, policy=policy, catalog=catalog)
    assert report.status == Status.VERIFIED
    assert "catalog_record" in codes(report)
    with pytest.raises(RecordInputError, match="neither a file nor a record"):
        export_image(
            "no-such-record", key, tmp_path / "y.jpg", fmt="jpeg", policy=policy, catalog=catalog
        )
    catalog.close()


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_mutated_exports_never_raise(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy, fmt: str
) -> None:
    _, out = export(tmp_path, key, policy, fmt)
    data = out.read_bytes()
    rng = random.Random(5)
    seen = set()
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(mutated))
            mutated[at] = rng.randrange(256)
        if rng.random() < 0.3:
            del mutated[rng.randrange(len(mutated)) :]
        report = verify(bytes(mutated), policy=policy)
        seen.add(report.status)
    assert Status.VERIFIED not in seen or len(seen) > 1


def test_png_xmp_with_an_export_property_is_refused(
    tmp_path: Path, key: SigningKey, policy: KeyRingPolicy
) -> None:
    original = signed_png(tmp_path, key)
    data = original.read_bytes()
    marker = b"<aigcprov:RecordID>"
    assert marker in data
    # the XMP is an uncompressed iTXt chunk: rebuild it with an envelope property added
    from tests import pngtools

    chunks = pngtools.chunks(data)
    rebuilt = []
    for ctype, body in chunks:
        if ctype == b"iTXt" and marker in body:
            body = body.replace(marker, b"<aigcprov:Envelope>{}</aigcprov:Envelope>" + marker)
        rebuilt.append((ctype, body))
    report = verify(pngtools.build(rebuilt), policy=policy)
    assert report.status == Status.METADATA_MISMATCH
    assert "aigcprov:Envelope" in failures(report)

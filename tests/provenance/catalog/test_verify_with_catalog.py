"""Verification with a catalog: stripped copies, look-alikes, and records that disagree."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from provenance import SigningKey, Status, TrustedKeys, finalize, sign_image, verify
from provenance.catalog.store import Catalog
from provenance.record import ENVELOPE_KEYWORD
from provenance.signing import sign_payload
from tests import pngtools
from tests.conftest import attestation


def _photo(seed: int, size: int = 256) -> Image.Image:
    """A smooth, photo-like picture (perceptual hashes behave as on real images)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    waves = [
        np.sin(x * rng.uniform(2, 9) + y * rng.uniform(2, 9) + rng.uniform(0, 6)) for _ in range(3)
    ]
    rgb = np.stack(waves, axis=-1) * 100 + 128 + rng.normal(0, 3, (size, size, 3))
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8), "RGB")


def _signed_in(catalog: Catalog, tmp_path: Path, seed: int) -> tuple[Path, str]:
    key = SigningKey.generate()
    result = finalize(
        _photo(seed),
        attestation(f"picture {seed}"),
        key,
        tmp_path / f"p{seed}.png",
        catalog=catalog,
    )
    return result.path, result.record_id


def _encode(image: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kw)
    return out.getvalue()


POLICY = TrustedKeys([SigningKey.generate().public])


def test_stripped_copy_matches_exactly(catalog: Catalog, tmp_path: Path) -> None:
    path, record_id = _signed_in(catalog, tmp_path, 1)
    with Image.open(path) as image:
        stripped = _encode(image, "PNG")
    report = verify(stripped, policy=POLICY, catalog=catalog)
    assert report.status is Status.CATALOG_MATCH
    assert report.candidates == [{"record_id": record_id, "distance": 0, "exact": True}]
    assert f"exactly those of catalogued record {record_id}" in report.findings[-1].message


def test_resized_and_jpeg_copies_are_soft_matches_never_verified(
    catalog: Catalog, tmp_path: Path
) -> None:
    path, record_id = _signed_in(catalog, tmp_path, 2)
    _signed_in(catalog, tmp_path, 3)  # another, unrelated record
    with Image.open(path) as image:
        copies = [
            _encode(image.resize((128, 128), Image.Resampling.LANCZOS), "PNG"),
            _encode(image.convert("RGB"), "JPEG", quality=80),
        ]
    for copy in copies:
        report = verify(copy, policy=POLICY, catalog=catalog)
        assert report.status is Status.SOFT_MATCH, report.findings
        assert report.candidates[0]["record_id"] == record_id
        assert report.candidates[0]["distance"] <= 6 and not report.candidates[0]["exact"]
        assert all(c["record_id"] != record_id or c["distance"] <= 6 for c in report.candidates)
        assert not report.status.passed


def test_unrelated_image_has_no_match(catalog: Catalog, tmp_path: Path) -> None:
    _signed_in(catalog, tmp_path, 4)
    report = verify(_encode(_photo(99), "PNG"), policy=POLICY, catalog=catalog)
    assert report.status is Status.NO_PROVENANCE
    assert report.candidates == []


def test_embedded_record_that_disagrees_with_the_catalog(catalog: Catalog, tmp_path: Path) -> None:
    key = SigningKey.generate()
    signed = sign_image(_photo(5), attestation("original"), key)
    catalog.add_record(signed.catalog_row())
    forged = signed.record_bytes.replace(b'"original"', b'"rewritten"')
    envelope = sign_payload(forged, signed.envelope.payload_type, key)
    png = pngtools.replace_text(signed.png, ENVELOPE_KEYWORD, envelope.to_json())
    report = verify(png, policy=TrustedKeys([key.public]), catalog=catalog)
    assert report.status is Status.METADATA_MISMATCH
    assert any(
        f"record {signed.record_id} differs from the catalog's copy" in f.message
        for f in report.findings
    )
    same = verify(signed.png, policy=TrustedKeys([key.public]), catalog=catalog)
    assert same.status is Status.VERIFIED
    assert "catalog_record" in {f.code for f in same.findings}

"""The short cuts ``import`` takes per file must give what the long way gives: an 8-bit RGB/RGBA
PNG's size and mode from its IHDR (what Pillow says; anything else still goes to Pillow), and a
file's real path with its folder resolved once (what ``os.path.realpath`` says)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from provenance.binding import canonical_mode
from provenance.catalog.store import record_values
from provenance.importer import IMAGE_SUFFIXES, _png_header, _real_folder, _real_path, examine


def _png(mode: str, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (37, 21)).save(buffer, "PNG", **save)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("mode", "save", "fast"),
    [
        ("RGB", {}, True),
        ("RGBA", {}, True),
        ("RGB", {"interlace": 1}, True),
        ("RGB", {"transparency": (0, 0, 0)}, True),
        ("L", {}, False),
        ("LA", {}, False),
        ("P", {}, False),
        ("1", {}, False),
        ("I;16", {}, False),
    ],
)
def test_the_ihdr_header_is_what_pillow_says_or_left_to_pillow(
    mode: str, save: dict[str, object], fast: bool
) -> None:
    data = _png(mode, **save)
    with Image.open(io.BytesIO(data)) as image:
        pillow = (image.size, canonical_mode(image.mode))
    header = _png_header(memoryview(data))
    assert header == (pillow if fast else None)


def test_a_damaged_ihdr_is_left_to_pillow() -> None:
    data = bytearray(_png("RGB"))
    data[18] ^= 0x01  # the width changes; the CRC no longer matches
    assert _png_header(memoryview(data)) is None
    empty = bytearray(_png("RGB"))
    empty[16:20] = b"\0\0\0\0"  # width 0 (and a CRC that no longer matches either)
    assert _png_header(memoryview(empty)) is None


def test_real_paths_are_what_realpath_says(tmp_path: Path) -> None:
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "sub" / "a.png").write_bytes(b"")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "sub" / "b.png").symlink_to(tmp_path / "real" / "sub" / "a.png")
    _real_folder.cache_clear()
    for path in ("link/sub/a.png", "link/sub/b.png", "link/sub/../sub/a.png", "real/sub/a.png"):
        full = str(tmp_path / path)
        assert _real_path(full) == os.path.realpath(full)
    assert _real_path(str(tmp_path / "link/sub/b.png")) == str(tmp_path / "real/sub/a.png")


def test_a_png_cut_short_after_its_header_is_still_refused(tmp_path: Path) -> None:
    """The short cut is for clean files: a damaged PNG goes to Pillow, which refuses it."""
    from provenance.importer import examine

    whole = tmp_path / "whole.png"
    whole.write_bytes(_png("RGB"))
    cut = tmp_path / "cut.png"
    cut.write_bytes(_png("RGB")[:40])
    assert examine(str(whole), key_id="k").error is None
    assert examine(str(cut), key_id="k").error == (
        "the image header cannot be read (not a valid image)"
    )


def test_a_workers_row_is_the_row_of_the_signed_bytes() -> None:
    """The worker makes an imported file's catalog row from the record it built instead of
    parsing the record's RFC 8785 bytes back (the bytes the signature covers): the same row,
    for every file of the corpus."""
    from tests.conftest import CORPUS

    images = [p for p in sorted(CORPUS.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
    rows = 0
    for path in images:
        found = examine(str(path), key_id="0" * 32)
        if found.row is None or found.record_bytes is None:
            continue
        parsed = record_values(
            json.loads(found.record_bytes),
            found.record_bytes,
            "",
            "0" * 32,
            file_path=found.real_path,
            state="complete",
            file_digest=found.digest,
        )
        drop = {"inserted_at"}  # the time the row was made
        assert {k: v for k, v in found.row.items() if k not in drop} == {
            k: v for k, v in parsed.items() if k not in drop
        }, path
        rows += 1
    assert rows >= 30

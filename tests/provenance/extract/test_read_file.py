"""``read_metadata_file``: a file read by its path gives exactly what ``read_metadata`` gives for
its bytes, while reading a PNG's metadata chunks only (the image data is skipped, not read)."""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from provenance.extract import containers
from provenance.extract.containers import read_metadata, read_metadata_file
from provenance.extract.png import Limits
from tests.provenance.extract.builders import stealth_png
from tests.provenance.extract.mutations import CORPUS, corpus_files, mutated_files

CORPUS_PNG = CORPUS / "sd-metadata/png/comfyui.png"


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _bytes_read() -> int:
    """Bytes this process has read through read/pread so far (Linux ``rchar``)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
@pytest.mark.parametrize("head", [containers.HEAD_BYTES, 64])
def test_every_corpus_file_reads_the_same_by_path_as_by_bytes(
    path: Path, head: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(containers, "HEAD_BYTES", head)  # 64: every chunk beyond the head
    assert read_metadata_file(path).meta == read_metadata(path.read_bytes())


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=mutated_files())
def test_damaged_files_read_the_same_by_path_as_by_bytes(
    case: tuple[str, bytes, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    name, data, what = case
    path = tmp_path_factory.mktemp("mutated") / "file"
    path.write_bytes(data)
    saved = containers.HEAD_BYTES
    for head in (saved, 64):
        containers.HEAD_BYTES = head
        try:
            assert read_metadata_file(path).meta == read_metadata(data), (name, what, head)
        finally:
            containers.HEAD_BYTES = saved


def test_the_image_data_of_a_png_is_skipped_not_read(tmp_path: Path) -> None:
    """A PNG with 600 MB of image data (a sparse file) and text before and after it."""
    ihdr = _chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
    before = _chunk(b"tEXt", b"parameters\0a lighthouse at dusk\nSteps: 20, Seed: 7")
    after = _chunk(b"iTXt", "Comment\0\0\0\0\0后记".encode())
    idat_length = 600 << 20
    path = tmp_path / "huge.png"
    with path.open("wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n" + ihdr + before)
        handle.write(struct.pack(">I", idat_length) + b"IDAT")
        handle.seek(idat_length, os.SEEK_CUR)  # a hole: the image data is never written
        handle.write(b"\0\0\0\0" + after + _chunk(b"IEND", b""))
    read_before = _bytes_read()
    started = time.perf_counter()
    found = read_metadata_file(path).meta
    elapsed = time.perf_counter() - started
    assert _bytes_read() - read_before < 1 << 20
    assert elapsed < 1.0
    assert found.problems == []
    assert (found.get("png:tEXt:parameters") or "").startswith("a lighthouse at dusk")
    assert found.get("png:iTXt:Comment") == "后记"
    assert (found.width, found.height) == (20000, 20000)


def test_a_png_whose_pixels_hold_the_metadata_is_read_whole(tmp_path: Path) -> None:
    payload = json.dumps({"Comment": json.dumps({"prompt": "stealth cat"})}).encode()
    data = stealth_png(payload, "stealth_pngcomp", size=(200, 150))
    path = tmp_path / "stealth.png"
    path.write_bytes(data)
    containers.HEAD_BYTES, saved = 64, containers.HEAD_BYTES
    try:
        found = read_metadata_file(path)
    finally:
        containers.HEAD_BYTES = saved
    assert found.data == data  # the caller gets the bytes (NovelAI's signature covers them)
    assert found.meta == read_metadata(data)
    assert any(v.location.startswith("png:stealth") for v in found.meta.values)


def test_a_file_over_the_size_limit_is_reported_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000)
    found = read_metadata_file(path, limits=Limits(max_file_bytes=1000))
    assert found.meta.problems == ["the file is larger than the limit of 1000 bytes"]
    assert found.data is None


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_metadata_file(tmp_path / "missing.png")


def test_a_device_that_never_ends_is_read_only_as_far_as_its_head() -> None:
    read_before = _bytes_read()
    found = read_metadata_file("/dev/zero")
    assert _bytes_read() - read_before <= containers.HEAD_BYTES + 4096  # + reading /proc
    assert found.meta.problems == ["not a PNG, JPEG or WebP file (unknown signature)"]


def test_an_image_from_a_pipe_is_read_whole(tmp_path: Path) -> None:
    import threading

    data = CORPUS_PNG.read_bytes()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(data,))
    writer.start()
    found = read_metadata_file(fifo)
    writer.join()
    assert found.data == data
    assert found.meta == read_metadata(data)

"""``WholeFileReader``: whole files through one reused buffer, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance._files import WholeFileReader


def test_reads_whole_files_of_any_size_and_refuses_past_the_limit(tmp_path: Path) -> None:
    reader = WholeFileReader()
    reader.kept_bytes = 4096
    reader.buffer = bytearray(1024)
    small, large, empty = tmp_path / "small", tmp_path / "large", tmp_path / "empty"
    small.write_bytes(b"a" * 100)
    large.write_bytes(bytes(range(256)) * 64)  # 16 KiB: over kept_bytes, a one-off buffer
    empty.write_bytes(b"")
    assert bytes(reader.read(str(small), 1 << 20)) == b"a" * 100
    first = reader.read(str(large), 1 << 20)
    assert bytes(first) == bytes(range(256)) * 64
    assert len(reader.buffer) == 1024  # the large file's buffer was not kept
    assert bytes(reader.read(str(small), 1 << 20)) == b"a" * 100
    assert bytes(first) == bytes(range(256)) * 64  # the one-off buffer is still its own
    assert bytes(reader.read(str(empty), 1 << 20)) == b""
    with pytest.raises(ValueError, match="larger than the limit of 99 bytes"):
        reader.read(str(small), 99)
    with pytest.raises(FileNotFoundError):
        reader.read(str(tmp_path / "missing"), 1 << 20)

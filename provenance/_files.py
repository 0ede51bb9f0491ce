"""Atomic file writes (temporary file in the same folder, fsync, rename, fsync the folder),
reading many whole files through one reused buffer, and reading a stream (a pipe or device)
within a limit.

A crash at any point leaves either the old file (or none) or the complete new one, never a
half-written file under the final name. Temporary files start with ``.`` and end in ``.tmp``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

__all__ = ["WholeFileReader", "atomic_write_bytes", "fsync_dir", "read_stream"]

#: Bytes asked of a stream at a time by :func:`read_stream`.
STREAM_PIECE = 1 << 20


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(
    path: Path, data: bytes, *, mode: int = 0o644, overwrite: bool = True, sync_dir: bool = True
) -> None:
    """Write ``data`` to ``path`` atomically with permission ``mode``.

    With ``overwrite=False`` an existing ``path`` is never replaced (``FileExistsError``).
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the name exists: no window where another file is replaced.
            os.link(tmp, path)
            tmp.unlink()
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync_dir:
        fsync_dir(directory)


class WholeFileReader:
    """Reads whole files into one reused buffer: for many files in a row (``import``), a fresh
    ``bytes`` per file (allocated, page-faulted, freed) cost several times the read itself.
    Not thread-safe: one per process or thread."""

    #: Files up to this size reuse the buffer; a larger one gets a buffer of its own, freed after
    #: use, so that one huge file does not pin its size in memory for the process's lifetime.
    kept_bytes = 32 << 20

    def __init__(self) -> None:
        self.buffer = bytearray(1 << 20)

    def read(self, path: str, limit: int) -> memoryview:
        """The file's bytes, valid until the next call; ValueError past ``limit``."""
        with open(path, "rb", buffering=0) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise ValueError(f"larger than the limit of {limit} bytes")
            if size + 1 > self.kept_bytes:
                view = memoryview(bytearray(size + 1))
            else:
                if len(self.buffer) < size + 1:
                    self.buffer = bytearray(size + 1)  # a new one: views of the old stay valid
                view = memoryview(self.buffer)
            filled = 0
            while filled <= size:  # one byte more than fstat said: a growing file is caught
                got = handle.readinto(view[filled : size + 1])
                if not got:
                    break
                filled += got
        if filled > size:
            raise ValueError("the file grew while it was read")
        return view[:filled]


def read_stream(handle: BinaryIO, limit: int) -> bytes:
    """What a stream holds, up to ``limit`` bytes, read a piece at a time: memory grows with
    what arrives, not with the limit (``read(limit)`` would ask for all of it at once)."""
    pieces: list[bytes] = []
    left = limit
    while left > 0:
        piece = handle.read(min(STREAM_PIECE, left))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)

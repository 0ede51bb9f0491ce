"""Damaged copies of the real corpus files, for the property test and ``bench/fuzz_readers.py``.

:func:`mutated_files` is a hypothesis strategy: one corpus file with one to four mutations, each
one of bit flips anywhere or inside the metadata (chunks and segments other than image data),
truncation, a chunk/segment length field overwritten, random bytes inserted, or a run deleted.
It gives ``(name, data, description)``, the description listing what was done.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path

from hypothesis import strategies as st

from tests.conftest import CORPUS

__all__ = ["CORPUS", "corpus_files", "mutated_files", "seeds", "structure"]

#: (offset, width in bytes, byte order) of a length field
Field = tuple[int, int, str]
Span = tuple[int, int]


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix not in (".json", ".md"))


@functools.cache
def seeds() -> dict[str, bytes]:
    return {str(p.relative_to(CORPUS)): p.read_bytes() for p in corpus_files()}


@functools.cache
def structure(name: str) -> tuple[list[Field], list[Span]]:
    """The length fields of a corpus file and the spans of its metadata (not image data)."""
    data = seeds()[name]
    fields: list[Field] = []
    spans: list[Span] = []
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        offset = 8
        while offset + 8 <= len(data):
            length, ctype = struct.unpack_from(">I4s", data, offset)
            fields.append((offset, 4, "big"))
            if ctype != b"IDAT":
                spans.append((offset, min(len(data), offset + 12 + length)))
            offset += 12 + length
    elif data.startswith(b"\xff\xd8"):
        offset = 2
        while offset + 4 <= len(data) and data[offset] == 0xFF:
            marker = data[offset + 1]
            (length,) = struct.unpack_from(">H", data, offset + 2)
            fields.append((offset + 2, 2, "big"))
            spans.append((offset, min(len(data), offset + 2 + length)))
            if marker == 0xDA:
                break
            offset += 2 + length
    elif data.startswith(b"RIFF"):
        fields.append((4, 4, "little"))
        offset = 12
        while offset + 8 <= len(data):
            fourcc, length = struct.unpack_from("<4sI", data, offset)
            fields.append((offset + 4, 4, "little"))
            if fourcc not in (b"VP8 ", b"VP8L"):
                spans.append((offset, min(len(data), offset + 8 + length)))
            offset += 8 + length + (length & 1)
    return fields, spans


_OPS = ("flip", "flip_metadata", "truncate", "length", "insert", "delete")


@st.composite
def mutated_files(draw: st.DrawFn) -> tuple[str, bytes, str]:
    name = draw(st.sampled_from(sorted(seeds())))
    data = bytearray(seeds()[name])
    fields, spans = structure(name)
    done: list[str] = []
    for op in draw(st.lists(st.sampled_from(_OPS), min_size=1, max_size=4)):
        if op == "insert":
            at = draw(st.integers(0, len(data)))
            blob = draw(st.binary(min_size=1, max_size=64))
            data[at:at] = blob
            done.append(f"insert {len(blob)} bytes at {at}")
        elif not data:
            continue
        elif op == "flip":
            at, bit = draw(st.integers(0, len(data) - 1)), draw(st.integers(0, 7))
            data[at] ^= 1 << bit
            done.append(f"flip bit {bit} at {at}")
        elif op == "flip_metadata" and spans:
            start, end = draw(st.sampled_from(spans))
            at, bit = draw(st.integers(start, end - 1)), draw(st.integers(0, 7))
            if at < len(data):
                data[at] ^= 1 << bit
                done.append(f"flip bit {bit} at {at} (metadata)")
        elif op == "truncate":
            keep = draw(st.integers(0, len(data) - 1))
            del data[keep:]
            done.append(f"truncate to {keep} bytes")
        elif op == "length" and fields:
            at, width, order = draw(st.sampled_from(fields))
            top = (1 << (8 * width)) - 1
            value = draw(st.one_of(st.integers(0, 64), st.integers(0, top), st.just(top)))
            if at + width <= len(data):
                data[at : at + width] = value.to_bytes(width, order)
                done.append(f"length field at {at} set to {value}")
        elif op == "delete":
            at = draw(st.integers(0, len(data) - 1))
            count = draw(st.integers(1, 256))
            del data[at : at + count]
            done.append(f"delete {count} bytes at {at}")
    return name, bytes(data), "; ".join(done) or "unchanged"

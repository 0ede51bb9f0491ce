"""What every lenient container reader shares: one collector of values and problems, with caps.

A reader never raises on odd input: it records a one-sentence problem and goes on where it can.
The collector numbers repeated locations (``png:tEXt:parameters#2``), keeps the number of values,
the bytes of text and the number of problems within :class:`~provenance.extract.png.Limits`, and
inflates zlib streams only up to the text limit.
"""

from __future__ import annotations

import zlib

from provenance.extract.model import ContainerMetadata, Format, RawValue
from provenance.extract.png import Limits

__all__ = ["MAX_PROBLEMS", "Collector", "inflate", "printable_text"]

#: Problems kept per file; one more sentence says how many were left out.
MAX_PROBLEMS = 50


class Collector:
    """Gathers one file's values, XMP packets, C2PA locations and problems, within the limits."""

    def __init__(self, fmt: Format | None, limits: Limits) -> None:
        self.meta = ContainerMetadata(format=fmt)
        self.limits = limits
        self._seen: dict[str, int] = {}
        self._text_bytes = 0
        self._left_out = 0
        self.full = False  # set once a value or text limit is reached: readers may stop early

    def problem(self, sentence: str) -> None:
        problems = self.meta.problems
        if len(problems) < MAX_PROBLEMS:
            problems.append(sentence)
            return
        self._left_out += 1

    def finish(self) -> ContainerMetadata:
        if self._left_out:
            self.meta.problems.append(f"{self._left_out} more problems were left out")
            self._left_out = 0
        return self.meta

    def add(
        self,
        location: str,
        *,
        text: str | None = None,
        data: bytes | None = None,
        note: str | None = None,
    ) -> str | None:
        """Keep one value; the location it was stored under, or None when a limit refused it."""
        if self.full:
            return None
        if len(self.meta.values) >= self.limits.max_metadata_chunks:
            self.problem(
                f"the file holds more than {self.limits.max_metadata_chunks} metadata values; "
                "the rest were not read"
            )
            self.full = True
            return None
        size = 0
        if text is not None:
            size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        size += len(data) if data is not None else 0
        if size > self.limits.max_text_bytes:
            self.problem(
                f"{location} is {size} bytes, over the limit of {self.limits.max_text_bytes}; "
                "it was not kept"
            )
            return None
        if self._text_bytes + size > self.limits.max_total_text_bytes:
            self.problem(
                f"the file's metadata exceeds {self.limits.max_total_text_bytes} bytes in all; "
                f"{location} and what follows were not kept"
            )
            self.full = True
            return None
        self._text_bytes += size
        count = self._seen.get(location, 0) + 1
        self._seen[location] = count
        stored = location if count == 1 else f"{location}#{count}"
        self.meta.values.append(RawValue(stored, text=text, data=data, note=note))
        return stored


def inflate(
    data: bytes, limit: int, what: str, *, wbits: int = zlib.MAX_WBITS
) -> tuple[bytes | None, str | None]:
    """Inflate at most ``limit`` bytes: (output, None), (partial output, note) or (None, problem).

    A stream that expands beyond the limit gives no output (a compression bomb is not half
    read); a truncated stream keeps what came out before the end, with a note.
    """
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        return None, f"{what} holds corrupt compressed data"
    if len(out) > limit or inflater.unconsumed_tail:
        return None, f"{what} expands beyond the limit of {limit} bytes (compression bomb?)"
    if not inflater.eof:
        return out, "compressed stream is truncated; the readable start was kept"
    return out, None


def printable_text(data: bytes) -> str | None:
    """``data`` as text when it is UTF-8 without control characters (bar tab/newlines/NUL end)."""
    stripped = data.rstrip(b"\0")
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        return None
    return text

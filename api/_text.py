"""Text a terminal can show safely."""

from __future__ import annotations

import sys

__all__ = ["out", "printable"]

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127) if c != 10}


def printable(text: str) -> str:
    """``text`` with control characters (but newlines) escaped: file contents never drive the
    terminal (no cursor moves, no colours, no rewritten lines)."""
    return text.translate(_CONTROL)


def out(line: str = "") -> None:
    """Print one line of command output (made printable), flushed so pipes see it at once."""
    sys.stdout.write(printable(line) + "\n")
    sys.stdout.flush()

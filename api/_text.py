"""Text a terminal can show safely."""

from __future__ import annotations

__all__ = ["printable"]

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127) if c != 10}


def printable(text: str) -> str:
    """``text`` with control characters (but newlines) escaped: file contents never drive the
    terminal (no cursor moves, no colours, no rewritten lines)."""
    return text.translate(_CONTROL)

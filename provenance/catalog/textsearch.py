"""Prompt text as search tokens, the same on every database engine.

Chinese, Japanese and Korean text has no spaces, so every character and every pair of adjacent
characters becomes a token: a two-character word inside a long prompt is then one
exact token: ``橘猫`` in ``一只橘猫坐在窗台上``.
Other text gives lower-cased words. A query is tokenized the same way and matches records
holding *all* its tokens; a longer Chinese query is the set of its
bigrams. SQLite indexes the token string with FTS5, PostgreSQL with a ``tsvector('simple')`` GIN
index: the same tokens, so the same results.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_QUERY_TOKENS", "query_tokens", "search_text", "tokens"]

MAX_QUERY_TOKENS = 32

_CJK = (
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
)
_PIECES = re.compile(f"([{_CJK}]+)|([^\\W_]+)")
_CJK_RUN = re.compile(f"[{_CJK}]+")


def tokens(text: str) -> list[str]:
    """Tokens of ``text`` in order: CJK characters and bigrams, and lower-cased words."""
    text = unicodedata.normalize("NFKC", text)
    out: list[str] = []
    for cjk, word in _PIECES.findall(text):
        if cjk:
            out.extend(cjk)
            out.extend(cjk[i : i + 2] for i in range(len(cjk) - 1))
        else:
            out.append(word.casefold())
    return out


def search_text(*parts: str) -> str:
    """The indexed token string for a record (prompt, negative prompt, model ...)."""
    return " ".join(t for part in parts for t in tokens(part))


def query_tokens(query: str) -> list[str]:
    """The tokens a query must all match (deduplicated, at most ``MAX_QUERY_TOKENS``).

    A CJK run of two or more characters is matched by its bigrams; a single character by itself.
    """
    text = unicodedata.normalize("NFKC", query)
    wanted: list[str] = []
    for cjk, word in _PIECES.findall(text):
        if cjk:
            grams = [cjk] if len(cjk) == 1 else [cjk[i : i + 2] for i in range(len(cjk) - 1)]
            wanted.extend(grams)
        else:
            wanted.append(word.casefold())
    unique = list(dict.fromkeys(wanted))
    return unique[:MAX_QUERY_TOKENS]

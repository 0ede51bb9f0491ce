"""RFC 8785 (JSON Canonicalization Scheme) bytes of a record, fast.

Records are signed as their RFC 8785 bytes. The reference implementation (``rfc8785``) is pure
Python and, at about half a millisecond per record, was the largest cost of ``import`` after
the file read. :func:`canonical_json` produces the same bytes through the standard library's C
encoder whenever that is provably identical, and hands everything else to ``rfc8785``:

* strings: both escape exactly ``"``, ``\\``, the short forms ``\\b \\f \\n \\r \\t`` and other
  C0 controls as lowercase ``\\u00xx``, and write everything else as UTF-8;
* object keys: RFC 8785 orders them by UTF-16 code units, Python by code points; the two orders
  differ only for characters above U+FFFF, so keys holding one take the slow path;
* integers: the same digits, within RFC 8785's domain of ±(2**53 - 1);
* floats: an integral float within that domain is written as the integer (``7.0`` -> ``7``,
  ``-0.0`` -> ``0``), as ECMAScript does; a non-integral float whose Python ``repr`` has no
  exponent is already ECMAScript's shortest form; all other floats take the slow path.

``tests/provenance/test_canonical.py`` compares the two on generated values.
"""

from __future__ import annotations

import json
import math
from typing import Any

import rfc8785

__all__ = ["MAX_SAFE_INTEGER", "canonical_json"]

#: The largest integer RFC 8785 (I-JSON, an IEEE 754 double) represents exactly.
MAX_SAFE_INTEGER = 2**53 - 1
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class _SlowPath(Exception):
    """The value holds something the C encoder would write differently."""


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 serialization of ``value`` (raises ``rfc8785.CanonicalizationError`` for
    values RFC 8785 cannot represent, like the reference implementation)."""
    try:
        return _ENCODER.encode(_prepared(value)).encode("utf-8")
    except (_SlowPath, UnicodeEncodeError, ValueError, TypeError):
        return rfc8785.dumps(value)


def _prepared(value: Any) -> Any:
    if value is None or value is True or value is False or type(value) is str:
        return value
    if type(value) is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        raise _SlowPath
    if type(value) is float:
        if math.isfinite(value):
            if value.is_integer():
                if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
                    return int(value)
            elif "e" not in repr(value):
                return value
        raise _SlowPath
    if type(value) is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or (not key.isascii() and max(key) > "\uffff"):
                raise _SlowPath
            out[key] = _prepared(item)
        return out
    if type(value) is list or type(value) is tuple:
        return [_prepared(item) for item in value]
    raise _SlowPath

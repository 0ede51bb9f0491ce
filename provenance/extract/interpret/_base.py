"""What every interpreter shares: a view of the container values by key, the result type, and
lenient conversions that return None instead of raising.

An interpreter is a function ``read(ctx) -> Found | None``: None when the file holds nothing it
recognises, a :class:`Found` otherwise. It reads values by *key*, the last part of a location
(``parameters`` for ``png:tEXt:parameters`` and ``png:zTXt:parameters#2``, ``UserComment`` for
``jpeg:exif:ExifIFD:UserComment`` and ``webp:exif:IFD0:UserComment``), so the same code serves
every container.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from provenance.extract.model import ContainerMetadata, RawValue

__all__ = [
    "MAX_JSON_CHARS",
    "Context",
    "Found",
    "as_float",
    "as_int",
    "as_size",
    "as_text",
    "key_of",
    "leftovers",
    "load_json",
    "map_fields",
    "normalize",
    "pick",
]

#: JSON larger than this is not parsed (ComfyUI workflows with embedded images reach megabytes).
MAX_JSON_CHARS = 32 << 20

_TEXT_CHUNKS = frozenset({"tEXt", "zTXt", "iTXt", "comf"})
_REPEAT = re.compile(r"#\d+$")


def key_of(location: str) -> str:
    """The key a location holds: the PNG keyword (which may contain ``:``) or the EXIF tag name."""
    location = _REPEAT.sub("", location)
    parts = location.split(":")
    if len(parts) >= 3 and parts[1] in _TEXT_CHUNKS:
        return ":".join(parts[2:])
    return parts[-1]


@dataclass
class Found:
    """What one interpreter understood. ``generation`` holds some of GENERATION_KEYS."""

    tool: str | None
    version: str | None = None
    generation: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the location(s) it read, for conflict reports
    problems: list[str] = field(default_factory=list)


class Context:
    """The container metadata of one file, indexed by key, with parsed JSON cached."""

    def __init__(self, meta: ContainerMetadata, data: bytes | memoryview | None = None) -> None:
        self.meta = meta
        self.data = data
        self._by_key: dict[str, list[RawValue]] = {}
        for value in meta.values:
            key = key_of(value.location)
            if value.text is None and value.data is not None and key == "stealth":
                value = _decoded_stealth(value)
            self._by_key.setdefault(key, []).append(value)
        self._json: dict[str, Any] = {}

    def keys(self) -> set[str]:
        return set(self._by_key)

    def has(self, key: str) -> bool:
        return any(v.text is not None for v in self._by_key.get(key, ()))

    def text(self, key: str) -> str | None:
        """The first text value under ``key``."""
        for value in self._by_key.get(key, ()):
            if value.text is not None:
                return value.text
        return None

    def text_or_ascii(self, key: str) -> str | None:
        """The first value under ``key`` as text; opaque bytes are read as ASCII (NULs dropped)."""
        for value in self._by_key.get(key, ()):
            if value.text is not None:
                return value.text
            if value.data is not None:
                return value.data.replace(b"\0", b"").decode("ascii", errors="replace")
        return None

    def item(self, key: str) -> tuple[str, str] | None:
        """The first (location, text) under ``key``."""
        for value in self._by_key.get(key, ()):
            if value.text is not None:
                return value.location, value.text
        return None

    def items(self, key: str) -> list[tuple[str, str]]:
        return [(v.location, v.text) for v in self._by_key.get(key, ()) if v.text is not None]

    def all_texts(self) -> Iterator[tuple[str, str]]:
        """Every (location, text) in file order."""
        for value in self.meta.values:
            if value.text is not None:
                yield value.location, value.text

    def raw_values(self, key: str) -> list[RawValue]:
        return list(self._by_key.get(key, ()))

    def json(self, text: str) -> Any:
        """``text`` parsed as a JSON object or array (cached), or None."""
        if text not in self._json:
            self._json[text] = load_json(text)
        return self._json[text]

    def json_object(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """The first value under ``key`` that is a JSON object, with its location."""
        for location, text in self.items(key):
            parsed = self.json(text)
            if isinstance(parsed, dict):
                return location, parsed
        return None


def _decoded_stealth(value: RawValue) -> RawValue:
    """A stealth payload given as bytes: gunzip it if it is gzip, then read it as UTF-8."""
    data = value.data or b""
    if data[:2] == b"\x1f\x8b":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(data, MAX_JSON_CHARS)
        except zlib.error:
            return value
    text = data.decode("utf-8", errors="replace")
    return RawValue(value.location, text=text, data=value.data, note=value.note)


def load_json(text: str) -> Any:
    """A JSON object or array, or None for anything else (never raises).

    Surrounding whitespace and NUL bytes (TensorArt ends its JSON with one) are ignored.
    """
    stripped = text.strip(" \t\r\n\x00")
    if not stripped or stripped[0] not in "{[" or len(stripped) > MAX_JSON_CHARS:
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return None


def as_int(value: Any) -> int | None:
    """An integer from an int, an integral float or a decimal string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d{1,30}", text):
            return int(text)
        if re.fullmatch(r"[+-]?\d{1,30}\.0*", text):
            return int(text.split(".")[0])
    return None


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def as_float(value: Any) -> float | None:
    """A finite number from a number or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    numeric = isinstance(value, int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value) is not None
    )
    if not numeric:
        return None
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def as_text(value: Any) -> str | None:
    """A string as it was written; numbers as their usual text; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


_SIZE = re.compile(r"^\s*[(\[]?\s*(\d{1,6})\s*[x×*,]\s*(\d{1,6})\s*[)\]]?\s*$")


def as_size(value: Any) -> tuple[int, int] | None:
    """Width and height from ``"1024x768"``, ``"1024 x 768"``, ``"(768, 1280)"`` or a pair."""
    if isinstance(value, list | tuple) and len(value) == 2:
        width, height = as_int(value[0]), as_int(value[1])
        return (width, height) if width is not None and height is not None else None
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def pick(data: Mapping[str, Any], names: Iterable[str]) -> tuple[str, Any] | None:
    """The first of ``names`` present in ``data`` (exact names first, then ignoring case)."""
    names = list(names)
    for name in names:
        if name in data:
            return name, data[name]
    lowered = {k.lower(): k for k in data}
    for name in names:
        key = lowered.get(name.lower())
        if key is not None:
            return key, data[key]
    return None


def map_fields(
    data: Mapping[str, Any], spec: Mapping[str, Iterable[str]]
) -> tuple[dict[str, Any], set[str]]:
    """Generation fields from a JSON object by synonyms, and the keys used.

    ``spec`` maps a generation key (or ``"size"`` for a ``WxH`` value) to the names a tool uses.
    Values are kept as written; :func:`normalize` converts them.
    """
    generation: dict[str, Any] = {}
    used: set[str] = set()
    for target, names in spec.items():
        hit = pick(data, names)
        if hit is None:
            continue
        name, value = hit
        if target == "size":
            size = as_size(value)
            if size is None:
                continue
            generation.setdefault("width", size[0])
            generation.setdefault("height", size[1])
        else:
            generation[target] = value
        used.add(name)
    return generation, used


def leftovers(data: Mapping[str, Any], used: Iterable[str]) -> dict[str, Any]:
    """The entries of ``data`` not in ``used``, as found (kept for ``extra``)."""
    skip = set(used)
    return {k: v for k, v in data.items() if k not in skip}


_TEXT_FIELDS = ("prompt", "negative_prompt", "sampler", "scheduler", "model", "model_hash")


def normalize(generation: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Exactly ``keys``, each converted to its type or None (blank text counts as absent)."""
    out: dict[str, Any] = {}
    for key in keys:
        value = generation.get(key)
        if key in _TEXT_FIELDS:
            text = as_text(value)
            out[key] = text if text is not None and text.strip() else None
        elif key == "seed":
            seed = as_int(value)
            out[key] = seed if seed is not None and seed >= 0 else None
        elif key in ("steps", "width", "height"):
            number = as_int(value)
            out[key] = number if number is not None and number > 0 else None
        elif key == "cfg_scale":
            out[key] = as_float(value)
        else:
            out[key] = value
    return out

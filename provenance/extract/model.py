"""What the container readers find, before anyone interprets it.

Readers (:mod:`provenance.extract.containers`) are lenient: they keep every piece of metadata
verbatim under its container location and note what they could not read, and never raise on odd
input. Interpreters (:mod:`provenance.extract.interpret`) then decide which tool wrote it and what
the generation parameters were (:class:`Extraction`).

Locations are stable strings that name where a value was found, for example:

- ``png:tEXt:parameters`` / ``png:iTXt:parameters`` / ``png:zTXt:prompt`` (text chunks; the same
  keyword twice gets ``#2``), ``png:comf:prompt`` (ComfyUI's private chunk), ``png:caBX`` (C2PA),
  ``png:eXIf:IFD0:Model`` (EXIF in PNG), ``png:stealth`` (NovelAI/Forge alpha-channel payload);
- ``jpeg:exif:IFD0:ImageDescription``, ``jpeg:exif:ExifIFD:UserComment``, ``jpeg:xmp``,
  ``jpeg:com``, ``jpeg:app11`` (C2PA JUMBF);
- ``webp:exif:IFD0:Model``, ``webp:exif:ExifIFD:UserComment``, ``webp:xmp``, ``webp:c2pa``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["GENERATION_KEYS", "ContainerMetadata", "Extraction", "Label", "RawValue"]

Format = Literal["png", "jpeg", "webp"]

#: The keys of the normalized ``generation`` object, always all present (None when absent).
GENERATION_KEYS = (
    "prompt",
    "negative_prompt",
    "seed",
    "steps",
    "cfg_scale",
    "sampler",
    "scheduler",
    "width",
    "height",
    "model",
    "model_hash",
)


@dataclass(frozen=True)
class RawValue:
    """One piece of metadata as found: text (decoded as its container says) or opaque bytes.

    ``note`` says how it was decoded when that was a guess or a repair (e.g. ``"raw UTF-8 in
    tEXt"``, ``"UserComment UNICODE, UTF-16LE by content"``).
    """

    location: str
    text: str | None = None
    data: bytes | None = None
    note: str | None = None

    def to_json(self) -> Any:
        if self.text is not None:
            return self.text if self.note is None else {"text": self.text, "note": self.note}
        size = 0 if self.data is None else len(self.data)
        return {"bytes": size, "note": self.note}


@dataclass
class ContainerMetadata:
    """Everything one container reader found in a file, in file order."""

    format: Format | None
    width: int | None = None
    height: int | None = None
    has_alpha: bool = False
    values: list[RawValue] = field(default_factory=list)
    xmp: list[str] = field(default_factory=list)  # XMP packets, verbatim
    c2pa: list[str] = field(default_factory=list)  # locations of C2PA manifests (JUMBF)
    problems: list[str] = field(default_factory=list)  # what could not be read, one sentence each

    def get(self, location: str) -> str | None:
        """The first text value at ``location`` exactly."""
        for value in self.values:
            if value.location == location and value.text is not None:
                return value.text
        return None

    def find(self, suffix: str) -> list[RawValue]:
        """Every value whose location ends with ``suffix`` (e.g. ``":parameters"``)."""
        return [v for v in self.values if v.location.endswith(suffix)]

    def raw(self) -> dict[str, Any]:
        """``raw`` for ``inspect --json``: location -> value (lists when repeated)."""
        out: dict[str, Any] = {}
        for value in self.values:
            out[value.location] = value.to_json()
        if self.xmp:
            out["xmp"] = self.xmp if len(self.xmp) > 1 else self.xmp[0]
        if self.problems:
            out["problems"] = list(self.problems)
        return out


@dataclass(frozen=True)
class Label:
    """An AI-content label found in the file."""

    scheme: Literal["iptc", "tc260", "c2pa"]
    value: Any  # IPTC: the DigitalSourceType URI; TC260: the AIGC JSON object; C2PA: location
    location: str

    def to_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "value": self.value, "location": self.location}


@dataclass
class Extraction:
    """One normalized view of a file's generation metadata, whoever wrote it."""

    tool: dict[str, str | None]  # {"name": ..., "version": ...}; name None when unknown
    generation: dict[str, Any]  # exactly GENERATION_KEYS
    raw: dict[str, Any]
    labels: list[Label] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # understood fields beyond the 11 keys

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "generation": self.generation,
            "labels": [label.to_dict() for label in self.labels],
            "extra": self.extra,
            "raw": self.raw,
        }

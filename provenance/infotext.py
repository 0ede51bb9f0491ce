"""A1111-compatible ``parameters`` infotext, written the way the webui writes it.

Layout: the prompt, then ``Negative prompt: ...`` when there is one, then one line of
``Key: value`` entries joined by ``", "``. A value containing ``,``, ``:`` or a newline is
written as a JSON string, as the webui's ``quote()`` does, so every infotext reader (Civitai,
sd-parsers, the webui's PNG Info) reads our prompt and settings. ``Sampler`` is always present:
readers such as sd-parsers ignore an infotext without it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["format_number", "make_infotext"]


def format_number(value: float | int) -> str:
    """Shortest text for a number: 7 for 7.0, 3.5 for 3.5."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _quote(value: str) -> str:
    if "," in value or ":" in value or "\n" in value:
        return json.dumps(value, ensure_ascii=False)
    return value


def make_infotext(record: Mapping[str, Any]) -> str:
    """The ``parameters`` text for a v1 record."""
    gen = record["generation"]
    model = record["model"]
    entries: list[tuple[str, Any]] = [
        ("Steps", gen.get("num_inference_steps")),
        ("Sampler", gen.get("sampler") or "Unknown"),
        ("CFG scale", None if gen.get("cfg_scale") is None else format_number(gen["cfg_scale"])),
        ("Seed", gen.get("seed")),
        ("Size", _size(gen, record["content"])),
        ("Model", model.get("name")),
        ("Denoising strength", gen.get("strength")),
        ("Version", f"{record['software']['name']} {record['software']['version']}"),
        ("Record", record["record_id"]),
    ]
    params = ", ".join(
        k if str(v) == k else f"{k}: {_quote(str(v))}" for k, v in entries if v is not None
    )
    text: str = gen["prompt"]
    if gen.get("negative_prompt"):
        text += "\nNegative prompt: " + gen["negative_prompt"]
    return (text + "\n" + params).strip()


def _size(gen: Mapping[str, Any], content: Mapping[str, Any]) -> str:
    width = gen.get("width") or content["width"]
    height = gen.get("height") or content["height"]
    return f"{width}x{height}"

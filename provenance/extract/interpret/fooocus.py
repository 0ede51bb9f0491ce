"""Fooocus (both metadata schemes) and RuinedFooocus.

Fooocus writes ``parameters`` plus ``fooocus_scheme`` in PNG; in JPEG/WebP it writes three IFD0
entries: ``UserComment`` (the text, ASCII, no charset prefix), ``MakerNote`` (the scheme) and
``Software`` (``Fooocus v2.x``). Scheme ``fooocus`` is sorted JSON (``prompt``,
``negative_prompt``, ``seed`` as a string, ``guidance_scale``, ``resolution`` as a Python tuple
string ``"(768, 1280)"``, ``base_model``, ``version`` ...); scheme ``a1111`` is an infotext whose
prompt is the full expanded prompt and whose ``Raw prompt`` / ``Raw negative prompt`` hold what
the user typed — those are taken as the prompts, as in the JSON scheme.

RuinedFooocus writes ``parameters`` JSON with ``Prompt``, ``Negative``, ``cfg``,
``base_model_name`` and ``"software": "RuinedFooocus"``.
"""

from __future__ import annotations

from typing import Any

from provenance.extract.interpret._base import (
    Context,
    Found,
    as_text,
    leftovers,
    load_json,
    map_fields,
)
from provenance.extract.interpret.a1111 import found_from_infotext, parse_infotext

__all__ = ["from_fooocus_json", "from_ruined_json", "is_fooocus_json", "is_ruined_json", "read"]

_FOOOCUS_FIELDS = {
    "prompt": ("prompt",),
    "negative_prompt": ("negative_prompt",),
    "seed": ("seed",),
    "steps": ("steps",),
    "cfg_scale": ("guidance_scale",),
    "sampler": ("sampler",),
    "scheduler": ("scheduler",),
    "size": ("resolution",),
    "model": ("base_model",),
    "model_hash": ("base_model_hash",),
}
_RUINED_FIELDS = {
    "prompt": ("Prompt",),
    "negative_prompt": ("Negative",),
    "seed": ("seed",),
    "steps": ("steps",),
    "cfg_scale": ("cfg",),
    "sampler": ("sampler_name",),
    "scheduler": ("scheduler",),
    "width": ("width",),
    "height": ("height",),
    "model": ("base_model_name",),
    "model_hash": ("base_model_hash",),
}


def is_fooocus_json(data: dict[str, Any]) -> bool:
    version = as_text(data.get("version")) or ""
    return (
        data.get("metadata_scheme") == "fooocus"
        or version.startswith("Fooocus")
        or ("base_model" in data and "prompt" in data and "guidance_scale" in data)
    )


def is_ruined_json(data: dict[str, Any]) -> bool:
    return data.get("software") == "RuinedFooocus" or (
        "Prompt" in data and "Negative" in data and "base_model_name" in data
    )


def from_fooocus_json(location: str, data: dict[str, Any]) -> Found:
    generation, used = map_fields(data, _FOOOCUS_FIELDS)
    used.add("version")
    return Found(
        "fooocus", as_text(data.get("version")), generation, leftovers(data, used), location
    )


def from_ruined_json(location: str, data: dict[str, Any]) -> Found:
    generation, used = map_fields(data, _RUINED_FIELDS)
    return Found("ruined-fooocus", None, generation, leftovers(data, used), location)


def _from_infotext(location: str, text: str) -> Found:
    info = parse_infotext(text)
    found = found_from_infotext(info, location, tool="fooocus")
    for target, key in (("prompt", "Raw prompt"), ("negative_prompt", "Raw negative prompt")):
        raw = found.extra.get(key)
        if isinstance(raw, str):
            found.extra[f"full_{target}"] = found.generation.get(target)
            found.generation[target] = raw
            del found.extra[key]
    return found


def read(ctx: Context) -> Found | None:
    """Fooocus, identified by its scheme marker (PNG chunk or JPEG/WebP MakerNote)."""
    scheme = ctx.text("fooocus_scheme")
    key = "parameters"
    if scheme is None:
        software = (ctx.text("Software") or "").strip()
        maker_note = (ctx.text_or_ascii("MakerNote") or "").strip()
        if not (software.startswith("Fooocus") and maker_note in ("fooocus", "a1111")):
            return None
        scheme, key = maker_note, "UserComment"
    item = ctx.item(key) or ctx.item("parameters")
    if item is None:
        return Found("fooocus", None, {}, {"metadata_scheme": scheme.strip()}, "")
    location, text = item
    data = load_json(text)
    if isinstance(data, dict):
        found = from_fooocus_json(location, data)
    else:
        found = _from_infotext(location, text)
    found.tool = "fooocus"
    if found.version is None:
        software = (ctx.text("Software") or "").strip()
        found.version = software or None
    return found

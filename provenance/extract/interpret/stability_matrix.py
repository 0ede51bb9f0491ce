"""Stability Matrix: ``parameters`` infotext (raw UTF-8 in tEXt, ``\\r\\n`` line ends),
``parameters-json`` (``PositivePrompt``, ``NegativePrompt``, ``CfgScale`` ...), ``smproj``
(the project) and a ComfyUI ``prompt`` graph.

The infotext is the primary source (prompts exactly as written); ``parameters-json`` fills what
it lacks.
"""

from __future__ import annotations

from provenance.extract.interpret._base import Context, Found, leftovers, map_fields
from provenance.extract.interpret.a1111 import found_from_infotext, parse_infotext

__all__ = ["read"]

_JSON_FIELDS = {
    "prompt": ("PositivePrompt",),
    "negative_prompt": ("NegativePrompt",),
    "seed": ("Seed",),
    "steps": ("Steps",),
    "cfg_scale": ("CfgScale",),
    "sampler": ("Sampler",),
    "width": ("Width",),
    "height": ("Height",),
    "model": ("ModelName",),
    "model_hash": ("ModelHash",),
}


def read(ctx: Context) -> Found | None:
    if not (ctx.has("smproj") or ctx.has("parameters-json")):
        return None
    found: Found | None = None
    item = ctx.item("parameters")
    if item is not None and ctx.json(item[1]) is None:
        found = found_from_infotext(parse_infotext(item[1]), item[0], tool="stability-matrix")
    params = ctx.json_object("parameters-json")
    if params is not None:
        location, data = params
        generation, used = map_fields(data, _JSON_FIELDS)
        if found is None:
            found = Found("stability-matrix", None, generation, leftovers(data, used), location)
        else:
            for key, value in generation.items():
                if found.generation.get(key) is None:
                    found.generation[key] = value
    return found or Found("stability-matrix", None, {}, {}, "")

"""TensorArt: ``generation_data`` JSON (raw UTF-8 in tEXt), next to a ComfyUI ``prompt`` graph.

Fields: ``prompt``, ``negativePrompt``, ``width``, ``height``, ``steps``, ``cfgScale``, ``seed``
(a string; ``"-1"`` when the seed was random, in which case the graph's seed is the one used),
``ksamplerName``, ``schedule``, ``baseModel.modelFileName`` and ``baseModel.hash``.
"""

from __future__ import annotations

from provenance.extract.interpret._base import Context, Found, as_text, leftovers, map_fields

__all__ = ["read"]

_FIELDS = {
    "prompt": ("prompt",),
    "negative_prompt": ("negativePrompt",),
    "seed": ("seed",),
    "steps": ("steps",),
    "cfg_scale": ("cfgScale",),
    "sampler": ("ksamplerName", "samplerName", "sampler"),
    "scheduler": ("schedule", "scheduler"),
    "width": ("width",),
    "height": ("height",),
}


def read(ctx: Context) -> Found | None:
    item = ctx.json_object("generation_data")
    if item is None:
        return None
    location, data = item
    generation, used = map_fields(data, _FIELDS)
    base = data.get("baseModel")
    if isinstance(base, dict):
        generation["model"] = as_text(base.get("modelFileName")) or as_text(base.get("label"))
        generation["model_hash"] = as_text(base.get("hash"))
    return Found("tensorart", None, generation, leftovers(data, used), location)

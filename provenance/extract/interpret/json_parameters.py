"""``parameters`` holding JSON instead of infotext: Fooocus (no scheme chunk), RuinedFooocus,
Hugging Face Spaces (Gradio demos), and anything else with recognisable keys.

A Hugging Face Space writes ``prompt``, ``negative_prompt``, ``resolution`` (``"1024 x 1024"``),
``guidance_scale``, ``num_inference_steps``, ``seed``, ``sampler``, ``Model`` and ``Model hash``.
JSON from an unknown tool is read by common key names and reported with no tool name.
"""

from __future__ import annotations

from provenance.extract.interpret._base import Context, Found, leftovers, map_fields
from provenance.extract.interpret.fooocus import (
    from_fooocus_json,
    from_ruined_json,
    is_fooocus_json,
    is_ruined_json,
)

__all__ = ["read"]

_HF_FIELDS = {
    "prompt": ("prompt",),
    "negative_prompt": ("negative_prompt",),
    "seed": ("seed",),
    "steps": ("num_inference_steps", "steps"),
    "cfg_scale": ("guidance_scale",),
    "sampler": ("sampler",),
    "size": ("resolution",),
    "width": ("width",),
    "height": ("height",),
    "model": ("Model",),
    "model_hash": ("Model hash",),
}
_GENERIC_FIELDS = {
    "prompt": ("prompt", "positive_prompt", "positivePrompt", "PositivePrompt"),
    "negative_prompt": ("negative_prompt", "negativePrompt", "NegativePrompt", "negative"),
    "seed": ("seed", "noise_seed"),
    "steps": ("steps", "num_inference_steps", "num_steps"),
    "cfg_scale": ("cfg_scale", "cfgScale", "guidance_scale", "cfg", "scale"),
    "sampler": ("sampler", "sampler_name", "samplerName"),
    "scheduler": ("scheduler", "schedule"),
    "size": ("resolution", "size"),
    "width": ("width",),
    "height": ("height",),
    "model": ("model", "model_name", "modelName", "checkpoint"),
    "model_hash": ("model_hash", "modelHash"),
}


def read(ctx: Context) -> Found | None:
    item = ctx.json_object("parameters")
    if item is None:
        return None
    location, data = item
    if is_ruined_json(data):
        return from_ruined_json(location, data)
    if is_fooocus_json(data):
        return from_fooocus_json(location, data)
    if "Model" in data and "resolution" in data:
        generation, used = map_fields(data, _HF_FIELDS)
        return Found("hf-space", None, generation, leftovers(data, used), location)
    generation, used = map_fields(data, _GENERIC_FIELDS)
    if not generation:
        return None
    return Found(None, None, generation, leftovers(data, used), location)

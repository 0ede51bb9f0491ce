"""Easy Diffusion (``embed`` metadata option; the default writes a sidecar only).

PNG: one text chunk per field, named by the request keys (``prompt``, ``negative_prompt``,
``use_stable_diffusion_model``, ``num_inference_steps``, ``guidance_scale`` ...) or, with
``embed,txt``, by their display names (``Prompt``, ``Negative Prompt``, ``Stable Diffusion
model``, ``Steps``, ``Guidance Scale`` ...). JPEG/WebP: EXIF ``UserComment`` holding the same
keys as JSON. The marker is ``use_stable_diffusion_model`` (or its display name, or a
``Negative Prompt`` key).
"""

from __future__ import annotations

from typing import Any

from provenance.extract.interpret._base import Context, Found, leftovers, map_fields

__all__ = ["read"]

_FIELDS = {
    "prompt": ("prompt", "Prompt"),
    "negative_prompt": ("negative_prompt", "Negative Prompt"),
    "seed": ("seed", "Seed"),
    "steps": ("num_inference_steps", "Steps"),
    "cfg_scale": ("guidance_scale", "Guidance Scale"),
    "sampler": ("sampler_name", "Sampler", "sampler"),
    "scheduler": ("scheduler_name",),
    "width": ("width", "Width"),
    "height": ("height", "Height"),
    "model": ("use_stable_diffusion_model", "Stable Diffusion model"),
}
_MARKERS = ("use_stable_diffusion_model", "Stable Diffusion model", "Negative Prompt")


def _from_fields(location: str, data: dict[str, Any]) -> Found:
    generation, used = map_fields(data, _FIELDS)
    return Found("easydiffusion", None, generation, leftovers(data, used), location)


def read(ctx: Context) -> Found | None:
    if any(ctx.has(marker) for marker in _MARKERS):
        keys = sorted(ctx.keys())
        fields = {k: ctx.text(k) for k in keys if ctx.text(k) is not None}
        marker = ctx.item(next(m for m in _MARKERS if ctx.has(m)))
        return _from_fields(marker[0] if marker else "", fields)
    for key in ("UserComment", "parameters"):
        for location, text in ctx.items(key):
            if "use_stable_diffusion_model" not in text:
                continue
            data = ctx.json(text)
            if isinstance(data, dict) and "use_stable_diffusion_model" in data:
                return _from_fields(location, data)
    return None

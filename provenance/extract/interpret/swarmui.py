"""SwarmUI: a JSON object with ``sui_image_params`` (PNG ``parameters``, EXIF ``UserComment``;
before 0.5.8 EXIF IFD0 ``Model``), plus ``sui_extra_data`` and ``sui_models``.

Parameter ids are lower-case (``prompt``, ``negativeprompt``, ``cfgscale``, ``swarm_version``)
and values may be strings. The model hash comes from the ``sui_models`` entry whose ``param`` is
``model``.
"""

from __future__ import annotations

from typing import Any

from provenance.extract.interpret._base import Context, Found, as_text, leftovers, map_fields

__all__ = ["read"]

_FIELDS = {
    "prompt": ("prompt",),
    "negative_prompt": ("negativeprompt",),
    "seed": ("seed",),
    "steps": ("steps",),
    "cfg_scale": ("cfgscale",),
    "sampler": ("sampler",),
    "scheduler": ("scheduler",),
    "width": ("width",),
    "height": ("height",),
    "model": ("model",),
}


def read(ctx: Context) -> Found | None:
    for location, text in ctx.all_texts():
        if "sui_image_params" not in text:
            continue
        data = ctx.json(text)
        if not isinstance(data, dict) or not isinstance(data.get("sui_image_params"), dict):
            continue
        params: dict[str, Any] = data["sui_image_params"]
        generation, used = map_fields(params, _FIELDS)
        used.add("swarm_version")
        extra = leftovers(params, used)
        for key in ("sui_extra_data", "sui_models"):
            if key in data:
                extra[key] = data[key]
        models = data.get("sui_models")
        if isinstance(models, list):
            for model in models:
                if isinstance(model, dict) and model.get("param") == "model":
                    generation["model_hash"] = as_text(model.get("hash"))
                    break
        return Found("swarmui", as_text(params.get("swarm_version")), generation, extra, location)
    return None

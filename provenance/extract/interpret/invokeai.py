"""InvokeAI: ``invokeai_metadata`` (3.x and later), ``sd-metadata`` (2.x) and ``Dream`` (1.x/2.x).

* ``invokeai_metadata``: compact JSON. ``model`` is ``{"model_name", "base_model", "model_type"}``
  up to early 2024 (3.x) and ``{"key", "hash", "name", "base", "type"}`` since (4.x on); the
  ``scheduler`` field names what other tools call the sampler (``euler_a``).
* ``sd-metadata``: JSON with ``model_weights``, ``model_hash``, ``app_version`` and an ``image``
  object whose ``prompt`` is a list of ``{"prompt", "weight"}``.
* ``Dream``: ``"prompt [negative terms]" -s 50 -S 123 -W 512 -H 768 -C 5 -A k_lms ...``. The
  negative terms are the ``[...]`` parts of the prompt; the prompt as written is kept in
  ``extra["prompt_with_negative"]``.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from provenance.extract.interpret._base import Context, Found, as_text, leftovers, map_fields

__all__ = ["parse_dream", "read", "split_negative"]

_METADATA_FIELDS = {
    "prompt": ("positive_prompt",),
    "negative_prompt": ("negative_prompt",),
    "seed": ("seed",),
    "steps": ("steps",),
    "cfg_scale": ("cfg_scale",),
    "sampler": ("scheduler",),
    "width": ("width",),
    "height": ("height",),
}
_DREAM_SWITCHES = {
    "-s": "steps",
    "--steps": "steps",
    "-S": "seed",
    "--seed": "seed",
    "-W": "width",
    "--width": "width",
    "-H": "height",
    "--height": "height",
    "-C": "cfg_scale",
    "--cfg_scale": "cfg_scale",
    "-A": "sampler",
    "--sampler": "sampler",
}
_BRACKETED = re.compile(r"\[([^\[\]]*)\]")


def split_negative(prompt: str) -> tuple[str, str | None]:
    """InvokeAI 1.x/2.x: ``[...]`` parts of a prompt are negative terms."""
    negatives = _BRACKETED.findall(prompt)
    if not negatives:
        return prompt, None
    return _BRACKETED.sub("", prompt).strip(), ", ".join(n.strip() for n in negatives)


def parse_dream(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Generation fields and other switches from a ``Dream`` command line."""
    match = re.match(r'\s*"((?:[^"\\]|\\.)*)"(.*)\Z', text, re.DOTALL)
    if match:
        prompt_full = re.sub(r"\\(.)", r"\1", match.group(1))
        rest = match.group(2)
    else:
        cut = re.search(r"\s-{1,2}[A-Za-z]", text)
        prompt_full = text[: cut.start()] if cut else text
        rest = text[cut.start() :] if cut else ""
    try:
        tokens = shlex.split(rest)
    except ValueError:
        tokens = rest.split()
    generation: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    switch: str | None = None
    values: list[str] = []

    def flush() -> None:
        if switch is None:
            return
        value = " ".join(values) if values else True
        if switch in _DREAM_SWITCHES:
            generation[_DREAM_SWITCHES[switch]] = value
        else:
            extra[switch] = value

    for token in tokens:
        if re.match(r"-{1,2}[A-Za-z]", token):
            flush()
            switch, values = token, []
        else:
            values.append(token)
    flush()
    prompt, negative = split_negative(prompt_full)
    generation["prompt"] = prompt
    generation["negative_prompt"] = negative
    if negative is not None:
        extra["prompt_with_negative"] = prompt_full
    return generation, extra


def _from_metadata(location: str, data: dict[str, Any]) -> Found:
    generation, used = map_fields(data, _METADATA_FIELDS)
    extra: dict[str, Any] = {}
    model = data.get("model")
    if isinstance(model, dict):  # 3.x: model_name; 4.x on: name and hash ("blake3:...")
        generation["model"] = as_text(model.get("name", model.get("model_name")))
        generation["model_hash"] = as_text(model.get("hash"))
        used.add("model")
        info = {k: v for k, v in model.items() if k not in ("name", "model_name", "hash")}
        if info:
            extra["model_info"] = info
    elif isinstance(model, str):
        generation["model"] = model
        used.add("model")
    version = as_text(data.get("app_version"))
    used.add("app_version")
    extra.update(leftovers(data, used))
    return Found("invokeai", version, generation, extra, location)


def _from_sd_metadata(location: str, data: dict[str, Any]) -> Found:
    image_value = data.get("image")
    image: dict[str, Any] = image_value if isinstance(image_value, dict) else {}
    generation, used = map_fields(
        image,
        {
            "seed": ("seed",),
            "steps": ("steps",),
            "cfg_scale": ("cfg_scale",),
            "sampler": ("sampler",),
            "width": ("width",),
            "height": ("height",),
        },
    )
    prompt = image.get("prompt")
    if isinstance(prompt, list):
        parts = [p for p in prompt if isinstance(p, dict) and isinstance(p.get("prompt"), str)]
        if len(parts) == 1:
            prompt = parts[0]["prompt"]
        elif parts:
            prompt = " ".join(f"{p['prompt']}:{p.get('weight', 1)}" for p in parts)
        else:
            prompt = None
    extra: dict[str, Any] = {}
    if isinstance(prompt, str):
        text, negative = split_negative(prompt)
        generation["prompt"], generation["negative_prompt"] = text, negative
        if negative is not None:
            extra["prompt_with_negative"] = prompt
    used.add("prompt")
    generation["model"] = as_text(data.get("model_weights"))
    generation["model_hash"] = as_text(data.get("model_hash"))
    extra.update(leftovers(image, used))
    extra.update(leftovers(data, {"model_weights", "model_hash", "app_version", "image"}))
    return Found("invokeai", as_text(data.get("app_version")), generation, extra, location)


def read(ctx: Context) -> Found | None:
    found: Found | None = None
    metadata = ctx.json_object("invokeai_metadata")
    if metadata is not None:
        found = _from_metadata(*metadata)
    else:
        sd_metadata = ctx.json_object("sd-metadata")
        if sd_metadata is not None:
            found = _from_sd_metadata(*sd_metadata)
    dream = ctx.item("Dream")
    if dream is not None:
        generation, extra = parse_dream(dream[1])
        if found is None:
            found = Found("invokeai", None, generation, extra, dream[0])
        else:
            for key, value in generation.items():
                if found.generation.get(key) is None:
                    found.generation[key] = value
    if found is None:
        if ctx.has("invokeai_graph") or ctx.has("invokeai_workflow"):
            found = Found("invokeai", None, {}, {}, "")
        else:
            return None
    for key in ("invokeai_graph", "invokeai_workflow"):
        if ctx.has(key):
            found.extra[key.removeprefix("invokeai_") + "_present"] = True
    return found

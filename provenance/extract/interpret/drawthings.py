"""Draw Things: XMP with ``xmp:CreatorTool`` = ``Draw Things`` and ``exif:UserComment`` = JSON.

The JSON keys (from third-party readers; no real file examined): ``c`` (prompt), ``uc``
(negative), ``seed``, ``steps``, ``scale`` (guidance), ``sampler``, ``model``, ``size``
(``"512x768"``), ``strength``, ``seed_mode``, ``shift``, ``lora``, ``v2`` (the whole
configuration). Without the JSON, ``dc:description`` (an infotext-like text) is read instead.
"""

from __future__ import annotations

from provenance.extract.interpret._base import Context, Found, leftovers, load_json, map_fields
from provenance.extract.interpret._xmp import packets
from provenance.extract.interpret.a1111 import found_from_infotext, parse_infotext

__all__ = ["read"]

_FIELDS = {
    "prompt": ("c",),
    "negative_prompt": ("uc",),
    "seed": ("seed",),
    "steps": ("steps",),
    "cfg_scale": ("scale", "guidance_scale"),
    "sampler": ("sampler",),
    "model": ("model",),
    "size": ("size",),
}


def read(ctx: Context) -> Found | None:
    for packet in packets(ctx):
        tool = packet.value("xmp", "CreatorTool") or ""
        if "draw things" not in tool.lower():
            continue
        version = tool.strip()[len("Draw Things") :].strip() or None
        for comment in packet.values("exif", "UserComment"):
            data = load_json(comment)
            if isinstance(data, dict):
                generation, used = map_fields(data, _FIELDS)
                return Found(
                    "drawthings", version, generation, leftovers(data, used), packet.location
                )
        description = packet.value("dc", "description")
        if description:
            found = found_from_infotext(parse_infotext(description), packet.location, "drawthings")
            found.version = version
            return found
        return Found("drawthings", version, {}, {}, packet.location)
    return None

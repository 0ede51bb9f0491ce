"""The demo picture signed by ``aigc-prov demo``: a deterministic procedural gradient.

It is not AI-generated and its record says so (model ``demo-procedural (no model)``); it exists so
the sign-and-verify path can be shown on any machine before a model is available.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["demo_image"]


def demo_image(size: int = 512) -> Image.Image:
    """A smooth orange-to-blue gradient with a soft disc, identical on every run."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / (size - 1)
    disc = np.clip(1.0 - np.hypot(x - 0.5, y - 0.45) * 3.0, 0.0, 1.0)
    red = 230 * (1 - y) + 40 * y + 25 * disc
    green = 140 * (1 - y) + 90 * y + 60 * disc
    blue = 40 * (1 - y) + 200 * y
    rgb = np.stack([red, green, blue], axis=-1).clip(0, 255).astype(np.uint8)
    return Image.fromarray(rgb, mode="RGB")

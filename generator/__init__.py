"""Z-Image generation through diffusers; every image leaves through provenance's finalize.

Importing this package does not import torch: requests are resolved and checked first
(:mod:`generator.presets`, :mod:`generator.request`), and only :mod:`generator.engine`,
:mod:`generator.tiny` and what uses them load torch and diffusers.

Generate and sign one image with the built-in test model::

    from pathlib import Path
    from generator import GenerationRequest, check_request, resolve_model
    from generator.engine import load_model
    from generator.produce import produce

    source = resolve_model("tiny-z-image")
    checked = check_request(GenerationRequest(prompt="一只橘猫", seed=42), source)
    model = load_model(source)
    for item in produce(model, checked, signing_key, Path("out")):
        print(item.result.path, item.result.record_id)
"""

from generator.errors import (
    GenerationCancelled,
    GenerationError,
    GenerationRequestError,
    ModelLoadError,
)
from generator.presets import DEFAULT_MODEL, PRESETS, ModelSource, Preset, resolve_model
from generator.request import CheckedRequest, GenerationRequest, check_request

__all__ = [
    "DEFAULT_MODEL",
    "PRESETS",
    "CheckedRequest",
    "GenerationCancelled",
    "GenerationError",
    "GenerationRequest",
    "GenerationRequestError",
    "ModelLoadError",
    "ModelSource",
    "Preset",
    "check_request",
    "resolve_model",
]

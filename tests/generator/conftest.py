"""Generator fixtures: the built-in test model, loaded once per session on the CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.presets import resolve_model
from generator.request import GenerationRequest, check_request

#: Small and fast on two cores; 32 is the smallest size the test model's VAE handles well.
SIZE = 64


@pytest.fixture(scope="session")
def tiny_model() -> Any:
    from generator.engine import load_model

    return load_model(resolve_model("tiny-z-image"), device="cpu")


@pytest.fixture(scope="session")
def saved_tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from generator.tiny import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-z-image")


def checked(prompt: str = "一只橘猫", **kw: Any) -> Any:
    kw.setdefault("width", SIZE)
    kw.setdefault("height", SIZE)
    kw.setdefault("num_inference_steps", 4)
    lookup = kw.pop("parent_lookup", None)
    return check_request(
        GenerationRequest(prompt=prompt, **kw), resolve_model("tiny-z-image"), parent_lookup=lookup
    )

"""On an NVIDIA GPU: bf16 by default, deterministic for a fixed seed, CUDA facts recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (no NVIDIA GPU here)"),
]


@pytest.fixture(scope="module")
def cuda_model() -> Any:
    from generator.engine import load_model
    from generator.presets import resolve_model

    return load_model(resolve_model("tiny-z-image"))  # device auto-detected: cuda first


def test_cuda_is_picked_with_bf16_and_recorded(cuda_model: Any, key: Any, tmp_path: Path) -> None:
    from generator.produce import produce

    from .conftest import checked

    assert cuda_model.device == "cuda" and cuda_model.dtype == torch.bfloat16
    (item,) = produce(cuda_model, checked(seed=3, width=256, height=256), key, tmp_path)
    record = item.result.record
    assert record["model"]["dtype"] == "bfloat16"
    assert record["system"]["cuda_available"] is True and record["system"]["gpu"]
    info = record["extensions"]["aigc-provenance.generator"]
    assert info["memory"]["measure"] == "cuda_peak_allocated" and info["memory"]["peak_mb"] > 0


def test_same_seed_twice_on_cuda_gives_identical_pixels(cuda_model: Any) -> None:
    from generator.engine import run
    from provenance.binding import pixel_digest

    from .conftest import checked

    request = checked(seed=17, width=256, height=256)
    first = pixel_digest(next(run(cuda_model, request)).image)
    assert first == pixel_digest(next(run(cuda_model, request)).image)

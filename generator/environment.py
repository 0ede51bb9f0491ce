"""The machine a generation runs on: device, dtype, versions, GPU, peak memory."""

from __future__ import annotations

import platform
import resource
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["Environment", "PeakMemory", "pick_device", "pick_dtype"]


def pick_device(requested: str | None = None) -> str:
    """``requested``, or the best available: cuda, then mps, then cpu."""
    import torch

    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            from generator.errors import GenerationRequestError

            raise GenerationRequestError("--device cuda was asked for but CUDA is not available")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, requested: str | None = None) -> Any:
    """bf16 on CUDA (Z-Image's recommended dtype; fp16 breaks its complex RoPE), fp32 elsewhere."""
    import torch

    names = {
        "bf16": torch.bfloat16,
        "bfloat16": torch.bfloat16,
        "fp32": torch.float32,
        "float32": torch.float32,
    }
    if requested:
        if requested not in names:
            from generator.errors import GenerationRequestError

            raise GenerationRequestError(f"dtype must be bf16 or fp32, not {requested!r}")
        return names[requested]
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


@dataclass(frozen=True)
class Environment:
    device: str
    dtype: str
    gpu: str | None
    cuda_available: bool
    torch_version: str
    diffusers_version: str
    transformers_version: str
    python_version: str
    platform: str

    @classmethod
    def capture(cls, device: str, dtype: Any) -> Environment:
        import diffusers
        import torch
        import transformers

        gpu = None
        if device.startswith("cuda"):
            gpu = torch.cuda.get_device_name(torch.device(device))
        elif device == "mps":
            gpu = "Apple MPS"
        return cls(
            device=device,
            dtype=dtype_name(dtype),
            gpu=gpu,
            cuda_available=bool(torch.cuda.is_available()),
            torch_version=str(torch.__version__),
            diffusers_version=str(diffusers.__version__),
            transformers_version=str(transformers.__version__),
            python_version=platform.python_version(),
            platform=f"{platform.system()}-{platform.machine()}",
        )

    def to_system(self) -> dict[str, Any]:
        """The record's ``system`` object."""
        return {
            "torch_version": self.torch_version,
            "cuda_available": self.cuda_available,
            "gpu": self.gpu,
            "device": self.device,
            "diffusers_version": self.diffusers_version,
            "transformers_version": self.transformers_version,
            "python_version": self.python_version,
            "platform": self.platform,
        }


class PeakMemory:
    """Peak memory of one generation: CUDA peak allocation, else the process's peak RSS."""

    def __init__(self, device: str) -> None:
        self.device = device

    def reset(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats()

    def read_mb(self) -> tuple[float, str]:
        """(megabytes, what was measured)."""
        if self.device.startswith("cuda"):
            import torch

            return torch.cuda.max_memory_allocated() / 2**20, "cuda_peak_allocated"
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        return peak * scale / 2**20, "process_peak_rss"

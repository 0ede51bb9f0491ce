"""Loading a model and running diffusers: the only module that calls a pipeline.

:func:`load_model` loads a resolved :class:`~generator.presets.ModelSource` (the built-in test
model is built in memory; folders and hub snapshots go through the real ``from_pretrained``) and
identifies it. :func:`run` turns a :class:`~generator.request.CheckedRequest` into images, one
diffusers call per batch, with per-image CPU generators so the initial noise is the same on every
device. It returns images and facts, never files: writing is :mod:`generator.produce`'s job,
through provenance's finalize.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from generator.environment import Environment, PeakMemory, pick_device, pick_dtype
from generator.errors import GenerationCancelled, ModelLoadError
from generator.identity import ModelIdentity, identify
from generator.presets import ModelSource
from generator.request import CheckedRequest

__all__ = [
    "Frame",
    "GeneratedImage",
    "LoadedModel",
    "StopFlag",
    "load_model",
    "run",
    "slerp",
]

log = logging.getLogger(__name__)

#: Called after each denoising step with (step done, steps in this call).
StepCallback = Callable[[int, int], None]


class StopFlag:
    """Set from a signal handler; the running call stops at the end of its current step."""

    def __init__(self) -> None:
        self.requested = False

    def set(self) -> None:
        self.requested = True


@dataclass
class LoadedModel:
    source: ModelSource
    pipe: Any
    device: str
    dtype: Any
    identity: ModelIdentity
    environment: Environment
    revision: str | None
    folder: Path | None
    load_seconds: float
    options: dict[str, Any] = field(default_factory=dict)  # attention backend, compilation
    _derived: dict[str, Any] = field(default_factory=dict)

    def pipeline_for(self, task: str) -> Any:
        """The text-to-image pipeline, or an edit pipeline sharing its weights (no copy)."""
        if task == "text-to-image":
            return self.pipe
        if task not in self._derived:
            import diffusers

            if type(self.pipe).__name__ == "ZImagePipeline":
                names = ("ZImageInpaintPipeline", "ZImageImg2ImgPipeline")
            else:  # another family: let diffusers pick its edit pipeline
                names = ("AutoPipelineForInpainting", "AutoPipelineForImage2Image")
            cls = getattr(diffusers, names[0] if task == "inpaint" else names[1])
            level = diffusers.utils.logging.get_verbosity()
            diffusers.utils.logging.set_verbosity_error()  # a no-op dtype notice on every call
            try:
                derived = cls.from_pipe(self.pipe)
            finally:
                diffusers.utils.logging.set_verbosity(level)
            derived.set_progress_bar_config(disable=True)
            self._derived[task] = derived
        return self._derived[task]


def load_model(
    source: ModelSource,
    *,
    device: str | None = None,
    dtype: str | None = None,
    digest_cache: Path | None = None,
    allow_download: bool = False,
    attention_backend: str | None = None,
    compile_transformer: bool = False,
) -> LoadedModel:
    """Load ``source`` on ``device`` (default: cuda, mps, cpu) in ``dtype`` (bf16 on CUDA, fp32
    elsewhere), and identify it (weights digests cached in ``digest_cache``).

    Two documented diffusers speed-ups are opt-in: ``attention_backend`` (e.g. ``"flash"``,
    ``"_flash_3"``, ``"native"``; see ``diffusers.attention_dispatch``) and
    ``compile_transformer`` (``torch.compile`` of the transformer's repeated blocks). Both are
    recorded with every image, since they can change pixels in the last bits.
    """
    import torch

    started = time.perf_counter()
    device = pick_device(device)
    torch_dtype = pick_dtype(device, dtype)
    folder: Path | None = None
    revision = source.revision
    if source.kind == "builtin":
        from generator.tiny import build_tiny_pipeline

        pipe = build_tiny_pipeline(source.init_seed or 0)
        if device != "cpu" or torch_dtype != torch.float32:
            pipe.to(device=device, dtype=torch_dtype)
        revision = f"tiny-v1-seed{source.init_seed}"
    else:
        folder, revision = _local_folder(source, allow_download)
        pipe = _from_pretrained(folder, torch_dtype)
        pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    identity = identify(pipe, folder, digest_cache)  # before compiling: the plain module's state
    options: dict[str, Any] = {"attention_backend": None, "compiled": False}
    if attention_backend:
        try:
            pipe.transformer.set_attention_backend(attention_backend)
        except (ValueError, RuntimeError, ImportError) as exc:
            raise ModelLoadError(f"attention backend {attention_backend!r}: {exc}") from None
    # What will actually run: set_attention_backend also changes diffusers' process-wide default
    # (as does its DIFFUSERS_ATTN_BACKEND variable), so the request alone is not the truth.
    options["attention_backend"] = effective_attention_backend(pipe)
    if compile_transformer:
        pipe.transformer.compile_repeated_blocks(fullgraph=True)
        options["compiled"] = True
    return LoadedModel(
        source=source,
        pipe=pipe,
        device=device,
        dtype=torch_dtype,
        identity=identity,
        environment=Environment.capture(device, torch_dtype),
        revision=revision,
        folder=folder,
        load_seconds=time.perf_counter() - started,
        options=options,
    )


def effective_attention_backend(pipe: Any) -> str | None:
    """The attention backend the pipeline's transformer will use, as diffusers names it."""
    names: set[str] = set()
    transformer = getattr(pipe, "transformer", None)
    if transformer is not None:
        for module in transformer.modules():
            backend = getattr(getattr(module, "processor", None), "_attention_backend", None)
            if backend is not None:
                names.add(str(getattr(backend, "value", backend)))
    if names:
        return ",".join(sorted(names))
    try:
        from diffusers.models.attention_dispatch import _AttentionBackendRegistry
    except ImportError:
        return None
    active = _AttentionBackendRegistry.get_active_backend()[0]
    return str(getattr(active, "value", active))


def _local_folder(source: ModelSource, allow_download: bool) -> tuple[Path, str | None]:
    if source.kind == "folder":
        assert source.location is not None
        return Path(source.location), source.revision
    from diffusers import DiffusionPipeline

    try:
        snapshot = Path(
            DiffusionPipeline.download(
                source.location,
                revision=source.revision,
                cache_dir=source.hub_cache,
                local_files_only=not allow_download,
            )
        )
    except Exception as exc:  # hub errors come in many classes; all mean "not available"
        raise ModelLoadError(
            f"cannot get {source.location} from the Hugging Face cache"
            + ("" if allow_download else " (downloads are off; pass --allow-download)")
            + f": {type(exc).__name__}: {exc}"
        ) from None
    parts = snapshot.parts
    commit = parts[parts.index("snapshots") + 1] if "snapshots" in parts[:-1] else None
    return snapshot, commit or source.revision


def _from_pretrained(folder: Path, torch_dtype: Any) -> Any:
    from diffusers import DiffusionPipeline

    try:
        return DiffusionPipeline.from_pretrained(str(folder), dtype=torch_dtype)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, ImportError) as exc:
        raise ModelLoadError(f"cannot load the pipeline in {folder}: {exc}") from None


@dataclass(frozen=True)
class Frame:
    """One image to make: its seed, and for interpolation the second seed and position."""

    seed: int
    seed_b: int | None = None
    t: float | None = None
    extension: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GeneratedImage:
    image: Image.Image
    frame: Frame
    index: int  # position in the whole run
    batch_index: int
    batch_seeds: tuple[int, ...]
    call_arguments: dict[str, Any]
    batch_seconds: float
    peak_memory_mb: float
    memory_measure: str

    @property
    def seconds(self) -> float:
        return self.batch_seconds / len(self.batch_seeds)


def _noise(shape: Sequence[int], seed: int) -> Any:
    """The initial latents diffusers draws for ``seed`` with a CPU generator (float32)."""
    import torch
    from diffusers.utils.torch_utils import randn_tensor

    generator = torch.Generator("cpu").manual_seed(seed)
    return randn_tensor(
        tuple(shape), generator=generator, device=torch.device("cpu"), dtype=torch.float32
    )


def slerp(a: Any, b: Any, t: float, dot_threshold: float = 0.9995) -> Any:
    """Spherical interpolation between two noise tensors (straight line when nearly parallel)."""
    import torch

    if t <= 0:
        return a.clone()
    if t >= 1:
        return b.clone()
    af, bf = a.flatten().double(), b.flatten().double()
    dot = float(torch.dot(af, bf) / (af.norm() * bf.norm()))
    if abs(dot) > dot_threshold:
        out = (1 - t) * af + t * bf
    else:
        theta = torch.arccos(torch.tensor(dot, dtype=torch.float64))
        sin = torch.sin(theta)
        out = (torch.sin((1 - t) * theta) / sin) * af + (torch.sin(t * theta) / sin) * bf
    return out.reshape(a.shape).to(a.dtype)


def call_arguments(request: CheckedRequest) -> dict[str, Any]:
    """Every argument passed to the pipeline, as recorded (seeds stand for the generators)."""
    args: dict[str, Any] = {
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt or None,
        "height": request.height,
        "width": request.width,
        "num_inference_steps": request.num_inference_steps,
        "guidance_scale": request.guidance_scale,
        "cfg_normalization": request.cfg_normalization,
        "cfg_truncation": request.cfg_truncation,
        "max_sequence_length": request.max_sequence_length,
        "output_type": "pil",
    }
    if request.edit is not None:
        args["strength"] = request.strength
    return args


def run(
    model: LoadedModel,
    request: CheckedRequest,
    *,
    frames: Sequence[Frame] | None = None,
    on_step: StepCallback | None = None,
    stop: StopFlag | None = None,
) -> Iterator[GeneratedImage]:
    """Generate ``request`` (or the given ``frames``), one diffusers call per batch.

    Raises :class:`GenerationCancelled` when ``stop`` is set: the interrupted call's partly
    denoised images are discarded, never returned.
    """
    import torch

    frames = (
        [_plain_end(f) for f in frames]
        if frames is not None
        else [Frame(seed=s) for s in request.seeds]
    )
    size = request.batch_size if all(f.seed_b is None for f in frames) else 1
    pipe = model.pipeline_for(request.task)
    base = call_arguments(request)
    latent_shape = _latent_shape(model, request)
    memory = PeakMemory(model.device)
    done = 0
    for start in range(0, len(frames), size):
        group = frames[start : start + size]
        if stop is not None and stop.requested:
            raise GenerationCancelled(f"stopped after {done} of {len(frames)} images")
        kwargs = dict(base)
        kwargs["num_images_per_prompt"] = len(group)
        kwargs["generator"] = [torch.Generator("cpu").manual_seed(f.seed) for f in group]
        if any(f.seed_b is not None for f in group):
            kwargs["latents"] = torch.cat(
                [
                    slerp(
                        _noise(latent_shape, f.seed),
                        _noise(latent_shape, f.seed_b or 0),
                        f.t or 0.0,
                    )
                    for f in group
                ]
            )
        if request.edit is not None:
            kwargs["image"] = request.edit.image
            if request.edit.mask is not None:
                kwargs["mask_image"] = request.edit.mask
        kwargs["callback_on_step_end"] = _step_callback(on_step, stop)
        memory.reset()
        started = time.perf_counter()
        with torch.inference_mode():
            output = pipe(**kwargs)
        seconds = time.perf_counter() - started
        if stop is not None and stop.requested:  # the call ended early: its images are partial
            raise GenerationCancelled(f"stopped after {done} of {len(frames)} images")
        peak, measure = memory.read_mb()
        seeds = tuple(f.seed for f in group)
        for i, (frame, image) in enumerate(zip(group, output.images, strict=True)):
            yield GeneratedImage(
                image=image,
                frame=frame,
                index=start + i,
                batch_index=i,
                batch_seeds=seeds,
                call_arguments=base,
                batch_seconds=seconds,
                peak_memory_mb=peak,
                memory_measure=measure,
            )
            done += 1


def _plain_end(frame: Frame) -> Frame:
    """An interpolation end (t 0 or 1) is exactly its seed's own image: run it as one."""
    if frame.seed_b is None or frame.t is None or 0 < frame.t < 1:
        return frame
    return Frame(seed=frame.seed if frame.t <= 0 else frame.seed_b, extension=frame.extension)


def _latent_shape(model: LoadedModel, request: CheckedRequest) -> tuple[int, int, int, int]:
    factor = int(getattr(model.pipe, "vae_scale_factor", 8))
    channels = int(model.pipe.transformer.config.in_channels)
    return (
        1,
        channels,
        2 * (request.height // (factor * 2)),
        2 * (request.width // (factor * 2)),
    )


def _step_callback(on_step: StepCallback | None, stop: StopFlag | None) -> Any:
    def callback(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if on_step is not None:
            on_step(step + 1, int(getattr(pipe, "num_timesteps", 0) or 0))
        if stop is not None and stop.requested:
            pipe._interrupt = True
        return {}

    return callback

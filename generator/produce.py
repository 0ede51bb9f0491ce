"""Generation through provenance: every image the generator makes leaves through ``finalize``.

:func:`make_draft` states everything needed to reproduce and audit an image (every call argument,
the seeds of its batch, the model's identity, the machine, time and memory, quality warnings);
:func:`produce` runs the model and finalizes each image as it comes (validate, bind, sign,
embed, sidecar, catalog). There is no other way out of this package for an image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.engine import Frame, GeneratedImage, LoadedModel, StepCallback, StopFlag, run
from generator.environment import dtype_name
from generator.errors import GenerationError
from generator.request import CheckedRequest, check_output_folder
from provenance.finalize import FinalizeResult, finalize
from provenance.signing.keys import SigningKey

if TYPE_CHECKING:
    from provenance.catalog.store import Catalog

__all__ = [
    "EXTENSION_KEY",
    "Produced",
    "make_draft",
    "produce",
    "prompt_warnings",
    "run_stamp",
]

#: The record's ``extensions`` key holding the generator's facts.
EXTENSION_KEY = "aigc-provenance.generator"


@dataclass(frozen=True)
class Produced:
    """One finished image: its files and record, and what made it."""

    result: FinalizeResult
    generated: GeneratedImage

    @property
    def seed(self) -> int:
        return self.generated.frame.seed


def make_draft(
    model: LoadedModel,
    request: CheckedRequest,
    out: GeneratedImage,
    *,
    run_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record draft for one generated image (provenance completes and binds it)."""
    frame = out.frame
    seed = frame.seed if frame.seed_b is None else None  # an in-between frame has no one seed
    ident = model.identity
    source = model.source
    edit = request.edit
    call = dict(out.call_arguments)
    call["num_images_per_prompt"] = len(out.batch_seeds)
    call["generator"] = {"device": "cpu", "seeds": list(out.batch_seeds)}
    call["latents"] = (
        {"slerp": {"seed_a": frame.seed, "seed_b": frame.seed_b, "t": frame.t}}
        if frame.seed_b is not None
        else None
    )
    if edit is not None:
        call["image"] = {"pixel_digest": edit.digest}
        if edit.mask is not None:
            call["mask_image"] = {"pixel_digest": edit.mask_digest}
    info: dict[str, Any] = {
        "pipeline": type(model.pipeline_for(request.task)).__name__,
        "call": call,
        "seed_drawn": request.seed_was_drawn,
        "model": {
            "source": source.kind,
            "location": source.location,
            "init_seed": source.init_seed,
            "test_model": source.is_test_model,
            "note": source.preset.description if source.is_test_model else None,
            **ident.to_dict(),
        },
        "options": dict(model.options),
        "timing": {
            "batch_seconds": round(out.batch_seconds, 4),
            "load_seconds": round(model.load_seconds, 4),
        },
        "memory": {"peak_mb": round(out.peak_memory_mb, 1), "measure": out.memory_measure},
        "run": {"kind": "generate", **(run_info or {}), **frame.extension},
    }
    return {
        "task": {
            "type": request.task,
            "parent_record_id": edit.parent_record_id if edit else None,
            "input_digest": {"alg": "sha256", "value": edit.digest} if edit else None,
            "mask_digest": (
                {"alg": "sha256", "value": edit.mask_digest}
                if edit is not None and edit.mask_digest
                else None
            ),
        },
        "model": {
            "name": source.name,
            "revision": model.revision,
            "variant": "test model (random weights)" if source.is_test_model else None,
            "preset": source.preset.name,
            "pipeline": ident.pipeline_class,
            "scheduler": ident.scheduler_class,
            "dtype": dtype_name(model.dtype),
            "weights_digest": {"alg": "sha256", "value": ident.weights_digest},
        },
        "generation": {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "width": request.width,
            "height": request.height,
            "num_inference_steps": request.num_inference_steps,
            "cfg_scale": request.guidance_scale,
            "seed": seed,
            "num_images": len(request.seeds),
            "sampler": ident.scheduler_class or None,
            "strength": request.strength,
            "batch": {
                "index": out.batch_index,
                "size": len(out.batch_seeds),
                "seeds": list(out.batch_seeds),
            },
        },
        "system": model.environment.to_system(),
        "performance": {
            "generation_time": round(out.seconds, 4),
            "memory_usage_mb": round(out.peak_memory_mb, 1),
        },
        "warnings": list(request.warnings),
        "extensions": {EXTENSION_KEY: info},
    }


def run_stamp() -> str:
    """The time stamp output names start with (UTC, to the second)."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _output_path(out_dir: Path, stem: str) -> Path:
    path = out_dir / f"{stem}.png"
    n = 1
    while path.exists() or path.with_suffix(".json").exists():
        path = out_dir / f"{stem}-{n}.png"
        n += 1
    return path


def produce(
    model: LoadedModel,
    request: CheckedRequest,
    key: SigningKey,
    out_dir: Path,
    *,
    catalog: Catalog | None = None,
    frames: Sequence[Frame] | None = None,
    run_info: dict[str, Any] | None = None,
    name: Callable[[GeneratedImage], str] | None = None,
    producer: str | None = None,
    on_step: StepCallback | None = None,
    stop: StopFlag | None = None,
) -> Iterator[Produced]:
    """Generate and finalize each image as it is made; yields as each file is complete.

    A :class:`~generator.errors.GenerationCancelled` from ``stop`` ends the run between
    images: finished images stay, the interrupted batch is discarded, no file is half-written.
    """
    check_output_folder(out_dir)
    stamp = run_stamp()
    extra = prompt_warnings(model, request)
    for out in run(model, request, frames=frames, on_step=on_step, stop=stop):
        draft = make_draft(model, request, out, run_info=run_info)
        draft["warnings"] = [*draft["warnings"], *extra]
        stem = name(out) if name is not None else f"{stamp}-s{out.frame.seed}"
        for _attempt in range(100):
            path = _output_path(out_dir, stem)
            try:
                result = finalize(out.image, draft, key, path, producer=producer, catalog=catalog)
                break
            except FileExistsError:
                if not path.exists():  # not a race for the name that another writer won
                    raise
        else:
            raise GenerationError(f"no free file name for {stem} in {out_dir}")
        yield Produced(result, out)


def prompt_warnings(model: LoadedModel, request: CheckedRequest) -> list[str]:
    """Warn when the text encoder will cut the prompt (counted after the chat template)."""
    tokenizer = getattr(model.pipe, "tokenizer", None)
    if tokenizer is None or not hasattr(tokenizer, "apply_chat_template"):
        return []
    out = []
    for what, text in (("prompt", request.prompt), ("negative prompt", request.negative_prompt)):
        if not text:
            continue
        try:
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=True, add_generation_prompt=True
            )
        except Exception:  # noqa: S112 - a tokenizer that cannot count: no warning
            continue
        count = len(ids["input_ids"] if hasattr(ids, "keys") else ids)  # BatchEncoding or list
        if count > request.max_sequence_length:
            out.append(
                f"the {what} is {count} tokens; the text encoder reads only the first "
                f"{request.max_sequence_length}, the rest is ignored"
            )
    return out

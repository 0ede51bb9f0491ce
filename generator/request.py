"""What a user asks the generator for, checked completely before any model is loaded.

:func:`check_request` turns a :class:`GenerationRequest` (diffusers' argument names) into a
:class:`CheckedRequest` with every default filled in from the model's preset, the seeds drawn,
and the edit inputs opened; every mistake is a :class:`GenerationRequestError` that says what to
do instead. Nothing here imports torch.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image

from generator.errors import GenerationRequestError
from generator.presets import ModelSource
from provenance.binding import canonical_image, pixel_digest
from provenance.errors import RecordInputError
from provenance.finalize import open_image
from provenance.record import normalize_prompt

__all__ = [
    "MAX_BATCH",
    "MAX_SEED",
    "SIZE_MULTIPLE",
    "CheckedRequest",
    "EditInput",
    "GenerationRequest",
    "ParentLookup",
    "check_device",
    "check_output_folder",
    "check_request",
    "check_side",
    "check_steps_and_guidance",
    "nearest_valid_size",
]

#: Z-Image's VAE downsamples by 8 and the transformer patches by 2: sizes are multiples of 16.
SIZE_MULTIPLE = 16
MAX_SIDE = 4096
MAX_STEPS = 1000
MAX_GUIDANCE = 100.0
MAX_IMAGES = 1024
MAX_BATCH = 64
#: Seeds are recorded as JSON numbers: keep them exact in every reader (2**53 - 1).
MAX_SEED = 2**53 - 1
#: Seed -1 draws from this range (the A1111 and WebUI convention).
DRAWN_SEED_RANGE = 2**32

TaskType = Literal["text-to-image", "image-to-image", "inpaint"]
#: Given an edit input's path and pixel digest, the record id it carries (if any is trusted).
ParentLookup = Callable[[Path, str], str | None]


@dataclass(frozen=True)
class GenerationRequest:
    """One request, in diffusers' argument names. ``None`` means "the preset's default"."""

    prompt: str
    negative_prompt: str = ""
    seed: int = -1
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    width: int | None = None
    height: int | None = None
    num_images: int = 1
    batch_size: int = 1
    image: Path | None = None  # edit input
    mask: Path | None = None  # inpainting mask (white = repaint)
    strength: float | None = None
    cfg_normalization: bool = False
    cfg_truncation: float = 1.0
    max_sequence_length: int = 512


@dataclass(frozen=True)
class EditInput:
    """An opened edit input (image, optional mask) and what binds the new record to it."""

    image: Image.Image
    digest: str
    parent_record_id: str | None
    mask: Image.Image | None = None
    mask_digest: str | None = None


@dataclass(frozen=True)
class CheckedRequest:
    """A request with every value decided: ready to run and to record."""

    task: TaskType
    prompt: str
    negative_prompt: str
    seeds: tuple[int, ...]
    num_inference_steps: int
    guidance_scale: float
    width: int
    height: int
    batch_size: int
    strength: float | None
    cfg_normalization: bool
    cfg_truncation: float
    max_sequence_length: int
    seed_was_drawn: bool
    edit: EditInput | None = None
    warnings: tuple[str, ...] = field(default=())

    def batches(self) -> list[tuple[int, ...]]:
        """The seeds grouped as they are run: each group is one diffusers call."""
        size = self.batch_size
        return [self.seeds[i : i + size] for i in range(0, len(self.seeds), size)]


def nearest_valid_size(value: int) -> int:
    return max(SIZE_MULTIPLE, (value + SIZE_MULTIPLE // 2) // SIZE_MULTIPLE * SIZE_MULTIPLE)


def check_side(name: str, value: int) -> None:
    """Refuse a width or height Z-Image cannot take, naming the nearest valid one."""
    if value < 1 or value > MAX_SIDE:
        raise GenerationRequestError(f"{name} must be between 16 and {MAX_SIDE}, not {value}")
    if value % SIZE_MULTIPLE:
        raise GenerationRequestError(
            f"{name} {value} is not a multiple of {SIZE_MULTIPLE} (Z-Image needs that); "
            f"the nearest valid {name} is {nearest_valid_size(value)}"
        )


def check_request(
    request: GenerationRequest,
    source: ModelSource,
    *,
    parent_lookup: ParentLookup | None = None,
) -> CheckedRequest:
    """Fill in defaults from ``source``'s preset and check everything; raises
    :class:`GenerationRequestError` with one sentence per problem found first."""
    preset = source.preset
    if not request.prompt.strip():
        raise GenerationRequestError("the prompt is empty; say what the image should show")
    try:
        prompt = normalize_prompt(request.prompt)
        negative = normalize_prompt(request.negative_prompt, "negative prompt")
    except RecordInputError as exc:
        raise GenerationRequestError(str(exc)) from None
    steps = preset.steps if request.num_inference_steps is None else request.num_inference_steps
    guidance = preset.guidance_scale if request.guidance_scale is None else request.guidance_scale
    check_steps_and_guidance(steps, guidance)
    if not 0 < request.cfg_truncation <= 1:
        raise GenerationRequestError("cfg_truncation must be in (0, 1]")
    if not 1 <= request.max_sequence_length <= 1024:
        raise GenerationRequestError("max_sequence_length must be between 1 and 1024")
    if not 1 <= request.num_images <= MAX_IMAGES:
        raise GenerationRequestError(
            f"the number of images must be between 1 and {MAX_IMAGES}, not {request.num_images}"
        )
    if not 1 <= request.batch_size <= 64:
        raise GenerationRequestError(
            f"batch size must be between 1 and 64, not {request.batch_size}"
        )
    edit = _open_edit(request, parent_lookup)
    if edit is not None and request.width is None and request.height is None:
        width, height = edit.image.size
    else:
        width = preset.size if request.width is None else request.width
        height = preset.size if request.height is None else request.height
    check_side("width", width)
    check_side("height", height)
    if edit is not None and edit.image.size != (width, height):
        raise GenerationRequestError(
            f"the edit input is {edit.image.width}x{edit.image.height} but the output would be "
            f"{width}x{height}; resize the input or leave --width/--height out"
        )
    strength = _check_strength(request, edit)
    seeds, drawn = _seeds(request)
    task: TaskType = "text-to-image"
    if edit is not None:
        task = "inpaint" if edit.mask is not None else "image-to-image"
    return CheckedRequest(
        task=task,
        prompt=prompt,
        negative_prompt=negative,
        seeds=seeds,
        num_inference_steps=steps,
        guidance_scale=float(guidance),
        width=width,
        height=height,
        batch_size=min(request.batch_size, request.num_images),
        strength=strength,
        cfg_normalization=request.cfg_normalization,
        cfg_truncation=float(request.cfg_truncation),
        max_sequence_length=request.max_sequence_length,
        seed_was_drawn=drawn,
        edit=edit,
        warnings=tuple(quality_warnings(source, steps, guidance, negative, width, height)),
    )


def check_steps_and_guidance(steps: int, guidance: float) -> None:
    if not 1 <= steps <= MAX_STEPS:
        raise GenerationRequestError(f"steps must be between 1 and {MAX_STEPS}, not {steps}")
    if not 0 <= guidance <= MAX_GUIDANCE:  # also refuses NaN
        raise GenerationRequestError(
            f"guidance (--cfg) must be between 0 and {MAX_GUIDANCE:g}, not {guidance}; "
            "Z-Image uses 0 for no guidance"
        )


def check_output_folder(out_dir: Path) -> None:
    """Refuse an output folder that cannot be one (a file, or a path under a file)."""
    for folder in (out_dir, *out_dir.parents):
        if folder.exists():
            if not folder.is_dir():
                raise GenerationRequestError(
                    f"the output folder {out_dir} cannot be made: {folder} is not a folder"
                )
            return


DEVICE = re.compile(r"^(cpu|mps|cuda(:[0-9]{1,2})?)$")


def check_device(device: str | None) -> None:
    if device is not None and not DEVICE.match(device):
        raise GenerationRequestError(f"device must be cpu, mps, cuda or cuda:N, not {device!r}")


def _check_strength(request: GenerationRequest, edit: EditInput | None) -> float | None:
    if edit is None:
        if request.strength is not None:
            raise GenerationRequestError("--strength only applies to edits (an input image)")
        return None
    strength = request.strength
    if strength is None:
        strength = 1.0 if edit.mask is not None else 0.6
    if not 0 < strength <= 1:  # also refuses NaN
        raise GenerationRequestError(f"strength must be in (0, 1], not {strength}")
    return float(strength)


def _seeds(request: GenerationRequest) -> tuple[tuple[int, ...], bool]:
    seed = request.seed
    drawn = seed == -1
    if drawn:
        seed = secrets.randbelow(DRAWN_SEED_RANGE)
    if seed < 0 or seed + request.num_images - 1 > MAX_SEED:
        raise GenerationRequestError(
            f"seed must be -1 (draw one) or between 0 and {MAX_SEED - request.num_images + 1}, "
            f"not {request.seed}"
        )
    return tuple(range(seed, seed + request.num_images)), drawn


def _open_edit(request: GenerationRequest, parent_lookup: ParentLookup | None) -> EditInput | None:
    if request.image is None:
        if request.mask is not None:
            raise GenerationRequestError("a mask needs an input image to edit")
        return None
    image = _open(request.image, "edit input")
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    digest = pixel_digest(canonical_image(image))
    parent = parent_lookup(request.image, digest) if parent_lookup is not None else None
    rgb = image.convert("RGB")
    if request.mask is None:
        return EditInput(rgb, digest, parent)
    mask = _open(request.mask, "mask")
    if mask.size != image.size:
        raise GenerationRequestError(
            f"the mask is {mask.width}x{mask.height} but the image is "
            f"{image.width}x{image.height}; they must be the same size"
        )
    mask = mask.convert("L")
    return EditInput(rgb, digest, parent, mask, pixel_digest(mask))


def _open(path: Path, what: str) -> Image.Image:
    if not path.exists():
        raise GenerationRequestError(f"the {what} {path} does not exist")
    if not path.is_file():
        raise GenerationRequestError(f"the {what} {path} is not a file")
    try:
        return open_image(path)
    except RecordInputError as exc:
        raise GenerationRequestError(f"the {what} is not usable: {exc}") from None


def quality_warnings(
    source: ModelSource, steps: int, guidance: float, negative_prompt: str, width: int, height: int
) -> list[str]:
    """Model-aware advice, recorded with the image (never an error)."""
    family = source.preset.family
    out: list[str] = []
    if family == "test":
        out.append(
            "test model: random weights built from a fixed seed; the picture is noise and shows "
            "nothing of the prompt"
        )
    if family == "turbo" and guidance > 0:
        out.append(
            f"Z-Image-Turbo is distilled for guidance 0; guidance {guidance:g} slows it down "
            "(two passes per step) and usually worsens the image"
        )
    if family == "turbo" and steps > 16:
        out.append(f"Z-Image-Turbo is made for 8 steps; {steps} steps costs time and adds little")
    if family == "base":
        if steps < 20:
            out.append(f"Z-Image Base needs 28-50 steps; {steps} steps gives an unfinished image")
        if guidance == 0:
            out.append("Z-Image Base without guidance ignores the negative prompt and loses detail")
        elif not 3 <= guidance <= 5:
            out.append(f"Z-Image Base is tuned for guidance 3-5, not {guidance:g}")
        if guidance > 0 and not negative_prompt.strip():
            out.append("Z-Image Base works best with a negative prompt")
        if not 512 * 512 <= width * height <= 2048 * 2048:
            out.append(
                f"Z-Image Base is trained for 512x512 to 2048x2048; {width}x{height} is outside"
            )
    return out

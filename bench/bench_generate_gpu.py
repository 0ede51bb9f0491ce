"""Generation benchmark on an NVIDIA GPU (issue 4): full-size Z-Image-Turbo at 1024x1024, plain
diffusers against our generator path, attention backends, torch.compile, and what provenance adds.

Run from the repository root on a CUDA machine (diffusers installed; nothing is downloaded)::

    python bench/bench_generate_gpu.py [--warmup 2] [--repeat 5] [--json PATH]
    python bench/bench_generate_gpu.py --tiny      # smoke test of every code path, CPU is fine

What it does, in one process (each stage guarded by a time budget, --budget-s, so that a run fits
the 600 s a command may take on the device machines):

1. builds the full-size Z-Image-Turbo architecture with **random weights**, directly on the GPU
   in bf16 (no checkpoint: the weights are not needed to time the computation):
   ``ZImageTransformer2DModel()`` (diffusers' defaults are the Turbo config, 6.15 B parameters),
   ``Qwen3Model`` with the Qwen3-4B body (4.02 B), ``AutoencoderKL`` in the FLUX VAE layout
   (84 M), ``FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=False)`` and the
   test model's in-memory byte-level tokenizer (``generator.tiny._tokenizer``; a prompt takes
   more tokens than with Qwen's: the report gives the count);
   wraps the pipeline in a ``generator.engine.LoadedModel`` (identity from
   ``generator.identity.identify``, timed: a digest over every weight);
2. (a) plain diffusers ``pipe(prompt=..., num_inference_steps=8, guidance_scale=0.0,
   height=1024, width=1024, generator=torch.Generator("cpu").manual_seed(s))`` against
   (b) our path, ``check_request`` + ``generator.engine.run``, in alternating rounds, same seeds;
   the pixels of both are compared;
3. (c) our path with each attention backend that is available (``set_attention_backend``, as
   ``load_model(attention_backend=...)`` does), then with
   ``compile_repeated_blocks(fullgraph=True)`` (as ``load_model(compile_transformer=True)``
   does; the first warm-up call includes compiling);
4. (d) ``make_draft`` + ``finalize`` of a 1024x1024 image, as a share of (b)'s generation time:
   the generated image (random weights: its content is whatever they give) and, because PNG
   encoding time depends on content, a photo-like and a noise synthetic image
   (bench_verify.make_image); a plain Pillow save alongside;
5. (e) ``generator.produce.produce`` (generate + finalize, one after the other) against
   ``generator.engine.run`` alone over the same seeds: what provenance adds on the real path.

Every timed call is bracketed by ``torch.cuda.synchronize()``; medians over --repeat timed calls
after --warmup warm-up calls; peak CUDA memory (``max_memory_allocated``) per configuration.
Markdown goes to stdout, progress to stderr; --json writes the raw figures after every stage.

Targets (issue 4): our path no slower than plain diffusers (median ratio <= 1.02x); provenance
(make_draft + finalize) under 5% of the generation time.

``--tiny`` swaps in the built-in test model at 128x128 (1 warm-up, 2 timed calls, torch.compile
with the "eager" dynamo backend on CPU, where inductor would take about a minute to compile; one
torch thread on CPU): it checks that the script runs, it measures nothing. The full-size
configuration is always also built on the meta device and its parameters counted, which checks
the configurations.
"""

from __future__ import annotations

import os

# Before anything imports huggingface_hub (the constant is read at import time).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import argparse
import contextlib
import datetime as dt
import gc
import hashlib
import inspect
import json
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _generate_common import (
    MIB,
    code_changed_note,
    code_snapshot,
    code_version,
    cores,
    cpu_model,
    log,
    median,
    memory_total,
    ms,
    p90,
    run_rows,
    software_rows,
    table,
    verdict,
    version,
)

PROMPT = (
    "A ginger cat sitting on a sunlit windowsill, golden hour, soft light, shallow depth of "
    "field, 35mm photo, highly detailed"
)
SEED = 20261121
RATIO_TARGET = 1.02  # our path / plain diffusers, median
PROVENANCE_TARGET_PCT = 5.0  # (make_draft + finalize) / generation time

#: Qwen3-4B's body (config.json of Qwen/Qwen3-4B), as Z-Image's text encoder.
QWEN3_4B = {
    "vocab_size": 151936,
    "hidden_size": 2560,
    "intermediate_size": 9728,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "hidden_act": "silu",
    "max_position_embeddings": 40960,
    "rms_norm_eps": 1e-6,
    "attention_bias": False,
    "tie_word_embeddings": True,
}
QWEN3_ROPE_THETA = 1_000_000.0
#: The FLUX VAE layout that Z-Image uses (16 latent channels, x8).
FLUX_VAE = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (128, 256, 512, 512),
    "layers_per_block": 2,
    "act_fn": "silu",
    "latent_channels": 16,
    "norm_num_groups": 32,
    "sample_size": 1024,
    "scaling_factor": 0.3611,
    "shift_factor": 0.1159,
    "use_quant_conv": False,
    "use_post_quant_conv": False,
}
DEFAULT_BACKENDS = "native,_native_flash,_native_cudnn,flash,_flash_3"


# --- building ------------------------------------------------------------------------------


def qwen3_config() -> Any:
    """A Qwen3Config for Qwen3-4B, whichever way this transformers version takes the RoPE base."""
    from transformers import Qwen3Config

    params = inspect.signature(Qwen3Config.__init__).parameters
    extra: dict[str, Any]
    if "rope_parameters" in params:  # transformers 5
        extra = {"rope_parameters": {"rope_type": "default", "rope_theta": QWEN3_ROPE_THETA}}
    else:
        extra = {"rope_theta": QWEN3_ROPE_THETA}
    return Qwen3Config(**QWEN3_4B, **extra)


@contextlib.contextmanager
def default_device_dtype(device: str, dtype: Any) -> Iterator[None]:
    """Create tensors on ``device`` in ``dtype``: weights are made where they will be used."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            yield
    finally:
        torch.set_default_dtype(previous)


def build_full_models(device: str, dtype: Any) -> dict[str, Any]:
    """Transformer, text encoder and VAE at full size, default (random) initialisation."""
    from diffusers import AutoencoderKL, ZImageTransformer2DModel
    from transformers import Qwen3Model

    config = qwen3_config()
    with default_device_dtype(device, dtype):
        models = {
            "transformer": ZImageTransformer2DModel(),
            "text_encoder": Qwen3Model(config),
            "vae": AutoencoderKL(**FLUX_VAE),
        }
    for module in models.values():
        module.eval()
        module.requires_grad_(False)
    return models


def count_parameters(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def meta_parameter_counts() -> dict[str, int]:
    """Build the full-size configuration on the meta device (no memory) and count parameters."""
    import torch

    models = build_full_models("meta", torch.bfloat16)
    return {name: count_parameters(m) for name, m in models.items()}


def build_full_pipeline(device: str, dtype: Any) -> Any:
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline

    from generator.tiny import _tokenizer

    models = build_full_models(device, dtype)
    pipe = ZImagePipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=False),
        tokenizer=_tokenizer(),
        **models,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def build_tiny(device: str, dtype: Any) -> Any:
    import torch

    from generator.tiny import build_tiny_pipeline

    pipe = build_tiny_pipeline()
    if device != "cpu" or dtype != torch.float32:
        pipe.to(device=device, dtype=dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def loaded_model(
    pipe: Any, device: str, dtype: Any, tiny: bool, build_s: float, weights_digest: bool
) -> tuple[Any, float]:
    """Our ``LoadedModel`` around an existing pipeline, as ``load_model`` would make it."""
    from generator.engine import LoadedModel
    from generator.environment import Environment
    from generator.identity import ModelIdentity, config_fingerprint, identify
    from generator.presets import PRESETS, TINY_INIT_SEED, ModelSource

    preset = PRESETS["tiny-z-image" if tiny else "z-image-turbo"]
    source = ModelSource(
        name="aigc-provenance/tiny-z-image" if tiny else "bench/random-init-z-image-turbo",
        preset=preset,
        kind="builtin",
        location=None,
        init_seed=TINY_INIT_SEED if tiny else None,
    )
    started = time.perf_counter()
    if weights_digest:
        identity = identify(pipe, None, None)
    else:  # the same identity, without the digest over every weight
        fingerprint, components = config_fingerprint(pipe)
        identity = ModelIdentity(
            pipeline_class=type(pipe).__name__,
            components=components,
            config_fingerprint=fingerprint,
            weights_digest=hashlib.sha256(b"not computed (--no-weights-digest)").hexdigest(),
            scheduler_class=type(pipe.scheduler).__name__,
        )
    identify_s = time.perf_counter() - started
    model = LoadedModel(
        source=source,
        pipe=pipe,
        device=device,
        dtype=dtype,
        identity=identity,
        environment=Environment.capture(device, dtype),
        revision="tiny-v1" if tiny else "random-init",
        folder=None,
        load_seconds=build_s + identify_s,
        options={"attention_backend": None, "compiled": False},
    )
    return model, identify_s


# --- timing --------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, device: str) -> None:
        import torch

        self.torch = torch
        self.args = args
        self.device = device
        self.cuda = device.startswith("cuda")
        self.t0 = time.perf_counter()
        self.results: dict[str, Any] = {"stages": {}, "skipped": [], "errors": []}
        self.last_call_s = 1.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def reset_peak(self) -> None:
        if self.cuda:
            self.torch.cuda.reset_peak_memory_stats()

    def peak_mib(self) -> float | None:
        if self.cuda:
            return self.torch.cuda.max_memory_allocated() / MIB
        return None

    def fits(self, name: str, calls: int, extra_s: float = 0.0) -> bool:
        """Whether ``calls`` more calls (at the last call's time) fit the budget."""
        estimate = calls * self.last_call_s * 1.2 + extra_s
        if self.elapsed() + estimate > self.args.budget_s:
            self.results["skipped"].append(
                f"{name}: skipped, {self.elapsed():.0f} s used and about {estimate:.0f} s needed "
                f"(budget {self.args.budget_s:.0f} s)"
            )
            log(f"  {name}: skipped (time budget)")
            return False
        return True

    def timed(self, func: Callable[[int], Any], seed: int) -> tuple[float, Any, float | None]:
        gc.collect()
        self.reset_peak()
        self.sync()
        started = time.perf_counter()
        value = func(seed)
        self.sync()
        seconds = time.perf_counter() - started
        self.last_call_s = seconds
        return seconds, value, self.peak_mib()

    def save(self) -> None:
        if self.args.json:
            self.args.json.write_text(
                json.dumps(self.results, indent=1, default=str) + "\n", "utf-8"
            )


def image_digest(image: Any) -> str:
    return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()[:16]


def image_stats(image: Any) -> dict[str, float]:
    import numpy as np

    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    return {"mean": float(pixels.mean()), "std": float(pixels.std())}


def pixel_diff(a: Any, b: Any) -> int:
    import numpy as np

    x = np.asarray(a.convert("RGB"), dtype=np.int16)
    y = np.asarray(b.convert("RGB"), dtype=np.int16)
    return int(np.abs(x - y).max())


def config_summary(samples: list[float], first: list[float], peaks: list[float | None]) -> dict:
    known = [p for p in peaks if p is not None]
    return {
        "samples_s": samples,
        "warmup_s": first,
        "median_s": median(samples) if samples else None,
        "p90_s": p90(samples) if samples else None,
        "min_s": min(samples) if samples else None,
        "peak_mib": max(known) if known else None,
    }


def run_stages(args: argparse.Namespace, device: str, dtype: Any, bench: Bench) -> None:
    import diffusers
    import torch

    from generator.engine import run
    from generator.produce import make_draft, produce
    from generator.request import GenerationRequest, check_request
    from provenance import KeyRing, TrustedKeys, verify
    from provenance.finalize import finalize

    # Quiet the "attention backends are an experimental feature" notice on every switch.
    diffusers.utils.logging.set_verbosity_error()
    res = bench.results
    size, steps = args.size, args.steps
    rounds = args.warmup + args.repeat
    seeds = [SEED + i for i in range(rounds)]

    # 1. build
    log("meta-device parameter counts of the full-size configuration ...")
    res["full_size_parameters_meta"] = meta_parameter_counts()
    log(f"building the {'tiny' if args.tiny else 'full-size'} pipeline on {device} ...")
    bench.reset_peak()
    bench.sync()
    started = time.perf_counter()
    pipe = build_tiny(device, dtype) if args.tiny else build_full_pipeline(device, dtype)
    bench.sync()
    build_s = time.perf_counter() - started
    weights_mib = torch.cuda.memory_allocated() / MIB if bench.cuda else None
    log(f"  built in {build_s:.1f} s; identifying ...")
    model, identify_s = loaded_model(pipe, device, dtype, args.tiny, build_s, args.weights_digest)
    res["build"] = {
        "build_s": build_s,
        "identify_s": identify_s,
        "weights_digest": args.weights_digest,
        "weights_mib": weights_mib,
        "parameters": {
            name: count_parameters(c)
            for name, c in pipe.components.items()
            if isinstance(c, torch.nn.Module)
        },
        "dtype": str(dtype).removeprefix("torch."),
        "caption_tokens": caption_tokens(pipe),
    }
    bench.save()
    log(f"  identify {identify_s:.1f} s")

    def request(seed: int) -> Any:
        return check_request(
            GenerationRequest(
                prompt=PROMPT,
                seed=seed,
                num_inference_steps=steps,
                guidance_scale=0.0,
                width=size,
                height=size,
            ),
            model.source,
        )

    def plain(seed: int) -> Any:
        return pipe(
            prompt=PROMPT,
            num_inference_steps=steps,
            guidance_scale=0.0,
            height=size,
            width=size,
            generator=torch.Generator("cpu").manual_seed(seed),
        ).images[0]

    def ours(seed: int) -> Any:
        outs = list(run(model, request(seed)))
        return outs[0].image

    # 2. (a) plain diffusers vs (b) our path, alternating rounds
    log("(a) plain diffusers vs (b) our path ...")
    ab: dict[str, dict[str, list[Any]]] = {
        k: {"s": [], "w": [], "peak": [], "img": []} for k in ("plain", "ours")
    }
    first_images: dict[str, Any] = {}
    if bench.fits("(a)/(b)", 2 * rounds, extra_s=0):
        for r, seed in enumerate(seeds):
            order = ["plain", "ours"] if r % 2 == 0 else ["ours", "plain"]
            for name in order:
                seconds, image, peak = bench.timed(plain if name == "plain" else ours, seed)
                slot = ab[name]
                (slot["w"] if r < args.warmup else slot["s"]).append(seconds)
                slot["peak"].append(peak)
                if r == args.warmup:
                    first_images[name] = image
                log(f"  round {r} {name}: {seconds:.3f} s")
        res["stages"]["plain"] = config_summary(
            ab["plain"]["s"], ab["plain"]["w"], ab["plain"]["peak"]
        )
        res["stages"]["ours"] = config_summary(ab["ours"]["s"], ab["ours"]["w"], ab["ours"]["peak"])
        reference = first_images["ours"]
        res["pixels_plain_vs_ours"] = {
            "plain": image_digest(first_images["plain"]),
            "ours": image_digest(reference),
            "max_abs_diff": pixel_diff(first_images["plain"], reference),
        }
        res["generated_image"] = image_stats(reference)
        bench.save()
    else:
        reference = None

    # 3. (c) attention backends, then compile (last: it cannot be undone)
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    default_backend = _AttentionBackendRegistry.get_active_backend()[0]
    res["default_attention_backend"] = str(getattr(default_backend, "value", default_backend))
    for backend in [b for b in args.backends.split(",") if b]:
        name = f"attention {backend}"
        if not bench.fits(name, rounds):
            continue
        log(f"(c) {name} ...")
        try:
            pipe.transformer.set_attention_backend(backend)
        except (ValueError, RuntimeError, ImportError) as exc:
            res["stages"][name] = {"unavailable": f"{type(exc).__name__}: {exc}"}
            log(f"  unavailable: {exc}")
            restore_backend(pipe, default_backend)
            continue
        model.options["attention_backend"] = backend
        try:
            res["stages"][name] = time_config(bench, ours, seeds, args.warmup, reference)
        except Exception as exc:  # a backend that fails on the first call is unavailable here
            res["stages"][name] = {
                "unavailable": f"first call failed: {type(exc).__name__}: {exc}"[:500]
            }
            log(f"  failed: {exc}")
        finally:
            restore_backend(pipe, default_backend)
            model.options["attention_backend"] = None
        bench.save()

    name = "compile_repeated_blocks"
    if args.compile and bench.fits(name, rounds, extra_s=args.compile_allowance_s):
        log(f"(c) {name}(fullgraph=True, backend={args.dynamo_backend}) ...")
        try:
            kwargs: dict[str, Any] = {"fullgraph": True}
            if args.dynamo_backend != "inductor":
                kwargs["backend"] = args.dynamo_backend
            pipe.transformer.compile_repeated_blocks(**kwargs)
            model.options["compiled"] = True
            stage = time_config(bench, ours, seeds, args.warmup, reference)
            stage["dynamo_backend"] = args.dynamo_backend
            res["stages"][name] = stage
        except Exception as exc:
            res["stages"][name] = {"unavailable": f"{type(exc).__name__}: {exc}"[:500]}
            res["errors"].append(traceback.format_exc()[-2000:])
            log(f"  failed: {exc}")
        bench.save()

    # 4. (d) provenance for one 1024x1024 image, as a share of the generation time
    from bench_verify import make_image

    workdir = Path(tempfile.mkdtemp(prefix="bench_generate_gpu."))
    ring = KeyRing.open(workdir / "keys")
    ring.init(label="bench_generate_gpu")
    key = ring.signing_key()
    policy = TrustedKeys([key.public])
    checked = request(SEED)
    generated = next(iter(run(model, checked)))  # a GeneratedImage for make_draft
    candidates = [
        ("generated (random weights)", generated.image),
        ("photo-like synthetic", make_image("photo", size=size)),
        ("noise synthetic", make_image("noise", size=size)),
    ]
    finals: dict[str, Any] = {}
    statuses: dict[str, int] = {}
    counter = 0
    log("(d) make_draft + finalize, and a plain Pillow save ...")
    for label, image in candidates:
        prov: list[float] = []
        pil: list[float] = []
        png_bytes = 0
        for r in range(1 + args.repeat):
            counter += 1
            started = time.perf_counter()
            draft = make_draft(model, checked, generated)
            result = finalize(image, draft, key, workdir / f"{counter:03d}.png")
            prov_s = time.perf_counter() - started
            started = time.perf_counter()
            image.save(workdir / f"{counter:03d}.plain.png", compress_level=6)
            pil_s = time.perf_counter() - started
            if r:  # the first is a warm-up
                prov.append(prov_s)
                pil.append(pil_s)
            png_bytes = result.path.stat().st_size
            status = str(verify(result.path, policy=policy).status)
            statuses[status] = statuses.get(status, 0) + 1
        finals[label] = {
            "provenance_s": prov,
            "pillow_s": pil,
            "median_provenance_s": median(prov),
            "median_pillow_s": median(pil),
            "png_bytes": png_bytes,
        }
    res["finalize"] = finals
    res["finalize_verify_statuses"] = statuses
    bench.save()

    # 5. (e) produce() vs run() over the same seeds: what provenance adds on the real path
    name = "produce vs run"
    if bench.fits(name, 2 * args.repeat + 2):
        log(f"(e) {name} ...")
        multi = check_request(
            GenerationRequest(
                prompt=PROMPT,
                seed=SEED,
                num_inference_steps=steps,
                guidance_scale=0.0,
                width=size,
                height=size,
                num_images=args.repeat,
            ),
            model.source,
        )
        list(run(model, request(SEED)))  # warm
        bench.sync()
        started = time.perf_counter()
        for _ in run(model, multi):
            pass
        bench.sync()
        run_s = time.perf_counter() - started
        out_dir = workdir / "produce"
        out_dir.mkdir()
        bench.sync()
        started = time.perf_counter()
        made = list(produce(model, multi, key, out_dir))
        bench.sync()
        produce_s = time.perf_counter() - started
        res["produce_vs_run"] = {
            "images": args.repeat,
            "run_s": run_s,
            "produce_s": produce_s,
            "added_pct": 100 * (produce_s - run_s) / run_s,
            "verified": sum(
                str(verify(p.result.path, policy=policy).status) == "verified" for p in made
            ),
        }
        bench.save()


def caption_tokens(pipe: Any) -> int:
    """Tokens of the prompt after the chat template (what the text encoder and DiT see)."""
    messages = [{"role": "user", "content": PROMPT}]
    text = pipe.tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, enable_thinking=True
    )
    return len(pipe.tokenizer(text)["input_ids"])


def restore_backend(pipe: Any, default_backend: Any) -> None:
    """Back to the default: set_attention_backend also changes diffusers' process-wide backend."""
    from diffusers.models.attention_dispatch import _AttentionBackendRegistry

    pipe.transformer.reset_attention_backend()
    _AttentionBackendRegistry.set_active_backend(default_backend)


def time_config(
    bench: Bench, func: Callable[[int], Any], seeds: list[int], warmup: int, reference: Any
) -> dict[str, Any]:
    samples: list[float] = []
    first: list[float] = []
    peaks: list[float | None] = []
    image0 = None
    for r, seed in enumerate(seeds):
        seconds, image, peak = bench.timed(func, seed)
        (first if r < warmup else samples).append(seconds)
        peaks.append(peak)
        if r == warmup:
            image0 = image
        log(f"  call {r}: {seconds:.3f} s")
    stage = config_summary(samples, first, peaks)
    if reference is not None and image0 is not None:
        stage["max_abs_diff_vs_default"] = pixel_diff(image0, reference)
    return stage


# --- report --------------------------------------------------------------------------------


def gpu_rows(device: str) -> list[list[str]]:
    import torch

    rows: list[list[str]] = []
    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        rows += [
            [
                "GPU",
                f"{props.name} ({props.total_memory / 2**30:.1f} GiB, "
                f"sm_{props.major}{props.minor})",
            ],
            ["CUDA (torch build)", str(torch.version.cuda)],
            ["cuDNN", str(torch.backends.cudnn.version())],
        ]
        try:
            smi = (
                subprocess.run(
                    [
                        "nvidia-smi",
                        "--query-gpu=driver_version,clocks.max.sm,power.limit",
                        "--format=csv,noheader",
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=20,
                )
                .stdout.strip()
                .splitlines()[0]
            )
            rows.append(["driver, max SM clock, power limit", smi])
        except (OSError, subprocess.SubprocessError, IndexError):
            pass
    else:
        rows.append(["GPU", "none: ran on the CPU (--tiny smoke test, NOT a measurement)"])
    rows += [
        ["flash-attn", version("flash-attn")],
        [
            "flash-attn 3 (flash_attn_interface)",
            "importable" if _importable("flash_attn_interface") else "not installed",
        ],
    ]
    return rows


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def fmt_s(value: float | None) -> str:
    return "n/a" if value is None else ms(value)


def report(
    args: argparse.Namespace, device: str, bench: Bench, started: dt.datetime, code: str
) -> str:
    import torch

    res = bench.results
    out: list[str] = []
    emit = out.append
    if args.tiny:
        emit(
            "**SMOKE TEST (--tiny): the built-in test model at "
            f"{args.size}x{args.size} on {device}. It shows that the script runs; these "
            "figures are NOT measurements of Z-Image-Turbo.**\n"
        )
    build = res.get("build", {})
    rows = [
        *gpu_rows(device),
        ["CPU", cpu_model()],
        ["cores", cores()],
        ["memory", memory_total()],
        *software_rows(torch.get_num_threads()),
        *run_rows(started, code),
    ]
    emit("Machine and software:\n")
    emit(table(["item", "value"], rows, "ll"))

    meta = res.get("full_size_parameters_meta", {})
    params = build.get("parameters", {})
    emit(
        "\nModel: "
        + (
            "the built-in test model"
            if args.tiny
            else "full-size Z-Image-Turbo architecture, "
            "random weights (default initialisation), built on the GPU"
        )
        + f", {build.get('dtype')}; parameters: "
        + ", ".join(f"{k} {v:,}" for k, v in params.items())
        + ". Full-size configuration counted on the meta device: "
        + ", ".join(f"{k} {v / 1e9:.3f} B" for k, v in meta.items())
        + f". Request: {args.size}x{args.size}, {args.steps} steps, guidance 0, batch 1, "
        f"prompt of {build.get('caption_tokens')} tokens after the chat template (byte-level "
        f"test tokenizer). Build {build.get('build_s', 0):.1f} s; identity "
        f"{build.get('identify_s', 0):.1f} s ("
        + (
            "sha256 over every weight, as `identify(pipe, None, None)`"
            if build.get("weights_digest")
            else "config fingerprint only, --no-weights-digest"
        )
        + ")"
        + (
            f"; weights on the GPU {build['weights_mib'] / 1024:.1f} GiB"
            if build.get("weights_mib")
            else ""
        )
        + f". {args.repeat} timed calls after {args.warmup} warm-up calls per configuration; "
        "(a) and (b) in alternating rounds with the same seeds.\n"
    )

    stages = res["stages"]
    plain_med = stages.get("plain", {}).get("median_s")
    rows = []
    labels = {
        "plain": "(a) plain diffusers `pipe(...)`",
        "ours": "(b) our path: `check_request` + `engine.run`",
    }
    for key, stage in stages.items():
        label = labels.get(key, f"(c) our path, {key}")
        if "unavailable" in stage:
            rows.append([label, "unavailable", "", "", "", "", "", stage["unavailable"][:160]])
            continue
        ratio = (
            f"{stage['median_s'] / plain_med:.3f}x"
            if plain_med and stage.get("median_s")
            else "n/a"
        )
        diff = stage.get("max_abs_diff_vs_default")
        rows.append(
            [
                label,
                fmt_s(stage["median_s"]),
                fmt_s(stage["p90_s"]),
                fmt_s(stage["min_s"]),
                ", ".join(ms(w) for w in stage["warmup_s"]),
                ratio,
                f"{stage['peak_mib'] / 1024:.2f}" if stage.get("peak_mib") else "n/a",
                "" if diff is None else f"max pixel diff vs (b): {diff}",
            ]
        )
    emit(f"Time per {args.size}x{args.size} image (ms, synchronized):\n")
    emit(
        table(
            [
                "configuration",
                "median",
                "p90",
                "min",
                "warm-up calls",
                "vs (a)",
                "peak CUDA GiB",
                "note",
            ],
            rows,
            "lrrrrrrl",
        )
    )
    pix = res.get("pixels_plain_vs_ours")
    if pix:
        emit(
            f"\n(a) and (b) pixels for the same seed: {pix['plain']} vs {pix['ours']} "
            f"(max abs diff {pix['max_abs_diff']}); generated image mean "
            f"{res['generated_image']['mean']:.1f}, std {res['generated_image']['std']:.1f}."
        )

    ours_med = stages.get("ours", {}).get("median_s")
    finals = res.get("finalize", {})
    rows = []
    worst_pct = None
    for label, f in finals.items():
        pct = 100 * f["median_provenance_s"] / ours_med if ours_med else None
        if pct is not None:
            worst_pct = pct if worst_pct is None else max(worst_pct, pct)
        rows.append(
            [
                label,
                ms(f["median_provenance_s"]),
                ms(f["median_pillow_s"]),
                f"{f['png_bytes']:,}",
                "n/a" if pct is None else f"{pct:.1f}%",
            ]
        )
    emit(
        f"\n(d) Provenance for one {args.size}x{args.size} image (CPU work: `make_draft` + "
        "`finalize` to a file with fsync and sidecar; medians):\n"
    )
    emit(
        table(
            [
                "image",
                "make_draft + finalize (ms)",
                "Pillow save (ms)",
                "signed PNG (B)",
                "% of (b) generation",
            ],
            rows,
        )
    )
    pvr = res.get("produce_vs_run")
    if pvr:
        emit(
            f"\n(e) `produce()` vs `run()` over the same {pvr['images']} seeds: "
            f"{pvr['produce_s']:.2f} s vs {pvr['run_s']:.2f} s, provenance adds "
            f"{pvr['added_pct']:.1f}% ({pvr['verified']} of {pvr['images']} files verified)."
        )

    # Targets.
    def judge(ok: bool | None) -> str:
        return "no verdict (smoke test)" if args.tiny else verdict(ok)

    lines = []
    ratio = ours_med / plain_med if ours_med and plain_med else None
    lines.append(
        [
            f"our path no slower than plain diffusers: median ratio <= {RATIO_TARGET:g}x",
            "n/a" if ratio is None else f"{ratio:.3f}x",
            judge(None if ratio is None else ratio <= RATIO_TARGET),
        ]
    )
    lines.append(
        [
            f"provenance < {PROVENANCE_TARGET_PCT:g}% of generation time (worst image of (d))",
            "n/a" if worst_pct is None else f"{worst_pct:.1f}%",
            judge(None if worst_pct is None else worst_pct < PROVENANCE_TARGET_PCT),
        ]
    )
    if pvr:
        lines.append(
            [
                f"for reference: (e) produce() adds < {PROVENANCE_TARGET_PCT:g}% over run()",
                f"{pvr['added_pct']:.1f}%",
                judge(pvr["added_pct"] < PROVENANCE_TARGET_PCT),
            ]
        )
    emit("\nTargets (issue 4):\n")
    emit(table(["target", "measured", "result"], lines, "lll"))
    emit("")
    for line in lines[:2]:
        emit(f"- **{line[2]}**: {line[0]} ({line[1]})")
    notes = list(res["skipped"])
    statuses = res.get("finalize_verify_statuses", {})
    if statuses and set(statuses) != {"verified"}:
        notes.append(f"finalized files did not all verify: {statuses}")
    notes += [f"error: {e}" for e in res["errors"]]
    emit(
        f"\nTotal wall time {bench.elapsed():.0f} s (budget {args.budget_s:.0f} s). "
        + ("Notes:\n" + "\n".join(f"- {n}" for n in notes) if notes else "Nothing skipped.")
    )
    if args.tiny:
        emit("\n**SMOKE TEST: not a measurement.**")
    return "\n".join(out)


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="smoke test with the test model")
    parser.add_argument("--warmup", type=int, help="warm-up calls per configuration (2; tiny 1)")
    parser.add_argument("--repeat", type=int, help="timed calls per configuration (5; tiny 2)")
    parser.add_argument("--size", type=int, help="width and height (1024; tiny 128)")
    parser.add_argument("--steps", type=int, default=8, help="inference steps (default 8)")
    parser.add_argument(
        "--backends",
        default=DEFAULT_BACKENDS,
        help=f"attention backends to try, comma-separated (default {DEFAULT_BACKENDS})",
    )
    parser.add_argument(
        "--no-compile", dest="compile", action="store_false", help="skip torch.compile"
    )
    parser.add_argument(
        "--dynamo-backend",
        help="torch.compile backend for compile_repeated_blocks (inductor; tiny on CPU: eager)",
    )
    parser.add_argument(
        "--compile-allowance-s",
        type=float,
        default=180.0,
        help="time kept free for compiling when checking the budget (default 180)",
    )
    parser.add_argument(
        "--no-weights-digest",
        dest="weights_digest",
        action="store_false",
        help="identity without the sha256 over every weight (saves tens of seconds)",
    )
    parser.add_argument(
        "--budget-s",
        type=float,
        default=540.0,
        help="skip stages that would end after this many seconds (default 540)",
    )
    parser.add_argument("--json", type=Path, help="write the raw figures here (after each stage)")
    args = parser.parse_args()

    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        parser.error("no CUDA device: this benchmark needs an NVIDIA GPU (or --tiny)")
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    args.warmup = args.warmup if args.warmup is not None else (1 if args.tiny else 2)
    args.repeat = args.repeat if args.repeat is not None else (2 if args.tiny else 5)
    args.size = args.size or (128 if args.tiny else 1024)
    if args.tiny and not cuda:
        torch.set_num_threads(1)  # a smoke test: do not let a busy 2-core machine stall it
    if args.dynamo_backend is None:
        args.dynamo_backend = "eager" if args.tiny and not cuda else "inductor"
    if args.repeat < 1 or args.warmup < 0 or args.size % 16:
        parser.error("--repeat >= 1, --warmup >= 0, --size a multiple of 16")

    started = dt.datetime.now(dt.UTC)
    bench = Bench(args, device)
    bench.results["args"] = vars(args)
    code_before = code_snapshot()
    code = code_version()
    bench.results["code_measured"] = code
    try:
        run_stages(args, device, dtype, bench)
    except Exception:
        bench.results["errors"].append(traceback.format_exc()[-3000:])
        log(traceback.format_exc())
    note = code_changed_note(code_before)
    if note:
        bench.results["skipped"].append(note)
    bench.save()
    print(report(args, device, bench, started, code))
    return 0 if not bench.results["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())

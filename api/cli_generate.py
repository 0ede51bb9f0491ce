"""``aigc-prov generate``, ``edit``, ``sweep``, ``interpolate``, ``reproduce``, ``lineage``,
``models``: the generator's commands, a thin layer over :mod:`generator`.

Every request is checked completely (size, steps, guidance, prompt, model, edit input, mask)
before torch is even imported, so a mistake costs milliseconds. Unless ``--allow-download`` is
given, Hugging Face offline mode is switched on for this process before diffusers is imported:
nothing is fetched that the user did not ask for.

Ctrl-C stops at the end of the current denoising step: images already written stay (each is
complete, signed and catalogued), the interrupted batch is discarded, and the command exits 130.
A second Ctrl-C stops at once; files are still never half-written (they are written atomically).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api._text import out as _out
from api._text import printable
from generator.errors import GenerationCancelled, GenerationRequestError
from generator.presets import DEFAULT_MODEL, PRESETS, ModelSource, resolve_model
from generator.request import (
    MAX_IMAGES,
    CheckedRequest,
    GenerationRequest,
    check_device,
    check_output_folder,
    check_request,
)
from provenance.signing.keys import SigningKey
from provenance.signing.policy import TrustPolicy
from provenance.verify import verify

if TYPE_CHECKING:
    from generator.engine import LoadedModel, StopFlag
    from provenance.catalog.store import Catalog

__all__ = ["Hooks", "register"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class Hooks:
    """What the main program provides: keys, catalog and trust policy from its settings."""

    signing_key: Callable[[argparse.Namespace], SigningKey]
    open_catalog: Callable[[argparse.Namespace], Catalog]
    existing_catalog: Callable[[argparse.Namespace], Catalog | None]
    policy: Callable[[argparse.Namespace], TrustPolicy]


def _hub_cache() -> Path:
    """Hugging Face's cache folder, as huggingface_hub itself finds it."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".cache" / "huggingface"
    return base / "hub"


def _offline_unless_asked(args: argparse.Namespace) -> None:
    # Read when torch starts its OpenMP threads: sleeping instead of spinning keeps small shared
    # machines from stalling 3-30x when another process holds a core (BENCHMARKS.md).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if not getattr(args, "allow_download", False):
        # read by huggingface_hub at import time: must be set before diffusers is imported
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _resolve(args: argparse.Namespace, spec: str | None = None) -> ModelSource:
    check_device(args.device)
    if getattr(args, "out", None) is not None:
        check_output_folder(Path(args.out))
    revision = getattr(args, "revision", None)
    source = resolve_model(
        spec or args.model,
        hub_cache=_hub_cache(),
        allow_download=args.allow_download,
        revision=revision,
    )
    if revision is not None and source.kind != "hub":
        raise GenerationRequestError(
            f"--revision only applies to Hugging Face models; {source.name} is a {source.kind} "
            "model"
        )
    return source


def _load(args: argparse.Namespace, source: ModelSource, dtype: str | None = None) -> LoadedModel:
    _offline_unless_asked(args)
    from generator.engine import load_model

    note = f"loading {source.name}"
    if source.is_test_model:
        note += " (test model: random weights, the pictures are noise)"
    print(note + " ...", file=sys.stderr, flush=True)
    return load_model(
        source,
        device=args.device,
        dtype=args.dtype or dtype,
        digest_cache=args.home / "cache" / "weights-sha256.json",
        allow_download=args.allow_download,
        attention_backend=getattr(args, "attention_backend", None),
        compile_transformer=getattr(args, "compile", False),
    )


@contextlib.contextmanager
def _stop_on_ctrl_c() -> Iterator[StopFlag]:
    """First Ctrl-C: finish the current step and stop. Second: the usual KeyboardInterrupt."""
    from generator.engine import StopFlag

    flag = StopFlag()
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        flag.set()
        print("\nstopping after this step (Ctrl-C again to abort now) ...", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: no handler, Ctrl-C behaves as usual
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class _Bars:
    """One bar for images, one for the denoising steps of the current call (on stderr)."""

    def __init__(self, images: int, quiet: bool) -> None:
        from tqdm import tqdm

        disable = True if quiet else None  # None: only on a terminal
        self.images = tqdm(
            total=images, desc="images", unit="img", file=sys.stderr, disable=disable, position=0
        )
        self.steps = tqdm(
            total=0,
            desc="steps",
            unit="step",
            file=sys.stderr,
            disable=disable,
            leave=False,
            position=1,
        )

    def on_step(self, done: int, total: int) -> None:
        if done == 1 or self.steps.total != total:
            self.steps.reset(total=total)
        self.steps.update(done - self.steps.n)

    def image_done(self, line: str) -> None:
        self.images.update(1)
        if self.images.disable:
            _out(line)
        else:
            self.images.write(printable(line), file=sys.stdout)

    def close(self) -> None:
        self.steps.close()
        self.images.close()


def _parent_lookup(args: argparse.Namespace) -> Callable[[Path, str], str | None]:
    policy = hooks_of(args).policy(args)

    def lookup(path: Path, digest: str) -> str | None:
        """The input's record id when a trusted key signed it and it describes these pixels."""
        report = verify(path, policy=policy, catalog=None)
        record = report.record
        if record is None or not any(f.code == "signature_valid" for f in report.findings):
            return None
        signer = report.signer
        if signer is None or not signer.trusted or signer.revoked_at:
            return None  # anyone can sign a record naming any id: only trusted signers count
        if (record["content"]["pixel_digest"] or {}).get("value") != digest:
            return None
        return str(record["record_id"])

    return lookup


def hooks_of(args: argparse.Namespace) -> Hooks:
    hooks: Hooks = args.hooks
    return hooks


def _request_from_args(args: argparse.Namespace, **extra: Any) -> GenerationRequest:
    values: dict[str, Any] = {
        "prompt": args.prompt,
        "negative_prompt": args.negative_prompt or "",
        "seed": getattr(args, "seed", -1),
        "num_inference_steps": args.steps,
        "guidance_scale": args.cfg,
        "width": args.width,
        "height": args.height,
        "num_images": getattr(args, "num_images", 1),
        "batch_size": getattr(args, "batch_size", 1),
        "cfg_normalization": args.cfg_normalization,
    }
    values.update(extra)
    return GenerationRequest(**values)


def _produce(
    args: argparse.Namespace,
    source: ModelSource,
    checked: CheckedRequest,
    *,
    frames: Any = None,
    run_info: dict[str, Any] | None = None,
    name: Any = None,
    written: list[Path] | None = None,
) -> int:
    """Load the model, generate, finalize and print each image; ``written`` collects paths."""
    hooks = hooks_of(args)
    key = hooks.signing_key(args)  # before the model: a missing passphrase fails fast
    model = _load(args, source)
    from generator.produce import produce

    count = len(frames) if frames is not None else len(checked.seeds)
    if checked.seed_was_drawn and not args.json:
        print(f"seed -1: drew seed {checked.seeds[0]}", file=sys.stderr)
    for warning in checked.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    bars = _Bars(count, quiet=args.json)
    made = 0
    try:
        with hooks.open_catalog(args) as catalog, _stop_on_ctrl_c() as stop:
            for item in produce(
                model,
                checked,
                key,
                Path(args.out),
                catalog=catalog,
                frames=frames,
                run_info=run_info,
                name=name,
                on_step=bars.on_step,
                stop=stop,
            ):
                made += 1
                if written is not None:
                    written.append(item.result.path)
                record = item.result.record
                seed = record["generation"]["seed"]
                if args.json:
                    line = json.dumps(
                        {
                            "file": str(item.result.path),
                            "sidecar": str(item.result.sidecar),
                            "record_id": item.result.record_id,
                            "seed": seed,
                            "batch": record["generation"]["batch"],
                            "model": record["model"]["name"],
                            "task": record["task"]["type"],
                            "parent_record_id": record["task"]["parent_record_id"],
                            "seconds": record["performance"]["generation_time"],
                            "warnings": record.get("warnings", []),
                        },
                        ensure_ascii=False,
                    )
                else:
                    shown = seed if seed is not None else "-"
                    line = f"{item.result.path}  record={item.result.record_id}  seed={shown}"
                bars.image_done(line)
    except GenerationCancelled as exc:
        bars.close()
        print(
            f"interrupted: {exc}; {made} finished image(s) kept, nothing half-written",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    bars.close()
    return EXIT_OK


# --- commands -----------------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> int:
    source = _resolve(args)
    checked = check_request(_request_from_args(args), source)
    return _produce(args, source, checked)


DEMO_PROMPT = "一只橘猫坐在窗台上，高清照片"
DEMO_NEGATIVE = "模糊, low quality"


def generate_demo(args: argparse.Namespace, written: list[Path]) -> int:
    """The README's main job: one image from the default model (seed 42), signed and written."""
    for name, value in (
        ("model", DEFAULT_MODEL),
        ("seed", 42),
        ("steps", None),
        ("cfg", None),
        ("width", None),
        ("height", None),
        ("cfg_normalization", False),
        ("revision", None),
        ("device", None),
        ("dtype", None),
        ("allow_download", False),
        ("json", False),
    ):
        setattr(args, name, value)
    args.prompt, args.negative_prompt = DEMO_PROMPT, DEMO_NEGATIVE
    source = _resolve(args)
    checked = check_request(_request_from_args(args), source)
    return _produce(args, source, checked, written=written)


def cmd_edit(args: argparse.Namespace) -> int:
    source = _resolve(args)
    request = _request_from_args(
        args,
        image=Path(args.image),
        mask=Path(args.mask) if args.mask else None,
        strength=args.strength,
    )
    checked = check_request(request, source, parent_lookup=_parent_lookup(args))
    if not args.json and checked.edit is not None:
        parent = checked.edit.parent_record_id
        print(
            f"input record: {parent or 'none (the input carries no valid record of ours)'}",
            file=sys.stderr,
        )
    return _produce(args, source, checked, run_info={"kind": "edit"})


def cmd_sweep(args: argparse.Namespace) -> int:
    from generator.engine import Frame

    source = _resolve(args)
    checked = check_request(
        _request_from_args(args, seed=args.start_seed, num_images=args.count), source
    )
    frames = [
        Frame(
            seed=s,
            extension={
                "kind": "sweep",
                "start_seed": args.start_seed,
                "count": args.count,
                "index": i,
            },
        )
        for i, s in enumerate(checked.seeds)
    ]
    return _produce(args, source, checked, frames=frames)


def cmd_interpolate(args: argparse.Namespace) -> int:
    from generator.engine import Frame

    if not 2 <= args.frames <= MAX_IMAGES:
        raise GenerationRequestError(
            f"--frames must be between 2 and {MAX_IMAGES} (both ends included), not {args.frames}"
        )
    if args.seed_a < 0 or args.seed_b < 0:
        raise GenerationRequestError("--seed-a and --seed-b must be seeds (0 or more), not -1")
    source = _resolve(args)
    checked = check_request(_request_from_args(args, seed=args.seed_a), source)
    if args.seed_b > 2**53 - 1:
        raise GenerationRequestError("--seed-b must be between 0 and 2**53 - 1")
    frames = []
    for i in range(args.frames):
        t = i / (args.frames - 1)
        frames.append(
            Frame(
                seed=args.seed_a,
                seed_b=args.seed_b,
                t=t,
                extension={
                    "kind": "interpolate",
                    "seed_a": args.seed_a,
                    "seed_b": args.seed_b,
                    "frames": args.frames,
                    "index": i,
                    "t": t,
                },
            )
        )
    from generator.produce import run_stamp

    stamp = run_stamp()

    def name(out: Any) -> str:
        return f"{stamp}-interp-{args.seed_a}-{args.seed_b}-f{out.index:03d}"

    return _produce(args, source, checked, frames=frames, name=name)


def _record_from_file(args: argparse.Namespace, path: Path) -> tuple[dict[str, Any], str, bool]:
    """The signed record a file carries (signature checked), its verification status, and
    whether its signer is trusted."""
    if not path.is_file():
        raise GenerationRequestError(f"{path} does not exist or is not a file")
    report = verify(path, policy=hooks_of(args).policy(args), catalog=None)
    if report.record is None or not any(f.code == "signature_valid" for f in report.findings):
        raise GenerationRequestError(
            f"{path} carries no validly signed record ({report.status.value}); nothing to rerun"
        )
    trusted = report.signer is not None and report.signer.trusted and not report.signer.revoked_at
    return report.record, report.status.value, trusted


def cmd_reproduce(args: argparse.Namespace) -> int:
    from generator.reproduce import (
        edit_input_for,
        plan_reproduction,
        recorded_dtype,
        reproduce_record,
        source_from_record,
    )
    from provenance.finalize import open_image

    path = Path(args.file)
    record, status, trusted = _record_from_file(args, path)
    if not trusted and not args.model:
        # The record names the model to load (a folder or hub id): only a trusted signer may
        # choose what this machine loads and runs.
        raise GenerationRequestError(
            f"{path} is signed by a key you do not trust ({status}); its record names the model "
            "to load, so choose it yourself with --model"
        )
    source = source_from_record(
        record,
        model_override=args.model,
        hub_cache=_hub_cache(),
        allow_download=args.allow_download,
    )
    edit = edit_input_for(
        record, Path(args.input) if args.input else None, Path(args.mask) if args.mask else None
    )
    plan_reproduction(record, edit)  # refuse a malformed or excessive record before loading
    model = _load(args, source, dtype=recorded_dtype(record))
    bars = _Bars(1, quiet=args.json)
    try:
        with _stop_on_ctrl_c() as stop:
            result = reproduce_record(
                record, open_image(path), model, edit=edit, on_step=bars.on_step, stop=stop
            )
    except GenerationCancelled:
        bars.close()
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    bars.close()
    if args.json:
        out = result.to_dict()
        out["file"] = str(path)
        out["verification_status"] = status
        _out(json.dumps(out, ensure_ascii=False))
    else:
        _out(f"{path}: {result.outcome}  record={result.record_id}  ({result.seconds:.2f} s)")
        if result.outcome != "identical":
            psnr = "inf" if result.psnr_db is None else f"{result.psnr_db:.2f} dB"
            _out(f"  max abs difference {result.max_abs_diff}, PSNR {psnr}")
        for diff in result.differences:
            _out(f"  {diff['field']}: recorded {diff['recorded']}, now {diff['now']}")
        if status not in ("verified", "verified_reencoded"):
            _out(f"  note: the file itself verifies as {status}")
    return EXIT_OK if result.outcome == "identical" else EXIT_FAILED


def cmd_lineage(args: argparse.Namespace) -> int:
    from generator.lineage import lineage

    target = args.target
    first = None
    path = Path(target)
    if path.is_file():
        first, _status, _trusted = _record_from_file(args, path)
        record_id = str(first["record_id"])
    else:
        record_id = target
    catalog = hooks_of(args).existing_catalog(args)
    try:
        if first is None and catalog is None:
            raise GenerationRequestError(
                f"{target} is not a file and there is no catalog to look the record up in"
            )
        steps = lineage(catalog, record_id, first)
    finally:
        if catalog is not None:
            catalog.close()
    if first is None and steps and not steps[0].found:
        raise GenerationRequestError(f"record {record_id} is not in the catalog")
    broken = any(step.note for step in steps)  # a link whose pixels differ, or a cycle
    if args.json:
        _out(json.dumps([s.to_dict() for s in steps], ensure_ascii=False))
        return EXIT_FAILED if broken else EXIT_OK
    for depth, step in enumerate(steps):
        lead = "  " * depth + ("└─ " if depth else "")
        if not step.found:
            _out(f"{lead}{step.record_id}  (parent not in the catalog)")
            continue
        if step.note and step.note.startswith("cycle"):
            _out(f"{lead}{step.record_id}  ({step.note})")
            continue
        prompt = (step.prompt or "").replace("\n", " ")
        prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
        _out(f"{lead}{step.record_id}  {step.task}  {step.created_at}  {prompt}")
        if step.file_path:
            _out(f"{'  ' * depth}   file: {step.file_path}")
        if step.note:
            _out(f"{'  ' * depth}   WARNING: {step.note}")
    return EXIT_FAILED if broken else EXIT_OK


def cmd_models_list(args: argparse.Namespace) -> int:
    rows = [
        {
            "name": p.name,
            "source": p.hub_id or "built in",
            "steps": p.steps,
            "guidance": p.guidance_scale,
            "size": p.size,
            "description": p.description,
            "default": p.name == DEFAULT_MODEL,
        }
        for p in PRESETS.values()
    ]
    if args.json:
        _out(json.dumps(rows, ensure_ascii=False))
        return EXIT_OK
    for row in rows:
        mark = " (default)" if row["default"] else ""
        _out(f"{row['name']}{mark}: {row['description']}")
        _out(
            f"    source {row['source']}; {row['steps']} steps, guidance {row['guidance']:g}, "
            f"{row['size']}x{row['size']}"
        )
    return EXIT_OK


def cmd_models_save_tiny(args: argparse.Namespace) -> int:
    _offline_unless_asked(args)
    from generator.tiny import save_tiny_model

    folder = Path(args.folder)
    if folder.exists() and any(folder.iterdir()):
        raise GenerationRequestError(f"{folder} exists and is not empty; choose a new folder")
    save_tiny_model(folder)
    _out(f"saved the test model to {folder}; use it with --model {folder}")
    return EXIT_OK


# --- parser -------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _model_options(p: argparse.ArgumentParser, *, default: str | None = DEFAULT_MODEL) -> None:
    p.add_argument(
        "--model",
        default=default,
        help="preset ("
        + ", ".join(PRESETS)
        + "), local diffusers folder, or Hugging Face id"
        + (f" (default: {default}, a test model whose pictures are noise)" if default else ""),
    )
    p.add_argument("--revision", help="hub revision (branch, tag or commit) for a hub model")
    p.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--dtype", choices=("bf16", "fp32"), help="default: bf16 on CUDA, else fp32")
    p.add_argument(
        "--allow-download",
        action="store_true",
        help="let Hugging Face download a model that is not in the local cache",
    )
    p.add_argument(
        "--attention-backend",
        metavar="NAME",
        help="diffusers attention backend, e.g. flash, _flash_3, native (default: diffusers')",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the transformer's blocks (GPU: faster after a slow first call)",
    )


def _generation_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--negative-prompt", default="")
    p.add_argument("--steps", type=int, help="denoising steps (default: the model's preset)")
    p.add_argument(
        "--cfg",
        type=float,
        help="guidance scale as Z-Image takes it: 0 = none (Turbo), 3-5 for Base",
    )
    p.add_argument(
        "--cfg-normalization",
        action="store_true",
        help="cap the guided prediction's norm (Base: realism)",
    )
    p.add_argument("--width", type=int, help="multiple of 16 (default: the preset's size)")
    p.add_argument("--height", type=int, help="multiple of 16 (default: the preset's size)")
    _model_options(p)
    p.add_argument("--out", default="out", metavar="DIR", help="output folder (default: ./out)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")


def register(sub: Any, hooks: Hooks) -> None:
    """Add the generator's commands to the main parser."""

    def add(name: str, func: Callable[[argparse.Namespace], int], text: str) -> Any:
        codes = (
            "Exit codes: 0 identical, 1 differs, 2 unusable input or request, 130 interrupted."
            if name == "reproduce"
            else "Exit codes: 0 done, 2 bad request or unusable input (nothing was loaded), "
            "130 interrupted (finished images are kept)."
        )
        p = sub.add_parser(name, help=text, description=text, epilog=codes)
        p.set_defaults(func=func, hooks=hooks)
        return p

    p = add("generate", cmd_generate, "generate images; each is signed, embedded and catalogued")
    p.add_argument("prompt", metavar="PROMPT")
    p.add_argument(
        "--seed",
        type=int,
        default=-1,
        help="-1 (default) draws a seed and records it; image k of a batch uses seed+k",
    )
    p.add_argument("--num-images", type=int, default=1)
    p.add_argument(
        "--batch-size",
        type=int,
        default=1,
        help="images per diffusers call (default 1: each image reproduces on its own)",
    )
    _generation_options(p)

    p = add("edit", cmd_edit, "image-to-image, or inpainting with --mask (white = repaint)")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--prompt", required=True)
    p.add_argument(
        "--strength", type=float, help="how much to change, (0, 1] (default 0.6; 1.0 with a mask)"
    )
    p.add_argument("--mask", metavar="MASK.png", help="same size as IMAGE; white = repaint")
    p.add_argument("--seed", type=int, default=-1)
    p.add_argument("--num-images", type=int, default=1)
    _generation_options(p)

    p = add("sweep", cmd_sweep, "the same prompt over consecutive seeds, one image per seed")
    p.add_argument("prompt", metavar="PROMPT")
    p.add_argument("--start-seed", type=int, required=True)
    p.add_argument("--count", type=_positive_int, required=True)
    _generation_options(p)

    p = add(
        "interpolate",
        cmd_interpolate,
        "frames between two seeds (spherical interpolation of the initial noise)",
    )
    p.add_argument("prompt", metavar="PROMPT")
    p.add_argument("--seed-a", type=int, required=True)
    p.add_argument("--seed-b", type=int, required=True)
    p.add_argument("--frames", type=int, default=5, help="frames, both ends included (default 5)")
    _generation_options(p)

    p = add(
        "reproduce",
        cmd_reproduce,
        "regenerate an image from its own record and compare pixels (exit 1 if they differ)",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--input", metavar="IMAGE", help="an edit's input image")
    p.add_argument("--mask", metavar="MASK.png", help="an inpainting's mask")
    p.add_argument(
        "--key",
        action="append",
        metavar="PUBLIC_KEY_FILE",
        help="trust only these public keys instead of the key ring",
    )
    _model_options(p, default=None)
    p.add_argument("--json", action="store_true")

    p = add(
        "lineage",
        cmd_lineage,
        "show the chain of edits behind a record or file (exit 1 if a link does not hold)",
    )
    p.add_argument("target", metavar="RECORD_ID|FILE")
    p.add_argument("--key", action="append", metavar="PUBLIC_KEY_FILE")
    p.add_argument("--json", action="store_true")

    models = sub.add_parser("models", help="model presets; save the test model as a folder")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    p = msub.add_parser("list", help="the presets and their defaults")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models_list, hooks=hooks)
    p = msub.add_parser("save-tiny", help="write the built-in test model as a diffusers folder")
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(func=cmd_models_save_tiny, hooks=hooks, allow_download=False)

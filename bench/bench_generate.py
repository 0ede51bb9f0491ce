"""Generation benchmark (issue 4), CPU: one 512x512 image with the default (tiny) model, time and
peak memory, split into generation and provenance, in one run.

Run from the repository root::

    .venv/bin/python bench/bench_generate.py [--repeat N] [--warmup W] [--json PATH]

What it does, in one process:

1. imports torch, diffusers, transformers and the generator (timed: the import cost);
2. loads the default model once through ``generator.engine.load_model`` (timed; the identity
   digest it computes is timed again on its own, for scale);
3. one request of W + N images (seeds S, S+1, ...; defaults: 512x512, 8 steps, guidance 0, from
   the model's preset) through ``generator.engine.run``, one image at a time; per image it times
   - generation: the ``run`` iterator producing the image (one diffusers call);
   - provenance: ``generator.produce.make_draft`` + ``provenance.finalize.finalize`` into a
     temporary folder (record, validate, sign, embed, atomic write with fsync, sidecar);
   - the reference: a plain Pillow ``save(compress_level=6)`` of the same image (finalize's PNG
     level), in alternating order with finalize, so finalize's overhead is visible;
   and the memory: peak RSS of each phase (VmHWM after resetting it through
   ``/proc/self/clear_refs``), RSS before and after, process CPU time;
4. the same seeds again through ``generator.produce.produce`` (the real path, generation and
   finalize together), as a cross-check of the split;
5. ``provenance.verify`` of every file written.

The first W images are warm-up: shown on their own, not in the statistics. Markdown goes to
stdout (progress to stderr); it exits 0 whatever the targets say: it is a measurement.

Targets (issue 4), per 512x512 image with the default model on this 2-core machine: under 3 s
(generation + provenance, p90 of the timed images) and under 1 GB (the process's peak RSS,
imports and model included).
"""

from __future__ import annotations

import os

# Before anything imports huggingface_hub (the constant is read at import time).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import argparse
import datetime as dt
import gc
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _generate_common import (
    CpuShare,
    code_changed_note,
    code_snapshot,
    code_version,
    cores,
    cpu_model,
    load_average,
    log,
    median,
    memory_total,
    ms,
    p90,
    run_rows,
    secs,
    software_rows,
    table,
    verdict,
)

PROMPT = "一只橘猫坐在窗台上, golden hour, 高清照片, soft light"
SEED = 20261121
COMPRESS_LEVEL = 6  # finalize's default PNG level
# Targets (issue 4).
TIME_TARGET_S = 3.0  # generation + provenance per 512x512 image
MEMORY_TARGET_BYTES = 10**9  # 1 GB (= 953.7 MiB), the process's peak RSS


# --- memory --------------------------------------------------------------------------------


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


class Memory:
    """RSS now, and the peak RSS of a phase (VmHWM, reset to the current RSS before the phase).

    Resetting VmHWM also lowers what ``ru_maxrss`` reports for this process, so the process's
    peak is kept here: the highest VmHWM read before any reset, and at the end.
    """

    def __init__(self) -> None:
        self.process_peak_kib = status_kib("VmHWM")
        self.resets_work = self._reset()

    def _reset(self) -> bool:
        self.process_peak_kib = max(self.process_peak_kib, status_kib("VmHWM"))
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def start(self) -> int:
        """Reset the peak to the RSS now; returns that RSS (KiB)."""
        if self.resets_work:
            self._reset()
        return status_kib("VmRSS")

    def peak(self) -> int:
        """The peak RSS (KiB) since :meth:`start` (since the process began, without resets)."""
        value = status_kib("VmHWM")
        self.process_peak_kib = max(self.process_peak_kib, value)
        return value

    def finish(self) -> int:
        return max(self.process_peak_kib, status_kib("VmHWM"))


def maxrss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak / 1024) if sys.platform == "darwin" else int(peak)


# --- the run -------------------------------------------------------------------------------


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    share = CpuShare()
    load_start = load_average()
    results: dict[str, Any] = {"problems": []}
    problems: list[str] = results["problems"]
    rss_start_kib = status_kib("VmRSS")

    log("importing torch, diffusers, transformers, generator ...")
    started = time.perf_counter()
    import diffusers  # noqa: F401
    import torch
    import transformers  # noqa: F401

    from generator import DEFAULT_MODEL, GenerationRequest, check_request, resolve_model
    from generator.engine import load_model, run
    from generator.identity import identify
    from generator.produce import make_draft, produce
    from provenance import KeyRing, TrustedKeys, verify
    from provenance.finalize import finalize

    import_s = time.perf_counter() - started
    if args.threads:
        torch.set_num_threads(args.threads)
    rss_import_kib = status_kib("VmRSS")
    maxrss_import_kib = maxrss_kib()
    memory = Memory()
    if not memory.resets_work:
        problems.append("/proc/self/clear_refs not writable: per-phase peaks are process peaks")

    ring = KeyRing.open(workdir / "keys")
    ring.init(label="bench_generate")
    key = ring.signing_key()
    policy = TrustedKeys([key.public])

    log(f"loading the default model ({DEFAULT_MODEL}) ...")
    source = resolve_model(DEFAULT_MODEL)
    memory.start()
    started = time.perf_counter()
    model = load_model(source)
    load_s = time.perf_counter() - started
    load_peak_kib = memory.peak()
    rss_load_kib = status_kib("VmRSS")
    started = time.perf_counter()
    identify(model.pipe, None, None)
    identify_s = time.perf_counter() - started

    total = args.warmup + args.repeat
    request = GenerationRequest(
        prompt=PROMPT, seed=SEED, num_images=total, width=args.size, height=args.size
    )
    checked = check_request(request, source)
    results["request"] = {
        "width": checked.width,
        "height": checked.height,
        "steps": checked.num_inference_steps,
        "guidance": checked.guidance_scale,
        "batch_size": checked.batch_size,
        "seeds": [checked.seeds[0], checked.seeds[-1]],
    }
    out_dir = workdir / "out"
    out_dir.mkdir()
    images: list[dict[str, Any]] = []
    iterator = run(model, checked)
    for i in range(total):
        phase = "warm-up" if i < args.warmup else "timed"
        gc.collect()
        rss_before = memory.start()
        cpu0 = time.process_time()
        started = time.perf_counter()
        out = next(iterator)
        gen_s = time.perf_counter() - started
        gen_cpu_s = time.process_time() - cpu0
        gen_peak = memory.peak()
        rss_after_gen = status_kib("VmRSS")

        def provenance_phase(index: int = i, generated: Any = out) -> tuple[Any, ...]:
            rss = memory.start()
            started = time.perf_counter()
            draft = make_draft(model, checked, generated)
            draft_s = time.perf_counter() - started
            result = finalize(generated.image, draft, key, out_dir / f"{index:03d}.png")
            return draft_s, time.perf_counter() - started, result, rss, memory.peak()

        def pillow_phase(index: int = i, generated: Any = out) -> tuple[float, int, int]:
            rss = memory.start()
            started = time.perf_counter()
            generated.image.save(out_dir / f"{index:03d}.plain.png", compress_level=COMPRESS_LEVEL)
            return time.perf_counter() - started, rss, memory.peak()

        # Alternate the order, so that neither always runs with the image fresh in the caches.
        if i % 2 == 0:
            draft_s, prov_s, result, prov_rss, prov_peak = provenance_phase()
            pillow_s, pillow_rss, pillow_peak = pillow_phase()
        else:
            pillow_s, pillow_rss, pillow_peak = pillow_phase()
            draft_s, prov_s, result, prov_rss, prov_peak = provenance_phase()
        rss_after = status_kib("VmRSS")
        images.append(
            {
                "index": i,
                "phase": phase,
                "seed": out.frame.seed,
                "generation_s": gen_s,
                "generation_cpu_s": gen_cpu_s,
                "engine_batch_s": out.batch_seconds,
                "make_draft_s": draft_s,
                "provenance_s": prov_s,
                "pillow_s": pillow_s,
                "total_s": gen_s + prov_s,
                "rss_before_kib": rss_before,
                "rss_after_generation_kib": rss_after_gen,
                "rss_after_kib": rss_after,
                "generation_peak_kib": gen_peak,
                "provenance_rss_kib": prov_rss,
                "provenance_peak_kib": prov_peak,
                "pillow_rss_kib": pillow_rss,
                "pillow_peak_kib": pillow_peak,
                "png_bytes": result.path.stat().st_size,
                "plain_png_bytes": (out_dir / f"{i:03d}.plain.png").stat().st_size,
                "path": str(result.path),
                "record_generation_time": result.record["performance"]["generation_time"],
            }
        )
        log(
            f"  image {i} ({phase}): generation {gen_s:.3f} s, provenance {prov_s:.3f} s, "
            f"pillow {pillow_s:.3f} s, RSS {rss_after / 1024:.0f} MiB"
        )
    if next(iterator, None) is not None:
        problems.append("engine.run produced more images than asked for")
    results["images"] = images

    # Cross-check: the real path (generate and finalize together), same seeds.
    produced: list[float] = []
    if args.produce_check:
        log("cross-check through generator.produce.produce ...")
        produce_dir = workdir / "produce"
        produce_dir.mkdir()
        check = check_request(
            GenerationRequest(
                prompt=PROMPT,
                seed=SEED + args.warmup,
                num_images=args.repeat,
                width=args.size,
                height=args.size,
            ),
            source,
        )
        stream = produce(model, check, key, produce_dir)
        for _ in range(args.repeat):
            gc.collect()
            started = time.perf_counter()
            item = next(stream)
            produced.append(time.perf_counter() - started)
            images.append({"phase": "produce", "path": str(item.result.path)})
        memory.peak()
    results["produce_s"] = produced

    # Every file must verify (the timed finalize did the whole job).
    statuses: dict[str, int] = {}
    for item in images:
        status = str(verify(Path(item["path"]), policy=policy).status)
        statuses[status] = statuses.get(status, 0) + 1
    results["verify_statuses"] = statuses
    if set(statuses) != {"verified"}:
        problems.append(f"not every file verified: {statuses}")

    results.update(
        {
            "import_s": import_s,
            "load_s": load_s,
            "load_seconds_reported": model.load_seconds,
            "identify_s": identify_s,
            "rss_start_kib": rss_start_kib,
            "rss_import_kib": rss_import_kib,
            "maxrss_import_kib": maxrss_import_kib,
            "rss_load_kib": rss_load_kib,
            "load_peak_kib": load_peak_kib,
            "process_peak_kib": memory.finish(),
            "maxrss_end_kib": maxrss_kib(),
            "peak_resets": memory.resets_work,
            "model": {
                "name": model.source.name,
                "device": model.device,
                "dtype": str(model.dtype).removeprefix("torch."),
                "parameters": sum(
                    p.numel()
                    for c in model.pipe.components.values()
                    if isinstance(c, torch.nn.Module)
                    for p in c.parameters()
                ),
                "revision": model.revision,
            },
            "torch_threads": torch.get_num_threads(),
            "cpu_share": share.result(),
            "load_average_start": load_start,
            "load_average_end": load_average(),
        }
    )
    return results


# --- report --------------------------------------------------------------------------------


def report(args: argparse.Namespace, res: dict[str, Any], started: dt.datetime, code: str) -> str:
    out: list[str] = []
    emit = out.append
    timed = [i for i in res["images"] if i["phase"] == "timed"]
    warm = [i for i in res["images"] if i["phase"] == "warm-up"]
    req = res["request"]
    mod = res["model"]
    size = f"{req['width']}x{req['height']}"

    rows = [
        ["CPU", cpu_model()],
        ["cores", cores()],
        ["memory", memory_total()],
        *software_rows(res["torch_threads"]),
        *run_rows(started, code),
        [
            "load average (1/5/15 min)",
            f"at start {res['load_average_start']}; at end {res['load_average_end']}",
        ],
        ["CPU use during the run", CpuShare.describe(res["cpu_share"])],
    ]
    emit(
        f"Model: `{mod['name']}` (the default; {mod['parameters']:,} parameters, "
        f"{mod['device']}, {mod['dtype']}, revision {mod['revision']}). Request: {size}, "
        f"{req['steps']} steps, guidance {req['guidance']:g}, batch size {req['batch_size']}, "
        f"seeds {req['seeds'][0]}..{req['seeds'][1]}, prompt {PROMPT!r}. "
        f"{len(timed)} timed images after {len(warm)} warm-up image(s); medians, nearest-rank "
        "p90 and max over the timed images.\n\nMachine and software:\n"
    )
    emit(table(["item", "value"], rows, "ll"))

    emit("\nOne-time costs (once per process):\n")
    emit(
        table(
            ["step", "time (s)", "RSS after (MiB)"],
            [
                [
                    "Python start-up (before the imports)",
                    "",
                    f"{res['rss_start_kib'] / 1024:.0f}",
                ],
                [
                    "import torch, diffusers, transformers, generator, provenance",
                    secs(res["import_s"]),
                    f"{res['rss_import_kib'] / 1024:.0f}",
                ],
                [
                    "`load_model` (build, identify, capture the environment)",
                    secs(res["load_s"]),
                    f"{res['rss_load_kib'] / 1024:.0f}",
                ],
                [
                    "of which the identity (weights digest), timed again alone",
                    secs(res["identify_s"]),
                    "",
                ],
            ],
            "lrr",
        )
    )

    def col(name: str) -> list[float]:
        return [i[name] for i in timed]

    phases = [
        ("generation: `engine.run` yields the image (one diffusers call)", "generation_s"),
        ("provenance: `make_draft` + `finalize` (to a file, fsync, sidecar)", "provenance_s"),
        ("... of which `make_draft`", "make_draft_s"),
        ("**total per image** (generation + provenance)", "total_s"),
        ("reference: Pillow `save(compress_level=6)` of the same image", "pillow_s"),
        ("for scale: process CPU time during generation", "generation_cpu_s"),
    ]
    rows = []
    for label, name in phases:
        values = col(name)
        first = warm[0][name] if warm else None
        rows.append(
            [
                label,
                ms(median(values)),
                ms(p90(values)),
                ms(max(values)),
                ms(first) if first is not None else "n/a",
            ]
        )
    if res["produce_s"]:
        values = res["produce_s"]
        rows.append(
            [
                "cross-check: `produce()` per image (same seeds, generate + finalize)",
                ms(median(values)),
                ms(p90(values)),
                ms(max(values)),
                "n/a",
            ]
        )
    emit(f"\nTime per {size} image (ms):\n")
    emit(table(["phase", "median", "p90", "max", "first image (warm-up)"], rows))

    def mib(kib: float) -> str:
        return f"{kib / 1024:.0f}"

    gen_delta = [i["generation_peak_kib"] - i["rss_before_kib"] for i in timed]
    prov_delta = [i["provenance_peak_kib"] - i["provenance_rss_kib"] for i in timed]
    pil_delta = [i["pillow_peak_kib"] - i["pillow_rss_kib"] for i in timed]
    growth = [i["rss_after_kib"] - i["rss_before_kib"] for i in timed]
    rows = [
        [
            "generation",
            mib(max(i["generation_peak_kib"] for i in timed)),
            mib(median(gen_delta)),
            mib(max(gen_delta)),
        ],
        [
            "provenance (make_draft + finalize)",
            mib(max(i["provenance_peak_kib"] for i in timed)),
            mib(median(prov_delta)),
            mib(max(prov_delta)),
        ],
        [
            "reference: Pillow save",
            mib(max(i["pillow_peak_kib"] for i in timed)),
            mib(median(pil_delta)),
            mib(max(pil_delta)),
        ],
        [
            "RSS after the image minus RSS before it",
            "",
            mib(median(growth)),
            mib(max(growth)),
        ],
    ]
    emit(
        "\nMemory per image (MiB; RSS from /proc/self/status, no tracemalloc; the peak of "
        "each phase is VmHWM after resetting it to the current RSS through "
        "/proc/self/clear_refs"
        + ("" if res["peak_resets"] else " -- RESET FAILED: these are process peaks")
        + "; above = that peak minus the RSS when the phase began):\n"
    )
    emit(
        table(
            ["phase", "peak RSS (max)", "above start, median", "above start, max"],
            rows,
        )
    )
    peak_kib = res["process_peak_kib"]
    emit(
        f"\nProcess peak RSS over the whole run (imports, model, {len(res['images'])} "
        f"images): **{peak_kib / 1024:.0f} MiB** ({peak_kib * 1024 / 1e9:.3f} GB; the highest "
        "VmHWM read before every reset and at the end). `ru_maxrss`: "
        f"{res['maxrss_import_kib'] / 1024:.0f} MiB after the imports, "
        f"{res['maxrss_end_kib'] / 1024:.0f} MiB at the end (it follows the resets). "
        f"Peak during `load_model`: {res['load_peak_kib'] / 1024:.0f} MiB."
    )
    sizes = [i["png_bytes"] for i in timed]
    plain = [i["plain_png_bytes"] for i in timed]
    emit(
        f"\nFiles: signed PNG {median(sizes):,.0f} B median, plain Pillow PNG "
        f"{median(plain):,.0f} B median (the tiny model's pictures are noise, the worst case "
        "for PNG compression)."
    )

    # Targets.
    total_p90 = p90(col("total_s"))
    total_med = median(col("total_s"))
    total_max = max(col("total_s"))
    time_ok = total_p90 < TIME_TARGET_S
    mem_ok = peak_kib * 1024 < MEMORY_TARGET_BYTES
    fin_ratio = median(col("provenance_s")) / median(col("pillow_s"))
    lines = [
        [
            f"time per {size} image (generation + provenance), p90 < {TIME_TARGET_S:g} s",
            f"median {secs(total_med)} s, p90 {secs(total_p90)} s, max {secs(total_max)} s",
            f"**{verdict(time_ok)}**",
        ],
        [
            "process peak RSS < 1 GB (10^9 B = 953.7 MiB), imports and model included",
            f"{peak_kib / 1024:.0f} MiB",
            f"**{verdict(mem_ok)}**",
        ],
        [
            "for reference (issue 2's target, not issue 4's): provenance <= 1.25x Pillow save",
            f"{fin_ratio:.2f}x",
            verdict(fin_ratio <= 1.25),
        ],
    ]
    emit("\nTargets (issue 4):\n")
    emit(table(["target", "measured", "result"], lines, "lll"))
    emit("")
    emit(f"- **{verdict(time_ok)}**: {lines[0][0]} ({lines[0][1]})")
    emit(f"- **{verdict(mem_ok)}**: {lines[1][0]} ({lines[1][1]})")

    problems = list(res["problems"])
    for i in timed:
        if abs(i["record_generation_time"] - i["engine_batch_s"]) > 0.01:
            problems.append(
                f"image {i['index']}: record says generation_time "
                f"{i['record_generation_time']} s, the engine measured {i['engine_batch_s']:.4f} s"
            )
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(res["verify_statuses"].items()))
    emit(
        f"\nMeasurement checks: every file written was verified with `provenance.verify` "
        f"({statuses}); "
        + (
            "each record's `performance.generation_time` matches the engine's own timing."
            if not problems
            else "PROBLEMS:\n" + "\n".join(f"- {p}" for p in problems)
        )
    )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="timed images (default 10)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up images (default 1)")
    parser.add_argument(
        "--size", type=int, default=None, help="width and height (default: the preset's, 512)"
    )
    parser.add_argument(
        "--no-produce-check",
        dest="produce_check",
        action="store_false",
        help="skip the cross-check through generator.produce.produce",
    )
    parser.add_argument(
        "--threads", type=int, help="torch intra-op threads (default: torch's, one per core)"
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    parser.add_argument("--keep", type=Path, help="keep the key and the images in this folder")
    args = parser.parse_args()
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be >= 1, --warmup >= 0")

    started = dt.datetime.now(dt.UTC)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="bench_generate.", dir=args.keep))
        holder = None
    else:
        holder = tempfile.TemporaryDirectory(prefix="bench_generate.")
        workdir = Path(holder.name)
    try:
        code_before = code_snapshot()
        code = code_version()
        res = measure(args, workdir)
        note = code_changed_note(code_before)
        if note:
            res["problems"].append(note)
        res["code_measured"] = code
        text = report(args, res, started, code)
        print(text)
        if args.json:
            args.json.write_text(json.dumps(res, indent=1, default=str) + "\n", "utf-8")
    finally:
        if holder is not None:
            holder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

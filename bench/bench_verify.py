"""Verify and finalize benchmark (issue 2): 1024x1024 signed PNGs, next to their references.

Run from the repository root::

    .venv/bin/python bench/bench_verify.py [--repeat N] [--warmup W] [--mem-runs M]

In one run, for a photo-like synthetic image (smooth gradients + moderate noise) and for
worst-case random noise, it measures (median and p90 over N rounds after W warm-up rounds;
the operations of one round run back to back in an order that rotates each round, so machine
noise hits them alike; verify-like operations and encoders are timed in separate rounds):

1. ``verify`` per file: the fast path (data digest, no decoding) and ``force_pixels=True``;
2. the floor: read the file and one ``hashlib.sha256`` over its bytes;
3. c2pa-python reading *and* validating a C2PA-signed copy of the same image (signed here with
   a locally generated Ed25519 chain, thumbnails off), from the file path, state included;
4. ``finalize`` to a file next to a plain Pillow ``save(path, compress_level=6)``;
5. the peak memory of one verify (fast and forced pixel path) in a fresh subprocess:
   ``ru_maxrss`` minus the RSS right after imports and a warm-up verify of a small file.

It prints Markdown (stdout; progress goes to stderr) with a PASS/FAIL line per target, and
exits 0 whatever the targets say: it is a measurement.

Memory children are started before this process imports anything large: Linux hands a child
the peak RSS of the process that spawned it (``signal->maxrss`` is set at ``exec``), so a
child of a big parent would report the parent's peak.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from _generate_common import median, p90, verdict

SIZE = 1024
DECODED_BYTES = SIZE * SIZE * 3
MIB = 1 << 20
SEED = 20261121
COMPRESS_LEVEL = 6

KINDS = {
    "photo": "photo-like: smooth gradients, blobs and waves + Gaussian noise (sigma 4), RGB",
    "noise": "worst case: uniform random noise, RGB",
}

# Targets (issue 2).
FLOOR_RATIO_MAX = 2.0  # fast-path verify <= 2x (read + SHA-256)
C2PA_SPEEDUP_MIN = 2.0  # fast-path verify at least 2x faster than c2pa-python read+validate
FINALIZE_RATIO_MAX = 1.25  # finalize <= 1.25x plain Pillow save
MEMORY_RATIO_MAX = 4.0  # verify peak memory < 4x decoded pixel size


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- images --------------------------------------------------------------------------------


def make_image(kind: str, size: int = SIZE, seed: int = SEED) -> Any:
    """The benchmark image of ``kind``, deterministic from ``seed`` (a PIL RGB image)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng([seed, list(KINDS).index(kind)])
    if kind == "noise":
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        return Image.fromarray(pixels, "RGB")
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    x, y = axis[None, :], axis[:, None]
    out = np.empty((size, size, 3), dtype=np.float32)
    for channel in range(3):
        gx, gy = rng.uniform(-60, 60, 2)
        field = 128 + gx * (x - 0.5) + gy * (y - 0.5)
        for _ in range(8):  # soft blobs
            cx, cy = rng.uniform(0, 1, 2)
            sigma = rng.uniform(0.05, 0.3)
            amp = rng.uniform(-60, 60)
            field = field + amp * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
        for _ in range(3):  # low-frequency waves
            fx, fy = rng.uniform(0.5, 4, 2)
            phase = rng.uniform(0, 2 * np.pi)
            field = field + rng.uniform(5, 20) * np.sin(2 * np.pi * (fx * x + fy * y) + phase)
        out[..., channel] = field
    out += rng.normal(0.0, 4.0, out.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")


def make_draft() -> dict[str, Any]:
    from provenance import Attestation, draft_from_attestation

    return draft_from_attestation(
        Attestation(
            prompt="一只橘猫坐在窗台上, golden hour",
            seed=42,
            steps=8,
            cfg_scale=0.0,
            model="Tongyi-MAI/Z-Image-Turbo",
            width=SIZE,
            height=SIZE,
        )
    )


# --- child processes -----------------------------------------------------------------------


def prepare(workdir: Path) -> None:
    """Child: the key, a small signed PNG, and per kind a plain and a signed 1024x1024 PNG."""
    from provenance import SigningKey, finalize

    key = SigningKey.generate()
    key.save(workdir / "key.pem")
    (workdir / "key.pub.pem").write_bytes(key.public.to_pem())
    draft = make_draft()
    small = make_image("noise", size=64)
    finalize(small, draft, key, workdir / "small.png", overwrite=True)
    for kind in KINDS:
        image = make_image(kind)
        image.save(workdir / f"{kind}.base.png", compress_level=COMPRESS_LEVEL)
        finalize(image, draft, key, workdir / f"{kind}.png", overwrite=True)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(path: Path, small: Path, public_pem: Path, force_pixels: bool) -> None:
    """Child: peak RSS of one verify, over the RSS after imports and a small warm-up verify."""
    import resource

    from provenance import PublicKey, TrustedKeys, verify

    policy = TrustedKeys([PublicKey.from_pem(public_pem.read_bytes())])
    warm = verify(small, policy=policy, force_pixels=force_pixels)
    gc.collect()
    maxrss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Reset the peak to the current RSS, so that a peak from the imports cannot count.
    try:
        Path("/proc/self/clear_refs").write_text("5")
        peak_reset = True
    except OSError:
        peak_reset = False
    baseline_kib = _status_kib("VmRSS")
    # Above the baseline only if a peak survived the reset (e.g. one inherited at exec).
    floor_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = verify(path, policy=policy, force_pixels=force_pixels)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    codes = [f.code for f in report.findings]
    print(
        json.dumps(
            {
                "warm_status": str(warm.status),
                "status": str(report.status),
                "codes": codes,
                "baseline_kib": baseline_kib,
                "maxrss_before_kib": maxrss_before_kib,
                "peak_kib": peak_kib,
                "peak_reset": peak_reset,
                "maxrss_after_reset_kib": floor_kib,
                "hwm_kib": _status_kib("VmHWM"),
            }
        )
    )


def run_memory(workdir: Path, kind: str, force_pixels: bool) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--_mem-child",
        str(workdir / f"{kind}.png"),
        "--_small",
        str(workdir / "small.png"),
        "--_pub",
        str(workdir / "key.pub.pem"),
    ]
    if force_pixels:
        cmd.append("--_force-pixels")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({done.returncode}): {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- statistics and formatting -------------------------------------------------------------


def ms(seconds: float) -> str:
    value = seconds * 1e3
    return f"{value:.1f}" if value >= 100 else f"{value:.2f}"


def table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


# --- machine -------------------------------------------------------------------------------


REPO = Path(__file__).resolve().parent.parent


def code_digest() -> str:
    """SHA-256 over the provenance package's files, to notice code changing during a run."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "provenance").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json"):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def code_version() -> str:
    """The commit measured, and which files under provenance/ differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "provenance"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    changed = sorted(line[3:] for line in dirty if line.strip())
    if not changed:
        return f"commit {head}, provenance/ unchanged"
    return f"commit {head} + uncommitted changes in {', '.join(changed)}"


def machine() -> list[list[str]]:
    model, flags = "unknown", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif name.strip() == "flags" and not flags:
                flags = value
    except OSError:
        pass
    sha_ni = "yes" if " sha_ni" in flags else "no"
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    try:
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kib / MIB:.1f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "unknown"

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        import c2pa

        c2pa_version = f"{version('c2pa-python')} (c2pa-rs {c2pa.sdk_version()})"
    except Exception as exc:  # reported, not fatal
        c2pa_version = f"unavailable ({type(exc).__name__}: {exc})"
    import zlib

    return [
        ["CPU", f"{model} (SHA-NI: {sha_ni})"],
        ["cores", f"{cores} ({usable} usable by this process)"],
        ["memory", memory],
        ["Python", sys.version.split()[0]],
        ["pillow", version("pillow")],
        ["cryptography", version("cryptography")],
        ["c2pa-python", c2pa_version],
        ["numpy", version("numpy")],
        ["aigc-provenance", version("aigc-provenance")],
        ["zlib", zlib.ZLIB_RUNTIME_VERSION],
        ["command", f"`{shlex.join(sys.orig_argv)}`"],
        ["code measured", code_version()],
        ["date (UTC)", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")],
    ]


# --- timings -------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def run_timings(workdir: Path, repeat: int, warmup: int) -> dict[str, Any]:
    from _c2pa_reference import make_chain, reader_context

    results: dict[str, Any] = {"kinds": {}}
    try:
        chain = make_chain()
        context = reader_context(chain)
    except Exception as exc:  # reported, not fatal
        chain = context = None
        results["c2pa_error"] = f"{type(exc).__name__}: {exc}"
    for kind in KINDS:
        log(f"timing {kind} ...")
        results["kinds"][kind] = time_kind(kind, workdir, repeat, warmup, chain, context)
    return results


def time_kind(
    kind: str, workdir: Path, repeat: int, warmup: int, chain: Any, context: Any
) -> dict[str, Any]:
    from _c2pa_reference import read_and_validate, sign_png

    from provenance import SigningKey, TrustedKeys, finalize, verify
    from provenance.report import Status

    key = SigningKey.load(workdir / "key.pem")
    policy = TrustedKeys([key.public])
    draft = make_draft()
    image = make_image(kind)
    small = workdir / "small.png"
    signed = workdir / f"{kind}.png"
    base = workdir / f"{kind}.base.png"
    c2pa_file = workdir / f"{kind}.c2pa.png"
    final_path = workdir / f"{kind}.final.png"
    pillow_path = workdir / f"{kind}.pillow.png"
    info: dict[str, Any] = {
        "signed_bytes": signed.stat().st_size,
        "base_bytes": base.stat().st_size,
        "c2pa_bytes": None,
        "c2pa_states": set(),
        "problems": [],
    }
    c2pa_ok = False
    if chain is not None:
        try:
            # The C2PA copy is the same base PNG (same pixels, same compress_level).
            sign_png(base, c2pa_file, chain)
            info["c2pa_bytes"] = c2pa_file.stat().st_size
            info["c2pa_states"].add(read_and_validate(c2pa_file, context))
            c2pa_ok = True
        except Exception as exc:  # reported, not fatal
            info["problems"].append(f"c2pa-python failed: {type(exc).__name__}: {exc}")

    def check(name: str, result: Any) -> None:
        # Every timed call must have done the full job.
        if name == "c2pa":
            info["c2pa_states"].add(result)
        elif name.startswith("verify"):
            if result.status is not Status.VERIFIED:
                info["problems"].append(f"{name} gave {result.status}")
            codes = {f.code for f in result.findings}
            if name == "verify_pixels" and "pixels_identical" not in codes:
                info["problems"].append("force_pixels verify did not report pixels_identical")

    quick: list[tuple[str, Callable[[], Any]]] = [
        ("verify_fast", lambda: verify(signed, policy=policy)),
        ("verify_pixels", lambda: verify(signed, policy=policy, force_pixels=True)),
        ("floor", lambda: sha256_file(signed)),
        ("verify_small", lambda: verify(small, policy=policy)),
    ]
    if c2pa_ok:
        quick.append(("c2pa", lambda: read_and_validate(c2pa_file, context)))
    slow: list[tuple[str, Callable[[], Any]]] = [
        (
            "finalize",
            lambda: finalize(
                image, draft, key, final_path, compress_level=COMPRESS_LEVEL, overwrite=True
            ),
        ),
        ("pillow", lambda: image.save(pillow_path, compress_level=COMPRESS_LEVEL)),
    ]
    samples: dict[str, list[float]] = {}
    # The quick operations and the encoders are timed in separate rounds, so that a verify is
    # never timed right after a 1024x1024 encode flushed the CPU caches; the order within a
    # round rotates, so that every operation takes every place equally often.
    for ops in (quick, slow):
        for round_no in range(warmup + repeat):
            gc.collect()
            shift = round_no % len(ops)
            for name, func in ops[shift:] + ops[:shift]:
                start = time.perf_counter()
                result = func()
                elapsed = time.perf_counter() - start
                check(name, result)
                if round_no >= warmup:
                    samples.setdefault(name, []).append(elapsed)
    info["final_bytes"] = final_path.stat().st_size
    info["pillow_bytes"] = pillow_path.stat().st_size
    info["samples"] = samples
    info["problems"] = sorted(set(info["problems"]))
    return info


# --- report --------------------------------------------------------------------------------


def report(
    args: argparse.Namespace,
    timings: dict[str, Any],
    memory: dict[tuple[str, bool], list[dict[str, Any]]],
    run_errors: list[str],
    machine_rows: list[list[str]],
) -> None:
    kinds = list(KINDS)
    out: list[str] = []
    emit = out.append
    emit(
        f"{args.repeat} timed rounds after {args.warmup} warm-up rounds; medians and "
        "nearest-rank p90; files in the page cache; in each round the operations run back to "
        "back in an order rotated every round, the two encoders in rounds of their own.\n\n"
        "Machine and software:\n"
    )
    emit(table(["item", "value"], machine_rows, "ll"))

    emit(
        "\nImages (1024x1024 RGB, PNG compress_level 6; decoded pixels "
        f"{DECODED_BYTES:,} bytes = {DECODED_BYTES / MIB:.2f} MiB):\n"
    )
    rows = []
    for kind in kinds:
        info = timings["kinds"][kind]
        c2pa_bytes = f"{info['c2pa_bytes']:,}" if info["c2pa_bytes"] else "n/a"
        rows.append(
            [
                kind,
                KINDS[kind],
                f"{info['pillow_bytes']:,}",
                f"{info['signed_bytes']:,}",
                c2pa_bytes,
            ]
        )
    emit(
        table(
            ["kind", "content", "plain PNG (B)", "signed by us (B)", "C2PA-signed (B)"],
            rows,
            "llrrr",
        )
    )

    names = [
        ("verify_fast", "`verify(path, policy=...)`, fast path (data digest)"),
        ("verify_pixels", "`verify(..., force_pixels=True)` (decode + pixel digest)"),
        ("floor", "floor: read file + one `hashlib.sha256`"),
        ("c2pa", "c2pa-python `Reader(path)` + `get_validation_state()`"),
        ("finalize", "`finalize(...)` to a file (fsync, rename, sidecar)"),
        ("pillow", "Pillow `image.save(path, compress_level=6)`"),
        ("verify_small", "for scale: `verify` of a 64x64 signed PNG (fixed cost)"),
    ]
    header = ["operation (ms per file)"]
    for kind in kinds:
        header += [f"{kind} median", f"{kind} p90"]
    rows = []
    for name, label in names:
        row = [label]
        for kind in kinds:
            values = timings["kinds"][kind]["samples"].get(name)
            row += [ms(median(values)), ms(p90(values))] if values else ["n/a", "n/a"]
        rows.append(row)
    emit("\nTime per file:\n")
    emit(table(header, rows))
    states = {kind: sorted(str(s) for s in timings["kinds"][kind]["c2pa_states"]) for kind in kinds}
    emit(
        "\nc2pa-python validation state of the C2PA-signed copies (Ed25519 root + end-entity "
        "with claimSigning and emailProtection EKUs, thumbnails off, remote manifest fetch "
        "off, context built once): "
        + ", ".join(f"{k}: {'/'.join(v) or 'n/a'}" for k, v in states.items())
        + "."
    )

    emit(
        "\nPeak memory of one verify, each in a fresh subprocess (`ru_maxrss` after the verify "
        "minus VmRSS after imports and a warm-up verify of a 64x64 file, with the peak first "
        "reset to that RSS through /proc/self/clear_refs; a few KiB below zero is shown as 0; "
        f"worst of {args.mem_runs} runs):\n"
    )
    rows = []
    mem_ratio: dict[tuple[str, bool], float] = {}
    for kind in kinds:
        for force in (False, True):
            runs = memory.get((kind, force), [])
            path_name = "forced pixels" if force else "fast path"
            if not runs:
                rows.append([kind, path_name, "n/a", "n/a", "n/a", "n/a", "n/a"])
                continue
            deltas = [max(0, r["peak_kib"] - r["baseline_kib"]) * 1024 for r in runs]
            worst = max(deltas)
            mem_ratio[(kind, force)] = worst / DECODED_BYTES
            base = median([r["baseline_kib"] / 1024 for r in runs])
            reset = "yes" if all(r["peak_reset"] for r in runs) else "no"
            rows.append(
                [
                    kind,
                    path_name,
                    f"{base:.1f}",
                    f"{worst / MIB:.2f}",
                    f"{DECODED_BYTES / MIB:.2f}",
                    f"{worst / DECODED_BYTES:.2f}x",
                    reset,
                ]
            )
    emit(
        table(
            [
                "kind",
                "verify",
                "baseline RSS (MiB)",
                "peak - baseline (MiB)",
                "decoded pixels (MiB)",
                "ratio",
                "peak reset",
            ],
            rows,
            "llrrrrl",
        )
    )

    # Targets.
    def med(kind: str, name: str) -> float | None:
        values = timings["kinds"][kind]["samples"].get(name)
        return median(values) if values else None

    lines: list[list[str]] = []
    summary: list[str] = []

    def target(
        label: str,
        values: dict[str, float | None],
        ok: Callable[[float], bool],
        fmt: Callable[[float], str],
    ) -> None:
        cells, results = [], []
        for kind in kinds:
            value = values.get(kind)
            if value is None:
                cells.append("n/a")
                results.append(None)
            else:
                good = ok(value)
                cells.append(f"{fmt(value)} {verdict(good)}")
                results.append(good)
        overall = None if None in results else all(r for r in results if r is not None)
        if None in results and False in results:
            overall = False
        lines.append([label, *cells, f"**{verdict(overall)}**"])
        detail = ", ".join(f"{k} {c}" for k, c in zip(kinds, cells, strict=True))
        summary.append(f"- **{verdict(overall)}**: {label} ({detail})")

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None or b == 0 else a / b

    target(
        f"fast-path verify <= {FLOOR_RATIO_MAX:g}x the SHA-256 floor",
        {k: ratio(med(k, "verify_fast"), med(k, "floor")) for k in kinds},
        lambda r: r <= FLOOR_RATIO_MAX,
        lambda r: f"{r:.2f}x",
    )
    target(
        f"fast-path verify >= {C2PA_SPEEDUP_MIN:g}x faster than c2pa-python read+validate",
        {k: ratio(med(k, "c2pa"), med(k, "verify_fast")) for k in kinds},
        lambda r: r >= C2PA_SPEEDUP_MIN,
        lambda r: f"{r:.2f}x faster",
    )
    target(
        f"finalize <= {FINALIZE_RATIO_MAX:g}x plain Pillow save",
        {k: ratio(med(k, "finalize"), med(k, "pillow")) for k in kinds},
        lambda r: r <= FINALIZE_RATIO_MAX,
        lambda r: f"{r:.2f}x",
    )
    for force in (False, True):
        path_name = "forced pixel path" if force else "fast path"
        target(
            f"verify peak memory ({path_name}) < {MEMORY_RATIO_MAX:g}x decoded pixel size",
            {k: mem_ratio.get((k, force)) for k in kinds},
            lambda r: r < MEMORY_RATIO_MAX,
            lambda r: f"{r:.2f}x",
        )

    emit("\nTargets:\n")
    emit(table(["target", *kinds, "result"], lines, "l" + "r" * len(kinds) + "l"))
    emit("")
    out.extend(summary)
    problems = [f"{k}: {p}" for k in kinds for p in timings["kinds"][k]["problems"]]
    problems += run_errors
    if "c2pa_error" in timings:
        problems.append(f"c2pa-python unavailable: {timings['c2pa_error']}")
    for kind in kinds:
        if not states[kind] or any(s not in ("Trusted", "Valid") for s in states[kind]):
            problems.append(f"{kind}: c2pa-python state is not Trusted/Valid: {states[kind]}")
    for (kind, force), runs in memory.items():
        for r in runs:
            if r["status"] != "verified" or r["warm_status"] != "verified":
                problems.append(f"memory child {kind} force_pixels={force}: {r['status']}")
            if r["maxrss_after_reset_kib"] > r["baseline_kib"] + 1024:
                problems.append(
                    f"memory child {kind} force_pixels={force}: ru_maxrss was "
                    f"{r['maxrss_after_reset_kib']} KiB before the verify, over the baseline "
                    f"{r['baseline_kib']} KiB; the peak includes memory from before the verify"
                )
    emit(
        "\nMeasurement checks: "
        + (
            "every timed verify and every memory child returned `verified` (forced runs "
            "with `pixels_identical`); every c2pa-python read was Trusted or Valid; no peak "
            "from before a memory child's verify survived the reset."
            if not problems
            else "PROBLEMS:\n" + "\n".join(f"- {p}" for p in problems)
        )
    )
    print("\n".join(out))


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up rounds (default 3)")
    parser.add_argument(
        "--mem-runs",
        type=int,
        default=3,
        help="fresh subprocesses per memory measurement (default 3)",
    )
    parser.add_argument("--keep", type=Path, help="keep the files in this folder")
    parser.add_argument("--_prepare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_mem-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_small", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_pub", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_force-pixels", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._prepare:
        prepare(args._prepare)
        return 0
    if args._mem_child:
        memory_child(args._mem_child, args._small, args._pub, args._force_pixels)
        return 0
    if args.repeat < 1 or args.warmup < 0 or args.mem_runs < 1:
        parser.error("--repeat and --mem-runs must be >= 1, --warmup >= 0")

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        workdir = args.keep
    else:
        workdir = Path(tempfile.mkdtemp(prefix="bench_verify."))
    try:
        code_before = code_digest()
        log(f"preparing signed images in {workdir} ...")
        subprocess.run([sys.executable, __file__, "--_prepare", str(workdir)], check=True)
        # Memory first, while this process is still small (see the module docstring).
        memory: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        run_errors: list[str] = []
        for kind in KINDS:
            for force in (False, True):
                log(f"memory {kind} force_pixels={force} ...")
                for _ in range(args.mem_runs):
                    try:
                        memory.setdefault((kind, force), []).append(
                            run_memory(workdir, kind, force)
                        )
                    except (RuntimeError, ValueError, IndexError) as exc:
                        run_errors.append(f"memory {kind} force_pixels={force}: {exc}")
                        break
        timings = run_timings(workdir, args.repeat, args.warmup)
        if code_digest() != code_before:
            run_errors.append("files under provenance/ changed during the run: measure again")
        report(args, timings, memory, run_errors, machine())
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

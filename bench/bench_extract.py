"""Metadata extraction and import benchmark (issue 5): our readers next to exiftool.

Run from the repository root::

    .venv/bin/python bench/bench_extract.py [--count N] [--rounds R] [--workers W] [--profile]
                                            [--json PATH]

In one run it writes ``--count`` (default 500) distinct 512x512 PNGs into a temporary folder, as
the A1111 webui saves them (a ``parameters`` tEXt chunk with the infotext, written through
Pillow's ``PngInfo``; photo-like pixels, or ``--kind noise``; every file its own prompt, negative
prompt, seed and settings), reads every file once so that the folder is in the page cache, runs
each reader once untimed (warm-up), and then measures, in files per second over the folder:

1. metadata extraction alone: ``provenance.inspect.inspect_metadata`` per file (what
   ``aigc-prov inspect --metadata-only`` runs: ``read_metadata_file``, which reads a PNG's chunk
   headers and metadata chunks and seeks over its image data, then ``interpret``), in this
   process and in ``--workers`` processes (default: one per core; pool start included) -- the
   two rows judged against the target; for comparison, the same in a pool already running,
   ``read_metadata`` + ``interpret`` on the whole file read into one reused buffer (as
   ``import`` reads files), ``mmap``-ed instead of read (the readers then touch only the pages
   they look at), or read with a fresh ``bytes`` per file (``Path.read_bytes``), the readers
   alone on bytes already in memory, and a fresh Python process over the folder
   (interpreter start and imports included, like one exiftool command). Next to them
   ``exiftool -json -q -fast DIR``, ``exiftool -json DIR`` and ``exiftool -json -q -fast -@
   ARGFILE`` (one exiftool command over the whole folder each: its fastest mode). ``--rounds``
   rounds (default 5), the readers in an order rotated every round; medians reported. Every
   extraction is checked: the prompt (and seed) of every file must be the one written; for
   exiftool, its ``Parameters`` must be the infotext written.
2. ``import`` into a fresh SQLite catalog: the library ``import_files`` with ``--workers``
   processes (and, for reference, one, and ``bind_pixels=True``, i.e. ``import --pixels``,
   which decodes every image), and the CLI ``aigc-prov --home TMP import DIR
   --workers W --json`` end to end (process start, imports, catalog creation and migrations
   included; the key made beforehand with ``keys init``, untimed). Each import must catalogue
   every file, with the prompt written in it. ``--profile`` also runs one import with one worker
   under cProfile and shows where its time goes.

Targets (issue 5): extraction at least 10x exiftool's files/s and import at least 3x, against the
fastest exiftool command measured. It prints Markdown (stdout; progress on stderr) with a
PASS/FAIL line per target and exits 0 whatever the targets say: it is a measurement.
``--json PATH`` also writes the raw figures (``--json -``: JSON on stdout instead of Markdown).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import mmap
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    run_rows,
    table,
    verdict,
    version,
)

SIZE = 512
SEED = 20261121
EXIFTOOL = shutil.which("exiftool") or "/usr/bin/exiftool"

# Targets (issue 5), against the fastest exiftool command's files/s.
EXTRACT_SPEEDUP_MIN = 10.0
IMPORT_SPEEDUP_MIN = 3.0
ONE_FILE_RUNS = 5  # fresh processes per tool for the one-file command-line timing

SUBJECTS_EN = [
    "an orange cat sitting on a windowsill",
    "a lighthouse on a rocky coast",
    "a girl in a red raincoat",
    "an old fisherman mending nets",
    "a fox in the snow",
    "a steam locomotive crossing a bridge",
    "a bowl of ramen",
    "a knight in silver armor",
    "a futuristic city skyline",
    "a hummingbird at a flower",
]
SUBJECTS_ZH = [
    "一只橘猫坐在窗台上",
    "山间的古老寺庙",
    "穿汉服的少女站在桥上",
    "雨夜的霓虹街道",
    "雪地里的红狐狸",
    "海边的灯塔",
    "一碗热腾腾的拉面",
    "樱花树下的小猫",
]
STYLES_EN = [
    "photo",
    "oil painting",
    "anime",
    "watercolor",
    "cinematic lighting",
    "golden hour",
    "35mm film",
    "highly detailed",
]
STYLES_ZH = ["高清照片", "油画风格", "动漫风格", "水彩画", "电影质感", "摄影作品"]
NEGATIVES = [
    "blurry, lowres, bad anatomy",
    "worst quality, low quality, jpeg artifacts",
    "text, watermark, signature",
    "deformed, extra fingers",
    "",
]
SAMPLERS = ["Euler a", "DPM++ 2M Karras", "DPM++ SDE Karras", "DDIM", "UniPC"]
MODELS = [
    ("v1-5-pruned-emaonly", "6ce0161689"),
    ("sd_xl_base_1.0", "31e35c80fc"),
    ("dreamshaper_8", "879db523c3"),
    ("realisticVisionV60B1", "e5f3cbc5f7"),
]


# --- the folder ------------------------------------------------------------------------------


def file_facts(index: int) -> dict[str, Any]:
    """The generation facts of file ``index`` (deterministic, distinct for every index)."""
    import numpy as np

    rng = np.random.default_rng([SEED, index])
    if index % 3 == 2:
        subject = SUBJECTS_ZH[int(rng.integers(len(SUBJECTS_ZH)))]
        styles = rng.choice(STYLES_ZH, 2, replace=False)
        prompt = f"{subject}，{'，'.join(str(s) for s in styles)}，第{index}张"
    else:
        subject = SUBJECTS_EN[int(rng.integers(len(SUBJECTS_EN)))]
        styles = rng.choice(STYLES_EN, 3, replace=False)
        prompt = f"{subject}, {', '.join(str(s) for s in styles)}, variation {index}"
    model, model_hash = MODELS[int(rng.integers(len(MODELS)))]
    return {
        "prompt": prompt,
        "negative_prompt": NEGATIVES[int(rng.integers(len(NEGATIVES)))],
        "steps": int(rng.integers(15, 41)),
        "sampler": SAMPLERS[int(rng.integers(len(SAMPLERS)))],
        "cfg_scale": float(rng.choice([5.0, 6.0, 6.5, 7.0, 7.5, 8.0])),
        "seed": int(rng.integers(0, 2**32)) * 1000 + index,  # distinct per file
        "model": model,
        "model_hash": model_hash,
    }


def infotext(facts: dict[str, Any]) -> str:
    """The ``parameters`` text the A1111 webui writes (prompt, negative prompt, settings)."""
    lines = [facts["prompt"]]
    if facts["negative_prompt"]:
        lines.append(f"Negative prompt: {facts['negative_prompt']}")
    lines.append(
        f"Steps: {facts['steps']}, Sampler: {facts['sampler']}, Schedule type: Karras, "
        f"CFG scale: {facts['cfg_scale']:g}, Seed: {facts['seed']}, Size: {SIZE}x{SIZE}, "
        f"Model hash: {facts['model_hash']}, Model: {facts['model']}, Version: v1.10.1"
    )
    return "\n".join(lines)


def make_pixels(index: int, kind: str) -> Any:
    """A 512x512 RGB image: photo-like (gradient, soft blobs, waves, noise) or uniform noise."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng([SEED, index, 1])
    if kind == "noise":
        return Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8), "RGB")
    axis = np.linspace(0.0, 1.0, SIZE, dtype=np.float32)
    x, y = axis[None, :], axis[:, None]
    gx, gy = rng.uniform(-60, 60, 2)
    field = gx * (x - 0.5) + gy * (y - 0.5)
    for _ in range(4):  # soft blobs
        cx, cy = rng.uniform(0, 1, 2)
        sigma = rng.uniform(0.05, 0.3)
        field = field + rng.uniform(-60, 60) * np.exp(
            -((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2)
        )
    for _ in range(2):  # low-frequency waves
        fx, fy = rng.uniform(0.5, 4, 2)
        phase = rng.uniform(0, 2 * np.pi)
        field = field + rng.uniform(5, 20) * np.sin(2 * np.pi * (fx * x + fy * y) + phase)
    tint = rng.uniform(0.6, 1.4, 3).astype(np.float32)
    base = rng.uniform(70, 180, 3).astype(np.float32)
    out = base + field[..., None] * tint
    out += rng.normal(0.0, 4.0, out.shape).astype(np.float32)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), "RGB")


def write_one(job: tuple[str, int, str]) -> tuple[str, int]:
    """Write file ``index`` into ``folder``: pixels + the infotext, as the webui saves them."""
    from PIL import PngImagePlugin

    folder, index, kind = job
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", infotext(file_facts(index)))
    path = Path(folder) / f"{index:05d}-{file_facts(index)['seed']}.png"
    make_pixels(index, kind).save(path, pnginfo=info)  # Pillow's default level, like the webui
    return path.name, path.stat().st_size


def make_folder(folder: Path, count: int, kind: str, workers: int) -> dict[str, Any]:
    start = time.perf_counter()
    jobs = [(str(folder), i, kind) for i in range(count)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        written = list(pool.map(write_one, jobs, chunksize=8))
    sizes = sorted(size for _, size in written)
    return {
        "count": count,
        "kind": kind,
        "seconds": time.perf_counter() - start,
        "bytes": sum(sizes),
        "median_bytes": median([float(s) for s in sizes]),
        "min_bytes": sizes[0],
        "max_bytes": sizes[-1],
    }


def warm_cache(paths: list[Path]) -> None:
    for path in paths:
        path.read_bytes()


def expected(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """File name -> its facts (the index is the name's first field)."""
    return {p.name: file_facts(int(p.name.split("-", 1)[0])) for p in paths}


class CpuShareTree(CpuShare):
    """:class:`CpuShare` with this process's waited-for children (workers, CLI, exiftool) counted
    as this process, not as other work."""

    @staticmethod
    def _read() -> dict[str, float] | None:
        out = CpuShare._read()
        if out is not None:
            times = os.times()
            out["self"] += times.children_user + times.children_system
        return out

    @staticmethod
    def describe(share: dict[str, Any]) -> str:
        if not share:
            return "unknown"
        return (
            f"this benchmark and its child processes {share['this_process_pct']:.0f}%, other "
            f"processes {share['other_pct']:.0f}%, hypervisor steal {share['steal_pct']:.1f}% "
            "(share of all cores)"
        )


# --- readers -------------------------------------------------------------------------------

_READER: Any = None  # provenance._files.WholeFileReader, made on first use (per process)


def extract_one(path: str) -> tuple[str, Any, Any]:
    """Our extraction of one file, as ``aigc-prov inspect --metadata-only`` does it (a PNG's
    metadata chunks read, its image data skipped): (name, prompt, seed)."""
    from provenance.inspect import inspect_metadata

    extraction = inspect_metadata(path).extraction
    assert extraction is not None
    generation = extraction.generation
    return os.path.basename(path), generation["prompt"], generation["seed"]


def extract_whole(path: str) -> tuple[str, Any, Any]:
    """The same from the whole file, read into one reused buffer as ``import`` reads files."""
    from provenance.extract.containers import read_metadata
    from provenance.extract.interpret import interpret

    global _READER
    if _READER is None:
        from provenance._files import WholeFileReader

        _READER = WholeFileReader()
    data = _READER.read(path, 1 << 30)
    generation = interpret(read_metadata(data), data).generation
    return os.path.basename(path), generation["prompt"], generation["seed"]


def extract_read_bytes(path: str) -> tuple[str, Any, Any]:
    """The same with a fresh ``bytes`` per file (``Path.read_bytes``)."""
    from provenance.extract.containers import read_metadata
    from provenance.extract.interpret import interpret

    data = Path(path).read_bytes()
    generation = interpret(read_metadata(data), data).generation
    return os.path.basename(path), generation["prompt"], generation["seed"]


def ours_serial(paths: list[str]) -> list[tuple[str, Any, Any]]:
    return [extract_one(p) for p in paths]


def pool_chunk(count: int, workers: int) -> int:
    return max(1, min(64, count // (workers * 8)))


def ours_pool(paths: list[str], workers: int) -> list[tuple[str, Any, Any]]:
    """A new pool of ``workers`` processes (forked from this one), used once and shut down."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(extract_one, paths, chunksize=pool_chunk(len(paths), workers)))


def ours_warm_pool(pool: ProcessPoolExecutor, paths: list[str], workers: int) -> list[Any]:
    return list(pool.map(extract_one, paths, chunksize=pool_chunk(len(paths), workers)))


def extract_mapped(path: str) -> tuple[str, Any, Any]:
    """Our extraction with the file mapped instead of read: the readers touch only the pages
    they look at (the chunk headers and the metadata), as exiftool reads only those."""
    from provenance.extract.containers import read_metadata
    from provenance.extract.interpret import interpret

    with open(path, "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        generation = interpret(read_metadata(mapped), mapped).generation  # type: ignore[arg-type]
    finally:
        mapped.close()
    return os.path.basename(path), generation["prompt"], generation["seed"]


@dataclass
class Timed:
    """Rows from a reader that timed only part of its work itself."""

    rows: list[tuple[str, Any, Any]]
    seconds: float


def ours_parse_only(paths: list[Path]) -> Timed:
    """The readers alone: the files are read into memory first (untimed), then parsed; the
    bytes are dropped afterwards, so that no pool is ever forked from a process holding them."""
    from provenance.extract.containers import read_metadata
    from provenance.extract.interpret import interpret

    datas = [(p.name, p.read_bytes()) for p in paths]
    rows = []
    start = time.perf_counter()
    for name, data in datas:
        generation = interpret(read_metadata(data), data).generation
        rows.append((name, generation["prompt"], generation["seed"]))
    seconds = time.perf_counter() - start
    datas.clear()
    return Timed(rows, seconds)


def ours_fresh_process(folder: Path) -> list[tuple[str, Any, Any]]:
    done = subprocess.run(
        [sys.executable, __file__, "--_extract-child", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [(row[0], row[1], row[2]) for row in json.loads(done.stdout)]


def extract_child(folder: Path) -> None:
    """Child: extract every PNG in ``folder``; print [[name, prompt, seed], ...]."""
    paths = sorted(str(p) for p in folder.iterdir() if p.suffix == ".png")
    print(json.dumps(ours_serial(paths), ensure_ascii=False))


def exiftool(args: list[str]) -> list[tuple[str, Any, Any]]:
    done = subprocess.run([EXIFTOOL, *args], capture_output=True, check=True)
    rows = []
    for item in json.loads(done.stdout):
        text = str(item.get("Parameters", ""))
        rows.append((os.path.basename(item.get("SourceFile", "")), text, None))
    return rows


def time_one_file(path: Path, facts: dict[str, Any], home: Path) -> dict[str, Any]:
    """One file from the command line, each tool in a fresh process (what a user typing one
    command waits for): median seconds of ``ONE_FILE_RUNS`` runs, every answer checked."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    ours = [*cli_command(), "--home", str(home), "inspect", "--metadata-only", "--json", str(path)]
    theirs = [EXIFTOOL, "-json", str(path)]
    times: dict[str, list[float]] = {"ours": [], "exiftool": []}
    wrong = 0
    for _ in range(ONE_FILE_RUNS):
        for key, command in (("ours", ours), ("exiftool", theirs)):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
            times[key].append(time.perf_counter() - start)
            if key == "ours":
                wrong += json.loads(done.stdout)["generation"]["prompt"] != facts["prompt"]
            else:
                wrong += json.loads(done.stdout)[0].get("Parameters") != infotext(facts)
    return {
        "ours_command": "aigc-prov inspect --metadata-only --json FILE",
        "exiftool_command": "exiftool -json FILE",
        "ours_s": median(times["ours"]),
        "exiftool_s": median(times["exiftool"]),
        "runs": ONE_FILE_RUNS,
        "wrong": wrong,
    }


def check_extraction(
    rows: list[tuple[str, Any, Any]], truth: dict[str, dict[str, Any]], infotext_only: bool
) -> int:
    """Files whose prompt (and, for ours, seed) is not the one written; missing files count."""
    seen = {}
    for name, prompt, seed in rows:
        seen[name] = (prompt, seed)
    wrong = 0
    for name, facts in truth.items():
        if name not in seen:
            wrong += 1
            continue
        prompt, seed = seen[name]
        if infotext_only:  # exiftool: the whole parameters text, as written
            ok = prompt == infotext(facts)
        else:
            ok = prompt == facts["prompt"] and seed == facts["seed"]
        wrong += not ok
    return wrong + max(0, len(rows) - len(truth))


def time_extraction(
    folder: Path, paths: list[Path], workers: int, rounds: int, truth: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    names = [str(p) for p in paths]
    argfile = folder.parent / "exiftool-args.txt"
    argfile.write_text("".join(f"{p}\n" for p in names), "utf-8")
    pool = ProcessPoolExecutor(max_workers=workers)
    pool_warmup = list(pool.map(extract_one, names[: workers * 4], chunksize=1))
    log(f"extraction: warm pool started ({len(pool_warmup)} files read in it)")
    Reader = tuple[str, str, bool, bool, Callable[[], list[tuple[str, Any, Any]] | Timed]]
    # key, label, judged against the target, exiftool (checks the infotext), function
    readers: list[Reader] = [
        (
            "ours_serial",
            "ours: `inspect_metadata` (what `inspect --metadata-only` runs: the metadata chunks "
            "read, the image data skipped) per file, in this process (1 core)",
            True,
            False,
            lambda: ours_serial(names),
        ),
        (
            "ours_whole",
            "ours: the whole file read as `import` reads it (one reused buffer) + "
            "`read_metadata` + `interpret`, in this process",
            False,
            False,
            lambda: [extract_whole(p) for p in names],
        ),
        (
            "ours_read_bytes",
            "ours: the whole file with `Path.read_bytes` (a fresh buffer per file), this process",
            False,
            False,
            lambda: [extract_read_bytes(p) for p in names],
        ),
        (
            "ours_pool",
            f"ours: the same in {workers} worker processes, pool start included",
            True,
            False,
            lambda: ours_pool(names, workers),
        ),
        (
            "ours_warm_pool",
            f"ours: the same in {workers} worker processes already running",
            False,
            False,
            lambda: ours_warm_pool(pool, names, workers),
        ),
        (
            "ours_mmap",
            "ours: `mmap` instead of reading, in this process (only touched pages read)",
            False,
            False,
            lambda: [extract_mapped(p) for p in names],
        ),
        (
            "ours_parse",
            "ours: `read_metadata` + `interpret` alone, bytes already in memory (1 core)",
            False,
            False,
            lambda: ours_parse_only(paths),
        ),
        (
            "ours_fresh",
            "ours: a fresh `python` process over the folder (start + imports included, 1 core)",
            False,
            False,
            lambda: ours_fresh_process(folder),
        ),
        (
            "exif_fast",
            "`exiftool -json -q -fast DIR`",
            False,
            True,
            lambda: exiftool(["-json", "-q", "-fast", str(folder)]),
        ),
        (
            "exif_plain",
            "`exiftool -json DIR`",
            False,
            True,
            lambda: exiftool(["-json", str(folder)]),
        ),
        (
            "exif_argfile",
            "`exiftool -json -q -fast -@ ARGFILE` (one path per line)",
            False,
            True,
            lambda: exiftool(["-json", "-q", "-fast", "-@", str(argfile)]),
        ),
    ]
    samples: dict[str, list[float]] = {key: [] for key, *_ in readers}
    wrong: dict[str, int] = dict.fromkeys(samples, 0)
    try:
        log("extraction: warm-up ...")
        for key, _, _, infotext_only, func in readers:
            result = func()
            rows = result.rows if isinstance(result, Timed) else result
            wrong[key] += check_extraction(rows, truth, infotext_only)
        for round_no in range(rounds):
            log(f"extraction: round {round_no + 1}/{rounds} ...")
            shift = round_no % len(readers)
            for key, _, _, infotext_only, func in readers[shift:] + readers[:shift]:
                gc.collect()
                start = time.perf_counter()
                result = func()
                elapsed = time.perf_counter() - start
                if isinstance(result, Timed):
                    rows, elapsed = result.rows, result.seconds
                else:
                    rows = result
                samples[key].append(elapsed)
                wrong[key] += check_extraction(rows, truth, infotext_only)
    finally:
        pool.shutdown()
    ver = subprocess.run([EXIFTOOL, "-ver"], capture_output=True, text=True, check=True)
    starts = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([EXIFTOOL, "-ver"], capture_output=True, check=True)
        starts.append(time.perf_counter() - start)
    log("extraction: one file from the command line ...")
    one_file = time_one_file(paths[0], truth[paths[0].name], folder.parent / "one-file-home")
    return {
        "one_file": one_file,
        "labels": {key: label for key, label, *_ in readers},
        "judged": [key for key, _, judged, *_ in readers if judged],
        "samples": samples,
        "wrong": wrong,
        "exiftool_version": ver.stdout.strip(),
        "exiftool_start_s": median(starts),
    }


# --- import --------------------------------------------------------------------------------


def catalog_prompts(db: Path) -> dict[str, str]:
    """File name -> prompt of every row in the SQLite catalog ``db``."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT file_path, prompt FROM records").fetchall()
    return {os.path.basename(path): prompt for path, prompt in rows}


def check_catalog(db: Path, truth: dict[str, dict[str, Any]]) -> int:
    prompts = catalog_prompts(db)
    wrong = sum(1 for name, facts in truth.items() if prompts.get(name) != facts["prompt"])
    return wrong + max(0, len(prompts) - len(truth))


def import_library(
    folder: Path, work: Path, workers: int, bind_pixels: bool = False
) -> dict[str, Any]:
    from provenance.catalog.store import Catalog
    from provenance.importer import find_images, import_files
    from provenance.signing.keys import SigningKey
    from provenance.signing.policy import TrustedKeys

    key = SigningKey.generate()
    policy = TrustedKeys([key.public])
    db = work / "catalog.sqlite"
    catalog = Catalog.open(f"sqlite:///{db}")
    try:
        start = time.perf_counter()
        paths = find_images(folder, False)
        report = import_files(
            catalog,
            paths,
            key=key,
            policy=policy,
            root=folder,
            workers=workers,
            bind_pixels=bind_pixels,
        )
        seconds = time.perf_counter() - start
    finally:
        catalog.close()
    return {
        "seconds": seconds,
        "imported": len(report.imported),
        "skipped": len(report.skipped),
        "failed": len(report.failed),
        "db": db,
    }


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "aigc-prov"
    return [str(script)] if script.exists() else [sys.executable, "-m", "api"]


def import_cli(folder: Path, work: Path, workers: int) -> dict[str, Any]:
    home = work / "home"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("AIGC_PROV_CATALOG", None)
    env.pop("AIGC_PROV_KEY_PASSPHRASE", None)
    base = [*cli_command(), "--home", str(home)]
    subprocess.run([*base, "keys", "init"], capture_output=True, env=env, check=True)
    command = [*base, "import", str(folder), "--workers", str(workers), "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"aigc-prov import failed ({done.returncode}): {done.stderr.strip()}")
    report = json.loads(done.stdout)
    return {
        "seconds": seconds,
        "imported": len(report["imported"]),
        "skipped": len(report["skipped"]),
        "failed": len(report["failed"]),
        "db": home / "catalog.sqlite",
        "command": "aigc-prov --home TMP import DIR " + f"--workers {workers} --json",
    }


def time_import(
    folder: Path, work: Path, workers: int, rounds: int, truth: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    runs: list[tuple[str, str, Callable[[Path], dict[str, Any]]]] = [
        (
            "lib_pool",
            f"library `import_files(..., workers={workers})`",
            lambda w: import_library(folder, w, workers),
        ),
        (
            "lib_one",
            "library `import_files(..., workers=1)` (reference)",
            lambda w: import_library(folder, w, 1),
        ),
        (
            "lib_pixels",
            f"library `import_files(..., workers={workers}, bind_pixels=True)` "
            "(`import --pixels`: decodes every file; reference)",
            lambda w: import_library(folder, w, workers, bind_pixels=True),
        ),
        (
            "cli",
            f"CLI `aigc-prov --home TMP import DIR --workers {workers} --json`, end to end",
            lambda w: import_cli(folder, w, workers),
        ),
    ]
    out: dict[str, Any] = {
        "labels": {k: label for k, label, _ in runs},
        "samples": {k: [] for k, *_ in runs},
        "wrong": {k: 0 for k, *_ in runs},
        "counts": {},
    }
    for round_no in range(rounds):
        shift = round_no % len(runs)
        for key, _, func in runs[shift:] + runs[:shift]:
            log(f"import: {key}, round {round_no + 1}/{rounds} ...")
            work = Path(tempfile.mkdtemp(prefix=f"import-{key}.", dir=folder.parent))
            try:
                result = func(work)
                out["samples"][key].append(result["seconds"])
                out["wrong"][key] += check_catalog(result["db"], truth)
                out["counts"][key] = {k: result[k] for k in ("imported", "skipped", "failed")}
                if result["imported"] != len(truth):
                    out["wrong"][key] += len(truth) - result["imported"]
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return out


#: (stage, file suffix, function name) whose cumulative time --profile reports, per file.
PROFILE_STAGES = [
    ("whole `import_files(..., workers=1)`", "provenance/importer.py", "import_files"),
    (
        "skip check: `catalog.imported_sources` (SQL)",
        "provenance/catalog/store.py",
        "imported_sources",
    ),
    ("`examine` (worker part)", "provenance/importer.py", "examine"),
    ("↳ read file (into a reused buffer)", "provenance/importer.py", "read"),
    ("↳ `read_metadata`", "provenance/extract/containers.py", "read_metadata"),
    ("↳ `interpret`", "provenance/extract/interpret/__init__.py", "interpret"),
    ("↳ Pillow `Image.open` (header only)", "PIL/Image.py", "open"),
    ("↳ Pillow decode (`ImageFile.load`; `--pixels` only)", "PIL/ImageFile.py", "load"),
    ("↳ `build_record` (draft, schema check)", "provenance/record.py", "build_record"),
    ("↳ RFC 8785 `rfc8785.dumps`", "rfc8785/_impl.py", "dumps"),
    ("`_import_one` (main process part)", "provenance/importer.py", "_import_one"),
    (
        "↳ `_sign_original` (Ed25519 over the worker's bytes)",
        "provenance/importer.py",
        "_sign_original",
    ),
    ("`_Batch.flush` (SQLAlchemy insert + commit, 64 rows)", "provenance/importer.py", "flush"),
]


def profile_import(folder: Path, work: Path) -> dict[str, Any]:
    """cProfile over one ``import_files(..., workers=1)`` (everything in this process)."""
    import cProfile
    import pstats

    from provenance.catalog.store import Catalog
    from provenance.importer import find_images, import_files
    from provenance.signing.keys import SigningKey
    from provenance.signing.policy import TrustedKeys

    key = SigningKey.generate()
    catalog = Catalog.open(f"sqlite:///{work / 'profile.sqlite'}")
    paths = find_images(folder, False)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    try:
        import_files(catalog, paths, key=key, policy=TrustedKeys([key.public]), workers=1)
    finally:
        profiler.disable()
        catalog.close()
    seconds = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    cumulative: dict[tuple[str, str], float] = {}
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items():
        for _label, suffix, func in PROFILE_STAGES:
            if name == func and filename.endswith(suffix):
                cumulative[(suffix, func)] = cumulative.get((suffix, func), 0.0) + ct
    rows = [
        {"stage": label, "ms_per_file": 1e3 * cumulative.get((suffix, func), 0.0) / len(paths)}
        for label, suffix, func in PROFILE_STAGES
    ]
    return {"files": len(paths), "seconds": seconds, "stages": rows}


# --- report --------------------------------------------------------------------------------


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def machine_rows(exiftool_version: str, started: dt.datetime, code: str) -> list[list[str]]:
    perl = subprocess.run(["perl", "-e", "print $^V"], capture_output=True, text=True, check=False)
    return [
        ["CPU", cpu_model()],
        ["cores", cores()],
        ["memory", memory_total()],
        ["Python", sys.version.split()[0]],
        ["exiftool", f"{exiftool_version} (Perl {perl.stdout.strip() or 'unknown'})"],
        ["pillow", version("pillow")],
        ["numpy", version("numpy")],
        ["SQLAlchemy", version("sqlalchemy")],
        ["SQLite", sqlite3.sqlite_version],
        ["aigc-provenance", version("aigc-provenance")],
        *run_rows(started, code),
    ]


def build_results(
    args: argparse.Namespace,
    files: dict[str, Any],
    extraction: dict[str, Any],
    imports: dict[str, Any],
    machine: list[list[str]],
    extra: dict[str, Any],
) -> dict[str, Any]:
    count = files["count"]
    ext_rates = {k: rate(count, median(v)) for k, v in extraction["samples"].items() if v}
    imp_rates = {k: rate(count, median(v)) for k, v in imports["samples"].items() if v}
    exif_keys = [k for k in ext_rates if k.startswith("exif_")]
    best_exif = max(exif_keys, key=lambda k: ext_rates[k])
    reference = ext_rates[best_exif]
    targets = []
    for key, minimum, kind in (
        ("ours_serial", EXTRACT_SPEEDUP_MIN, "extraction"),
        ("ours_pool", EXTRACT_SPEEDUP_MIN, "extraction"),
        ("lib_pool", IMPORT_SPEEDUP_MIN, "import"),
        ("cli", IMPORT_SPEEDUP_MIN, "import"),
    ):
        rates = ext_rates if kind == "extraction" else imp_rates
        labels = extraction["labels"] if kind == "extraction" else imports["labels"]
        if key not in rates:
            continue
        ratio = rates[key] / reference
        targets.append(
            {
                "target": f"{kind} >= {minimum:g}x exiftool's files/s",
                "what": labels[key],
                "key": key,
                "files_per_s": rates[key],
                "ratio": ratio,
                "min_ratio": minimum,
                "pass": ratio >= minimum,
            }
        )
    return {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine,
        "files": files,
        "extraction": {**extraction, "files_per_s": ext_rates},
        "import": {**imports, "files_per_s": imp_rates},
        "reference": {"key": best_exif, "files_per_s": reference},
        "targets": targets,
        **extra,
    }


def markdown(res: dict[str, Any]) -> str:
    out: list[str] = []
    emit = out.append
    files, ext, imp = res["files"], res["extraction"], res["import"]
    count = files["count"]
    ref_key, reference = res["reference"]["key"], res["reference"]["files_per_s"]
    args = res["args"]
    emit(
        f"{count} PNGs, {SIZE}x{SIZE} {files['kind']}, each with its own A1111 `parameters` "
        f"infotext (Pillow `PngInfo`); {files['bytes'] / (1 << 20):,.1f} MiB in all, median "
        f"{files['median_bytes'] / 1024:,.0f} KiB per file (written in "
        f"{files['seconds']:.1f} s, then read once so that they are in the page cache). "
        f"Extraction: {args['rounds']} timed rounds after one warm-up round, the readers in an "
        f"order rotated every round, medians; import: {args['import_rounds']} run(s) of each "
        "into a fresh SQLite catalog.\n\nMachine and software:\n"
    )
    emit(table(["item", "value"], res["machine"], "ll"))

    emit(f"\nMetadata extraction, {count} files (files/s = {count} / median time):\n")
    rows = []
    for key, label in ext["labels"].items():
        values = ext["samples"][key]
        rates = sorted(rate(count, v) for v in values)
        checked = args["rounds"] + 1
        rows.append(
            [
                label,
                f"{median(values):.3f}",
                fmt_rate(ext["files_per_s"][key]),
                f"{fmt_rate(rates[0])}-{fmt_rate(rates[-1])}",
                f"{ext['files_per_s'][key] / reference:.2f}x",
                f"{ext['wrong'][key]} of {count * checked:,}",
                "target" if key in ext["judged"] else "",
            ]
        )
    emit(
        table(
            [
                "reader",
                "time (s)",
                "files/s",
                "files/s, slowest-fastest round",
                "vs fastest exiftool",
                "wrong prompts",
                "judged",
            ],
            rows,
            "lrrrrrl",
        )
    )
    emit(
        f"\nexiftool's start alone (`exiftool -ver`): {ext['exiftool_start_s'] * 1e3:.0f} ms. "
        "Wrong prompts: for our rows, files whose extracted prompt or seed differs from the one "
        "written (every round, warm-up included); for exiftool, files whose `Parameters` is not "
        "the infotext written."
    )
    one = ext["one_file"]
    emit(
        f"\nOne file from the command line, each a fresh process, median of {one['runs']} runs: "
        f"`{one['ours_command']}` {one['ours_s'] * 1e3:.0f} ms, `{one['exiftool_command']}` "
        f"{one['exiftool_s'] * 1e3:.0f} ms ({one['wrong']} wrong answers)."
    )

    emit(f"\nImport into a fresh SQLite catalog, {count} files:\n")
    rows = []
    for key, label in imp["labels"].items():
        values = imp["samples"][key]
        if not values:
            continue
        counts = imp["counts"].get(key, {})
        rows.append(
            [
                label,
                f"{median(values):.2f}",
                fmt_rate(imp["files_per_s"][key]),
                f"{imp['files_per_s'][key] / reference:.3f}x",
                f"{counts.get('imported', 0)} / {counts.get('failed', 0)}",
                str(imp["wrong"][key]),
            ]
        )
    emit(
        table(
            [
                "import",
                "time (s)",
                "files/s",
                "vs fastest exiftool",
                "imported / failed",
                "wrong rows",
            ],
            rows,
            "lrrrrr",
        )
    )
    emit(
        "\nWrong rows: catalog rows whose prompt is not the one written, plus files not catalogued."
    )
    prof = imp.get("profile")
    if prof:
        total = prof["stages"][0]["ms_per_file"] or 1.0
        emit(
            f"\nWhere an import's time goes (`--profile`: cProfile over one `import_files(..., "
            f"workers=1)` of the same {prof['files']} files into a fresh catalog, "
            f"{prof['seconds']:.1f} s under the profiler; cumulative time per file; cProfile "
            "slows Python code more than C code):\n"
        )
        rows = [
            [r["stage"], f"{r['ms_per_file']:.2f}", f"{100 * r['ms_per_file'] / total:.0f}%"]
            for r in prof["stages"]
        ]
        emit(table(["stage", "ms per file", "share"], rows, "lrr"))

    emit(
        f"\nTargets (against the fastest exiftool command, {ext['labels'][ref_key]}: "
        f"{fmt_rate(reference)} files/s):\n"
    )
    rows = []
    for t in res["targets"]:
        rows.append(
            [
                t["target"],
                t["what"],
                fmt_rate(t["files_per_s"]),
                f"{t['ratio']:.2f}x",
                f"**{verdict(t['pass'])}**",
            ]
        )
    emit(table(["target", "measured", "files/s", "ratio", "result"], rows, "llrrl"))
    emit("")
    for t in res["targets"]:
        emit(
            f"- **{verdict(t['pass'])}**: {t['target']} ({t['what']}: "
            f"{fmt_rate(t['files_per_s'])} files/s, {t['ratio']:.2f}x)"
        )
    problems = list(res.get("problems", []))
    for key, wrong in {**ext["wrong"], **imp["wrong"]}.items():
        if wrong:
            problems.append(f"{key}: {wrong} wrong extractions or rows")
    emit(
        "\nMeasurement checks: "
        + (
            "every extraction (ours and exiftool's, every round) gave the prompt written in "
            "every file; every import catalogued every file with its prompt."
            if not problems
            else "PROBLEMS:\n" + "\n".join(f"- {p}" for p in problems)
        )
    )
    emit(
        f"\nLoad average (1/5/15 min): at start {res['load_start']}; at end {res['load_end']}. "
        f"CPU use during the timed part: {CpuShareTree.describe(res['cpu_share'])}."
    )
    return "\n".join(out)


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="PNG files (default 500)")
    parser.add_argument("--kind", choices=["photo", "noise"], default="photo")
    parser.add_argument("--rounds", type=int, default=5, help="timed extraction rounds (default 5)")
    parser.add_argument(
        "--import-rounds", type=int, default=1, help="runs of each import (default 1)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="worker processes (cores)"
    )
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    parser.add_argument(
        "--json", help="also write the raw figures to this file ('-': JSON on stdout instead)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run one import (workers=1) under cProfile and show where its time goes",
    )
    parser.add_argument("--_extract-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._extract_child:
        extract_child(args._extract_child)
        return 0
    if args.count < 2 or args.rounds < 1 or args.import_rounds < 1 or args.workers < 1:
        parser.error("--count must be >= 2, --rounds, --import-rounds and --workers >= 1")

    started = dt.datetime.now(dt.UTC)
    code = code_version()
    snapshot = code_snapshot()
    load_start = load_average()
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench_extract."))
    folder = base / "pngs"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    try:
        log(f"writing {args.count} PNGs into {folder} ...")
        files = make_folder(folder, args.count, args.kind, args.workers)
        from provenance.importer import find_images

        paths = find_images(folder, False)
        truth = expected(paths)
        warm_cache(paths)
        share = CpuShareTree()
        extraction = time_extraction(folder, paths, args.workers, args.rounds, truth)
        imports = time_import(folder, base, args.workers, args.import_rounds, truth)
        if args.profile:
            log("profiling one import (workers=1) ...")
            work = Path(tempfile.mkdtemp(prefix="profile.", dir=base))
            imports["profile"] = profile_import(folder, work)
            shutil.rmtree(work, ignore_errors=True)
        cpu_share = share.result()
        problems = []
        note = code_changed_note(snapshot)
        if note:
            problems.append(note)
        res = build_results(
            args,
            files,
            extraction,
            imports,
            machine_rows(extraction["exiftool_version"], started, code),
            {
                "load_start": load_start,
                "load_end": load_average(),
                "cpu_share": cpu_share,
                "problems": problems,
            },
        )
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    text = json.dumps(res, indent=1, ensure_ascii=False, default=str) + "\n"
    if args.json == "-":
        sys.stdout.write(text)
    else:
        if args.json:
            Path(args.json).write_text(text, "utf-8")
        print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())

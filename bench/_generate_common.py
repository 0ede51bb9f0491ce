"""Helpers shared by the generation benchmarks (bench_generate.py, bench_generate_gpu.py).

Statistics, Markdown tables, the measured code's version and the machine and software rows.
Importing this module imports nothing large (no torch).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MIB = 1 << 20
#: Packages whose code is measured: a change in them during a run invalidates it.
MEASURED = ("generator", "provenance")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- statistics and formatting -------------------------------------------------------------


def median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def secs(value: float) -> str:
    """Seconds with 3 significant-ish digits."""
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def ms(seconds: float) -> str:
    value = seconds * 1e3
    return f"{value:.0f}" if value >= 1000 else f"{value:.1f}" if value >= 100 else f"{value:.2f}"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


# --- code measured -------------------------------------------------------------------------


def code_snapshot() -> dict[str, str]:
    """SHA-256 of each of the measured packages' files, to notice code changing during a run."""
    out: dict[str, str] = {}
    for package in MEASURED:
        for path in sorted((REPO / package).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".json"):
                out[str(path.relative_to(REPO))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def changed_files(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def code_changed_note(before: dict[str, str]) -> str | None:
    """A problem line if files under the measured packages changed since ``before``."""
    changed = changed_files(before, code_snapshot())
    if not changed:
        return None
    return (
        "files changed on disk during the run (the run used the code imported at its start, "
        "described by 'code measured'): " + ", ".join(changed)
    )


def code_version() -> str:
    """The commit measured, and which files under generator/ and provenance/ differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *MEASURED],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    changed = sorted(line[3:] for line in dirty if line.strip())
    if not changed:
        return f"commit {head}, {' and '.join(p + '/' for p in MEASURED)} as committed"
    return f"commit {head} + uncommitted changes in {', '.join(changed)}"


# --- machine -------------------------------------------------------------------------------


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total() -> str:
    try:
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
        return f"{mem_kib / MIB:.1f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def cores() -> str:
    count = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else count
    return f"{count} ({usable} usable by this process)"


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def software_rows(torch_threads: int | None = None) -> list[list[str]]:
    import diffusers
    import torch
    import transformers

    torch_text = str(torch.__version__)
    if torch_threads is not None:
        torch_text += f" ({torch_threads} intra-op threads)"
    return [
        ["Python", sys.version.split()[0]],
        ["torch", torch_text],
        ["diffusers", str(diffusers.__version__)],
        ["transformers", str(transformers.__version__)],
        ["tokenizers", version("tokenizers")],
        ["pillow", version("pillow")],
        ["numpy", version("numpy")],
        ["aigc-provenance", version("aigc-provenance")],
    ]


def run_rows(started: dt.datetime, code: str) -> list[list[str]]:
    """``code``: :func:`code_version` taken when the run began (before the imports)."""
    return [
        ["command", f"`{shlex.join(sys.orig_argv)}`"],
        ["code measured", code],
        ["date (UTC)", started.strftime("%Y-%m-%d %H:%M")],
    ]


# --- CPU contention ------------------------------------------------------------------------


class CpuShare:
    """How busy the machine was with work other than this process, and the hypervisor's steal.

    From /proc/stat (all CPUs) and this process's own CPU time: other = busy time of the whole
    machine minus this process's, as a share of the machine's capacity over the interval.
    """

    def __init__(self) -> None:
        self.start = self._read()

    @staticmethod
    def _read() -> dict[str, float] | None:
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
            values = [int(v) for v in fields]
        except (OSError, ValueError, IndexError):
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
        busy = user + nice + system + irq + softirq
        times = os.times()
        return {
            "busy": busy / ticks,
            "steal": steal / ticks,
            "total": (busy + idle + iowait + steal) / ticks,
            "self": times.user + times.system,
        }

    def result(self) -> dict[str, Any]:
        end = self._read()
        if self.start is None or end is None:
            return {}
        span = end["total"] - self.start["total"]
        if span <= 0:
            return {}
        busy = end["busy"] - self.start["busy"]
        mine = end["self"] - self.start["self"]
        return {
            "this_process_pct": 100 * mine / span,
            "other_pct": max(0.0, 100 * (busy - mine) / span),
            "steal_pct": 100 * (end["steal"] - self.start["steal"]) / span,
        }

    @staticmethod
    def describe(share: dict[str, Any]) -> str:
        if not share:
            return "unknown"
        return (
            f"this process {share['this_process_pct']:.0f}%, other processes "
            f"{share['other_pct']:.0f}%, hypervisor steal {share['steal_pct']:.1f}% "
            "(share of all cores over the run)"
        )

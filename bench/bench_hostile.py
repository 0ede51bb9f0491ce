"""Time and memory of verify on every hostile file of ``tests/hostile_files.py``.

Run from the repository root::

    .venv/bin/python bench/bench_hostile.py [--runs N]

Each case is verified in a fresh Python process (``--runs`` times, default 3; the worst run is
reported). The child imports everything, verifies a small valid signed PNG once (warm-up), takes
its resident memory as the baseline, then verifies the hostile file from disk and reports the wall
time of that one ``verify`` call and its peak RSS (``ru_maxrss``) above the baseline. Targets per
case: under 1000 ms and under 200 MB, and the status ``EXPECTED_STATUS`` names. Prints a Markdown
table; exits 1 if any case misses a target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile_files import EXPECTED_STATUS, HOSTILE_CASES, signed_png  # noqa: E402

TARGET_MS = 1000.0
TARGET_MB = 200.0

# Runs in the fresh child: argv[1] is the warm-up file, argv[2] the hostile file.
CHILD = """
import json, resource, sys, time
from pathlib import Path
from provenance import verify
from tests.hostile_files import trusted_policy

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")

policy = trusted_policy()
warm = verify(Path(sys.argv[1]), policy=policy)
assert warm.status == "verified", warm.status
base = rss_mb()
start = time.perf_counter()
report = verify(Path(sys.argv[2]), policy=policy)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"status": report.status.value, "ms": elapsed * 1000, "mb": peak - base}))
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({platform.system()} {platform.machine()})"
    )


def run_case(warm: Path, hostile: Path) -> dict[str, Any]:
    # Started through a shell that must fork (it runs a command, then `exit`): on Linux a process
    # keeps, across exec, the peak RSS of the address space it was exec'd from, so a child
    # spawned straight from this (larger) process would report this process's peak as its own.
    proc = subprocess.run(
        [
            "/bin/sh",
            "-c",
            '"$@"; exit $?',
            "sh",
            sys.executable,
            "-c",
            CHILD,
            str(warm),
            str(hostile),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": f"child failed: {tail}", "ms": float("nan"), "mb": float("nan")}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per case (worst kept)")
    args = parser.parse_args()

    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    print(f"- Machine: {machine()}")
    print(f"- Command: `{shlex.join([str(python), *sys.argv])}`")
    print(
        f"- Each case: {args.runs} fresh processes, worst shown; time of the `verify` call "
        "alone; peak RSS (`ru_maxrss`) above the RSS after imports and a warm-up verify of a "
        "valid 32x32 signed PNG."
    )
    print()
    print(
        "| case | file size | status | time (ms) | peak memory above baseline (MB) | target "
        "| result |"
    )
    print("|---|---:|---|---:|---:|---|---|")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        warm = Path(tmp) / "warm.png"
        warm.write_bytes(signed_png(32))
        for name, build in HOSTILE_CASES.items():
            data = build()
            path = Path(tmp) / f"{name}.bin"
            path.write_bytes(data)
            runs = [run_case(warm, path) for _ in range(args.runs)]
            path.unlink()
            statuses = {str(r["status"]) for r in runs}
            ms = max(float(r["ms"]) for r in runs)
            # ru_maxrss and VmRSS are sampled differently: a case that allocates nothing can
            # read a few hundred KB below its baseline; that is shown as 0.
            mb = max(0.0, *(float(r["mb"]) for r in runs))
            expected = EXPECTED_STATUS[name].value
            problems = []
            if not ms < TARGET_MS:
                problems.append("time")
            if not mb < TARGET_MB:
                problems.append("memory")
            if statuses != {expected}:
                problems.append(f"status (expected {expected})")
            failures += bool(problems)
            verdict = "pass" if not problems else "FAIL: " + ", ".join(problems)
            print(
                f"| {name} | {len(data):,} B | {'/'.join(sorted(statuses))} | {ms:.1f} | "
                f"{mb:.1f} | < {TARGET_MS:.0f} ms, < {TARGET_MB:.0f} MB | {verdict} |"
            )
    print()
    print(f"{len(HOSTILE_CASES) - failures} of {len(HOSTILE_CASES)} cases within target.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

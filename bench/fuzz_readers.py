"""Fuzz the lenient container readers with damaged copies of the real corpus files.

Run from the repository root::

    .venv/bin/python bench/fuzz_readers.py [--seconds 600] [--seed 1] [--save DIR]
    .venv/bin/python bench/fuzz_readers.py --engine atheris   # coverage-guided, if installed

The default engine draws mutations with hypothesis (the strategy of
``tests/provenance/extract/mutations.py``: bit flips anywhere or inside the metadata, truncation,
chunk/segment length fields overwritten, random bytes inserted, runs deleted; one to four per
input) in batches with fresh seeds until the time is up. ``--engine atheris`` lets libFuzzer
mutate the corpus files instead, guided by coverage of ``provenance.extract`` (``pip install
atheris`` first; not a project dependency).

First every corpus file is read as it is (the time per file is printed). Then the readers are
called without :func:`read_metadata`'s safety net, so every exception is a
reader bug: the script prints the number of inputs tried, the slowest input, and each distinct
unhandled exception (type and place) with one example; ``--save`` writes the failing inputs.
``--by-path`` also writes each input to a file and reads it with ``read_metadata_file`` (which
seeks over a PNG's image data; its first read cut to 64 bytes, so that every later chunk is
fetched from the file): any difference from ``read_metadata`` on the bytes is a failure too.
``--verify`` also verifies each input (a key that signed nothing is the trusted one): a report
from verify's last line of defence (an exception it caught, "the file could not be read (...)")
is a failure too, since every hostile input should get a reason of its own.
Exit status 1 when an exception or a difference was found or an input took longer than
``--max-ms``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._generate_common import code_version, cores, cpu_model, load_average  # noqa: E402
from provenance.extract import containers  # noqa: E402
from provenance.extract.png import Limits  # noqa: E402
from provenance.signing.keys import SigningKey  # noqa: E402
from provenance.signing.policy import TrustedKeys, TrustPolicy  # noqa: E402
from provenance.verify import UNFORESEEN_ERROR, verify  # noqa: E402
from tests.provenance.extract.mutations import CORPUS, corpus_files  # noqa: E402

#: How verify's finding for an exception it caught begins.
LAST_LINE_OF_DEFENCE = UNFORESEEN_ERROR + " ("


@dataclass
class Tally:
    max_ms: float
    save: Path | None
    tried: int = 0
    slowest_ms: float = 0.0
    slowest: str = ""
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    by_path: Path | None = None  # where each input is written for read_metadata_file
    verify_policy: TrustPolicy | None = None  # set: each input is verified too

    def run(self, data: bytes, what: str) -> None:
        started = time.perf_counter()
        try:
            meta = containers._read(data, self.limits, True)
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            self._fail(
                f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}",
                f"{what}: {exc}",
                data,
            )
        else:
            if self.by_path is not None:
                self.by_path.write_bytes(data)
                if containers.read_metadata_file(self.by_path, limits=self.limits).meta != meta:
                    self._fail("read_metadata_file differs from read_metadata", what, data)
            if self.verify_policy is not None:
                report = verify(data, policy=self.verify_policy, limits=self.limits)
                for finding in report.findings:
                    if finding.message.startswith(LAST_LINE_OF_DEFENCE):
                        caught = finding.message[len(LAST_LINE_OF_DEFENCE) :].split(":")[0]
                        self._fail(f"verify caught {caught}", f"{what}: {finding.message}", data)
        elapsed = (time.perf_counter() - started) * 1000
        self.tried += 1
        if elapsed > self.slowest_ms:
            self.slowest_ms, self.slowest = elapsed, what

    def _fail(self, key: str, example: str, data: bytes) -> None:
        self.failures[key] += 1
        if key not in self.examples:
            self.examples[key] = example
            if self.save:
                self.save.mkdir(parents=True, exist_ok=True)
                (self.save / f"failure-{len(self.examples)}.bin").write_bytes(data)

    def report(self, seconds: float, engine: str) -> int:
        print(f"engine: {engine}; ran {seconds:.0f} s")
        print(f"inputs tried: {self.tried:,} ({self.tried / max(seconds, 1e-9):,.0f} per second)")
        print(f"slowest input: {self.slowest_ms:.1f} ms ({self.slowest})")
        total = sum(self.failures.values())
        print(f"unhandled exceptions: {total} ({len(self.failures)} distinct)")
        for key, count in self.failures.most_common():
            print(f"  {count:6d} x {key}\n           e.g. {self.examples[key]}")
        return 1 if total or self.slowest_ms > self.max_ms else 0


def clean_reads(repeat: int = 7) -> None:
    """Time ``read_metadata`` on every corpus file as it is (median of ``repeat`` reads)."""
    times: list[tuple[float, str]] = []
    for path in corpus_files():
        data = path.read_bytes()
        containers.read_metadata(data)  # warm-up (Pillow's plugins load on the first decode)
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            containers.read_metadata(data)
            runs.append((time.perf_counter() - started) * 1000)
        times.append((statistics.median(runs), str(path.relative_to(CORPUS))))
    times.sort()
    middle = statistics.median(t for t, _ in times)
    print(f"corpus files read as they are: {len(times)}; median {middle:.2f} ms per file;")
    for ms, name in times[-3:]:
        print(f"  slowest: {ms:.2f} ms {name}")


def fuzz_hypothesis(tally: Tally, seconds: float, seed: int) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed

    from tests.provenance.extract.mutations import mutated_files

    stop = time.monotonic() + seconds
    batch = 0
    while time.monotonic() < stop:
        batch += 1

        @with_seed(seed * 1_000_003 + batch)
        @settings(
            max_examples=200,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(mutated_files())
        def one(case: tuple[str, bytes, str]) -> None:
            if time.monotonic() < stop:
                name, data, what = case
                tally.run(data, f"{name}: {what}")

        one()


def fuzz_atheris(tally: Tally, seconds: float) -> None:  # pragma: no cover - optional tool
    import atheris

    atheris.instrument_all()  # coverage of everything loaded, the readers included
    seeds = Path(tempfile.mkdtemp(prefix="fuzz-readers-"))
    for path in corpus_files():
        (seeds / str(path.relative_to(CORPUS)).replace("/", "__")).write_bytes(path.read_bytes())
    started = time.monotonic()

    def one(data: bytes) -> None:
        tally.run(data, f"atheris input of {len(data)} bytes")
        if time.monotonic() - started >= seconds:
            code = tally.report(time.monotonic() - started, "atheris (libFuzzer)")
            sys.stdout.flush()
            os._exit(code)

    atheris.Setup([sys.argv[0], str(seeds), "-rss_limit_mb=4096"], one)
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    parser.add_argument("--max-ms", type=float, default=2000.0, help="slowest input allowed")
    parser.add_argument("--save", type=Path, help="folder for the inputs that failed")
    parser.add_argument(
        "--by-path", action="store_true", help="also compare read_metadata_file on each input"
    )
    parser.add_argument(
        "--verify", action="store_true", help="also verify each input (no caught exception)"
    )
    args = parser.parse_args()
    tally = Tally(max_ms=args.max_ms, save=args.save)
    if args.verify:
        tally.verify_policy = TrustedKeys([SigningKey.generate().public])
    if args.by_path:
        tally.by_path = Path(tempfile.mkdtemp(prefix="fuzz-by-path-")) / "input"
        containers.HEAD_BYTES = 64
    print(f"machine: {cpu_model()}, cores: {cores()}, Python {platform.python_version()}")
    print(f"code: {code_version()}; load average at start: {load_average()}")
    clean_reads()
    started = time.monotonic()
    if args.engine == "atheris":
        fuzz_atheris(tally, args.seconds)
    fuzz_hypothesis(tally, args.seconds, args.seed)
    engine = "hypothesis (tests/provenance/extract/mutations.py)"
    code = tally.report(time.monotonic() - started, engine)
    print(f"load average at end: {load_average()}")
    return code


if __name__ == "__main__":
    sys.exit(main())

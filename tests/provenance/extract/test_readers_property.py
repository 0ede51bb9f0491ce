"""Property: damaged copies of real files never make the readers raise, and are read quickly.

The readers are called without :func:`read_metadata`'s safety net, so a reader bug shows up as
the exception itself (with hypothesis's smallest example) rather than as a problem sentence.
``bench/fuzz_readers.py`` runs the same mutations for minutes.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings

from provenance.extract import containers
from provenance.extract.containers import read_metadata
from provenance.extract.model import ContainerMetadata
from provenance.extract.png import Limits
from tests.provenance.extract.mutations import mutated_files, seeds

SECONDS_PER_FILE = 3.0  # the largest corpus file, decoded for stealth on a slow CI machine: ~0.2 s


@settings(
    max_examples=1500,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_files())
def test_mutated_corpus_files_never_raise(case: tuple[str, bytes, str]) -> None:
    name, data, what = case
    started = time.perf_counter()
    meta = containers._read(data, Limits(), True)
    elapsed = time.perf_counter() - started
    assert isinstance(meta, ContainerMetadata)
    assert elapsed < SECONDS_PER_FILE, (name, what, elapsed)
    assert len(meta.problems) <= 51


def test_a_reader_bug_becomes_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise IndexError("a reader bug")

    monkeypatch.setattr(containers, "read_png", broken)
    meta = read_metadata(seeds()["sd-metadata/png/empty.png"])
    assert meta.format is None
    assert meta.problems == ["the metadata reader failed unexpectedly (IndexError: a reader bug)"]

"""Several writers on one SQLite catalog, and writers killed mid-batch, repaired by fsck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provenance import PublicKey, Status, TrustedKeys, verify
from provenance.catalog.fsck import fsck
from provenance.catalog.store import Catalog

ROOT = Path(__file__).resolve().parents[3]

_WRITER = """
import sys
from pathlib import Path
from provenance import SigningKey
from provenance.catalog.store import Catalog
from provenance.finalize import finalize
from tests.conftest import attestation, sample_image
url, out, name, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
key = SigningKey.generate()
(out / f"{name}.pem").write_bytes(key.public.to_pem())
catalog = Catalog.open(url)
print("ready", flush=True)
for i in range(count):
    finalize(sample_image(i % 5, (16, 16)), attestation(f"{name} cat {i}"), key,
             out / f"{name}-{i}.png", catalog=catalog)
catalog.close()
"""


def _writer(url: str, out: Path, name: str, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, url, str(out), name, str(count)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _policy(out: Path) -> TrustedKeys:
    return TrustedKeys(PublicKey.from_pem(p.read_bytes()) for p in out.glob("*.pem"))


@pytest.mark.timeout(300)
def test_four_writers_lose_nothing_and_never_fail_on_a_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    Catalog.open(url).close()  # created once, as the first command of a user would
    out = tmp_path / "out"
    out.mkdir()
    writers = [_writer(url, out, f"w{n}", 500) for n in range(4)]
    for proc in writers:
        _, err = proc.communicate(timeout=280)
        assert proc.returncode == 0, err.decode()
        assert b"locked" not in err
    with Catalog.open(url) as catalog:
        assert catalog.count() == 2000
        assert catalog.pending() == []
        rows = list(catalog.complete_rows())
    assert len({row.record_id for row in rows}) == 2000
    assert {Path(row.file_path).name for row in rows} == {p.name for p in out.glob("*.png")}


@pytest.mark.timeout(120)
def test_killed_writers_leave_what_fsck_repairs_completely(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    out = tmp_path / "out"
    out.mkdir()
    for round_, delay in enumerate((0.5, 0.8, 1.1)):
        proc = _writer(url, out, f"k{round_}", 100_000)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)  # mid-batch, wherever it is
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        with Catalog.open(url) as catalog:
            result = fsck(catalog, policy=_policy(out), folders=[out])
            assert result.consistent, result.to_dict()
            assert catalog.pending() == []
            rows = {Path(r.file_path).name: r for r in catalog.complete_rows()}
            again = fsck(catalog, policy=_policy(out), folders=[out])
        assert again.consistent and not (again.completed or again.dropped or again.imported)
        images = {p.name for p in out.glob("*.png")}
        assert set(rows) == images, "every image has its row and every row its image"
        assert {p.stem for p in out.glob("*.json")} == {Path(i).stem for i in images}
        assert not list(out.glob(".*.tmp")), "interrupted temporary files are cleaned up"
        for name in sorted(images)[-3:]:
            assert verify(out / name, policy=_policy(out)).status is Status.VERIFIED


def test_fsck_reports_missing_and_changed_files_and_imports_strays(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    out = tmp_path / "out"
    out.mkdir()
    proc = _writer(url, out, "f", 3)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    (out / "f-0.png").unlink()
    with (out / "f-1.png").open("ab") as handle:
        handle.write(b"tail")
    stray_url = f"sqlite:///{tmp_path / 'other.sqlite'}"
    stray_out = tmp_path / "stray"
    stray_out.mkdir()
    proc = _writer(stray_url, stray_out, "s", 1)
    proc.communicate(timeout=60)
    policy = TrustedKeys(
        PublicKey.from_pem(p.read_bytes()) for d in (out, stray_out) for p in d.glob("*.pem")
    )
    with Catalog.open(url) as catalog:
        report = fsck(catalog, policy=policy, folders=[stray_out])
        assert [f for _, f in report.missing] == [str((out / "f-0.png").resolve())]
        assert [f for _, f in report.changed] == [str((out / "f-1.png").resolve())]
        assert len(report.imported) == 1 and not report.consistent
        assert catalog.count() == 4


def test_interrupted_sidecar_write_is_completed_by_fsck(catalog: Catalog, tmp_path: Path) -> None:
    """The state a kill between the image's rename and the sidecar's leaves, made on purpose."""
    import json

    from provenance import SigningKey, sign_image
    from provenance.finalize import register_pending
    from tests.conftest import attestation, sample_image

    key = SigningKey.generate()
    signed = sign_image(sample_image(), attestation("interrupted"), key)
    image = tmp_path / "x.png"
    register_pending(catalog, signed, image)
    image.write_bytes(signed.png)
    (tmp_path / ".x.json.k3j2.tmp").write_bytes(b'{"half": ')
    report = fsck(catalog, policy=TrustedKeys([key.public]))
    assert report.completed == [signed.record_id] and report.consistent
    assert not list(tmp_path.glob(".*.tmp"))
    sidecar = json.loads((tmp_path / "x.json").read_text("utf-8"))
    assert sidecar["generation"]["prompt"] == "interrupted"
    assert sidecar["envelope"] == signed.envelope.to_dict()
    assert catalog.get(signed.record_id) is not None

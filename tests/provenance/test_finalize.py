"""Writing signed images: chunk placement, atomic writes, no overwrite, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provenance import (
    PublicKey,
    SchemaError,
    SigningKey,
    Status,
    TrustedKeys,
    finalize,
    sign_image,
    verify,
)
from provenance.record import ENVELOPE_KEYWORD, READABLE_KEYWORDS, XMP_KEYWORD
from tests import pngtools
from tests.conftest import attestation, sample_image


def test_text_chunks_come_before_image_data_as_text_or_itxt(key: SigningKey) -> None:
    png = sign_image(sample_image(), attestation("一只橘猫"), key).png
    parts = pngtools.chunks(png)
    first_idat = next(i for i, (t, _) in enumerate(parts) if t == b"IDAT")
    texts = {pngtools.keyword(d): (i, t) for i, (t, d) in enumerate(parts) if pngtools.is_text(t)}
    for keyword in (*READABLE_KEYWORDS, ENVELOPE_KEYWORD, XMP_KEYWORD):
        assert keyword in texts, keyword
        assert texts[keyword][0] < first_idat, keyword
    assert texts["Prompt"][1] == b"iTXt"  # not Latin-1
    assert texts["Steps"][1] == b"tEXt"
    assert texts[XMP_KEYWORD][1] == b"iTXt"


def test_existing_output_is_never_replaced(tmp_path: Path, key: SigningKey) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    out = folder / "x.png"
    out.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        finalize(sample_image(), attestation(), key, out)
    assert out.read_bytes() == b"precious"
    assert [p.name for p in folder.iterdir()] == ["x.png"]  # no temp file left behind


def test_invalid_record_writes_nothing(tmp_path: Path, key: SigningKey) -> None:
    draft = attestation()
    draft["generation"]["num_inference_steps"] = 0
    with pytest.raises(SchemaError, match=r"\$\.generation\.num_inference_steps"):
        finalize(sample_image(), draft, key, tmp_path / "images" / "x.png")
    assert not (tmp_path / "images").exists()


_WRITER = """
import sys
from pathlib import Path
from provenance import SigningKey
from provenance.finalize import finalize
from tests.conftest import attestation, sample_image
key = SigningKey.generate()
Path(sys.argv[2]).write_bytes(key.public.to_pem())
print("ready", flush=True)
for i in range(100000):
    finalize(sample_image(i % 7, (256, 256)), attestation(), key, Path(sys.argv[1]) / f"{i}.png")
"""


def test_killed_writer_never_leaves_a_half_written_image(tmp_path: Path) -> None:
    """SIGKILL a process mid-stream: every image under its final name is complete and verifies."""
    out, pem = tmp_path / "out", tmp_path / "key.pem"
    out.mkdir()
    root = Path(__file__).resolve().parents[2]
    for delay in (0.35, 0.6, 0.9):
        with subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(out), str(pem)],
            cwd=root,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(root)},
        ) as proc:
            assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
            time.sleep(delay)  # let it write a few images, then kill it wherever it is
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        policy = TrustedKeys([PublicKey.from_pem(pem.read_bytes())])
        images = sorted(out.glob("*.png"))
        assert images, "the writer produced nothing before it was killed"
        for image in images:
            assert verify(image, policy=policy).status is Status.VERIFIED, image
        for stray in out.glob(".*.tmp"):  # killed mid-write: only a hidden temp file remains
            stray.unlink()
        for image in images:
            image.unlink()
            image.with_suffix(".json").unlink(missing_ok=True)

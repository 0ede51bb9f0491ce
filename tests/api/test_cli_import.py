"""``aigc-prov import``: idempotent, resumable after a kill, unreadable files listed, originals
untouched, signed copies (or sidecars where a file's own signature must stay intact)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from blake3 import blake3
from PIL import Image, PngImagePlugin

from api.cli import main
from provenance.catalog.store import Catalog
from provenance.errors import CatalogError
from tests.conftest import CORPUS, sample_image


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def a1111_folder(folder: Path, count: int) -> list[Path]:
    """``count`` distinct PNGs with A1111-style infotext, as the webui writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        info = PngImagePlugin.PngInfo()
        info.add_text(
            "parameters",
            f"一只橘猫, photo {i}\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, "
            f"CFG scale: 7, Seed: {1000 + i}, Size: 64x64, Model: sd15",
        )
        path = folder / f"{i:04d}.png"
        sample_image(seed=i, size=(64, 64)).save(path, pnginfo=info)
        paths.append(path)
    return paths


def digests(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("workers", ["1", "2"])  # in this process; in a pool of processes
def test_import_is_idempotent_and_lists_unreadable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    folder = tmp_path / "in"
    a1111_folder(folder / "sub", 3)
    shutil.copy(CORPUS / "sd-metadata" / "jpg" / "swarmui.jpg", folder / "swarmui.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (folder / "notes.jpg").write_text("not an image")
    shutil.copy(folder / "sub" / "0000.png", folder / "sub" / "copy-of-0000.png")
    before = digests(folder)
    home = ["--home", str(tmp_path / "home")]

    code, out, _ = run(
        capsys, *home, "import", str(folder), "--workers", workers, "--json"
    )  # not recursive
    report = json.loads(out)
    assert code == 1  # two files could not be read, and say why
    assert [Path(i["file"]).name for i in report["imported"]] == ["swarmui.jpg"]
    reasons = {Path(f["file"]).name: f["reason"] for f in report["failed"]}
    assert set(reasons) == {"broken.png", "notes.jpg"}
    assert "not a PNG, JPEG or WebP image" in reasons["notes.jpg"]
    assert reasons["broken.png"] == "the image header cannot be read (not a valid image)"

    code, out, _ = run(
        capsys, *home, "import", str(folder), "--recursive", "--workers", workers, "--json"
    )
    report = json.loads(out)
    assert len(report["imported"]) == 3 and len(report["skipped"]) == 2
    reasons = sorted(item["reason"] for item in report["skipped"])
    assert reasons[0].startswith("already imported as ")
    assert reasons[1].startswith("same file as ") and reasons[1].endswith("0000.png")
    assert {i["tool"] for i in report["imported"]} == {"a1111"}
    code, out, _ = run(
        capsys, *home, "import", str(folder), "--recursive", "--workers", workers, "--json"
    )
    report = json.loads(out)
    assert report["imported"] == [] and len(report["skipped"]) == 5
    assert digests(folder) == before  # originals never modified

    code, out, _ = run(capsys, *home, "search", "橘猫", "--json")
    rows = json.loads(out)["results"]
    assert len(rows) == 3 and {r["seed"] for r in rows} == {1000, 1001, 1002}
    code, out, _ = run(capsys, *home, "search", "--model", "sd15", "--json")
    assert len(json.loads(out)["results"]) == 3

    # an imported JPEG is found in the catalog by its bytes; without the catalog, verification
    # says which tool's metadata it carries
    swarm = str(folder / "swarmui.jpg")
    code, out, _ = run(capsys, *home, "verify", swarm, "--json")
    assert json.loads(out)["status"] == "catalog_match"
    code, out, _ = run(capsys, *home, "verify", "--no-catalog", swarm, "--json")
    report = json.loads(out)
    assert report["status"] == "foreign_metadata"
    assert report["findings"][-1]["message"].endswith("(not checked): swarmui generation data")


def test_import_with_sign_writes_verified_copies_and_keeps_foreign_signatures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    a1111_folder(folder, 2)
    shutil.copy(CORPUS / "sd-metadata" / "c2pa" / "png" / "chatgpt-image2.png", folder)
    shutil.copy(CORPUS / "sd-metadata" / "webp" / "novelai-curated.webp", folder)
    shutil.copy(CORPUS / "sd-parsers" / "parsers" / "Fooocus" / "fooocus1_cropped.png", folder)
    before = digests(folder)
    home = ["--home", str(tmp_path / "home")]
    out_dir = tmp_path / "signed"
    code, out, err = run(
        capsys, *home, "import", str(folder), "--sign", "--out", str(out_dir), "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    by_name = {Path(i["file"]).name: i for i in report["imported"]}
    assert set(by_name) == {
        "0000.png",
        "0001.png",
        "chatgpt-image2.png",
        "novelai-curated.webp",
        "fooocus1_cropped.png",
    }
    assert by_name["chatgpt-image2.png"]["sidecar"].endswith("chatgpt-image2.png.json")
    assert by_name["novelai-curated.webp"]["sidecar"].endswith("novelai-curated.webp.json")
    assert "copy" not in by_name["chatgpt-image2.png"]
    for name in ("0000.png", "0001.png"):
        copy = by_name[name]["copy"]
        code, out, _ = run(capsys, *home, "verify", "--json", copy)
        assert code == 0 and json.loads(out)["status"] == "verified"
        record = json.loads(Path(copy).with_suffix(".json").read_text("utf-8"))
        info = record["extensions"]["aigc-provenance.import"]
        assert record["task"]["type"] == "import" and info["tool"]["name"] == "a1111"
        assert info["source_file"] == name and record["generation"]["num_inference_steps"] == 20
    # a 64-bit seed, which RFC 8785 cannot sign as a number, is kept in the copy as its text
    fooocus = json.loads(
        Path(by_name["fooocus1_cropped.png"]["copy"]).with_suffix(".json").read_text()
    )
    assert fooocus["extensions"]["aigc-provenance.import"]["generation"]["seed"] == (
        "6952411511246973023"
    )
    side = json.loads(Path(by_name["novelai-curated.webp"]["sidecar"]).read_text("utf-8"))
    assert side["extensions"]["aigc-provenance.import"]["keeps_signature"] == "novelai"
    assert side["content"]["format"] == "webp" and "envelope" in side
    assert digests(folder) == before


def test_import_killed_halfway_resumes_without_duplicates(tmp_path: Path) -> None:
    paths = a1111_folder(tmp_path / "in", 600)  # time to catch it after its first commits
    home = tmp_path / "home"
    argv = [
        sys.executable,
        "-m",
        "api",
        "--home",
        str(home),
        "import",
        str(tmp_path / "in"),
        "--workers",
        "1",
    ]
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ}
    )
    catalog_file = home / "catalog.sqlite"
    deadline = time.monotonic() + 60
    count = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if catalog_file.exists():
            try:
                with Catalog.open(f"sqlite:///{catalog_file}", create=False) as catalog:
                    count = catalog.count()
            except CatalogError:  # created but not yet migrated
                count = 0
            if count >= 10:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the import finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert 10 <= count < len(paths)
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    with Catalog.open(f"sqlite:///{catalog_file}", create=False) as catalog:
        assert catalog.count() == len(paths) and catalog.pending() == []
        with catalog.engine.connect() as conn:
            from sqlalchemy import func, select

            from provenance.catalog.models import RecordRow

            distinct = conn.execute(
                select(func.count(func.distinct(RecordRow.source_digest)))
            ).scalar_one()
    assert distinct == len(paths)


def _run_on_a_terminal(argv: list[str]) -> tuple[int, str, str]:
    """Run ``argv`` with its standard error on a pseudo-terminal: (exit code, stdout, stderr)."""
    leader, follower = pty.openpty()
    # 24 rows, 100 columns: a terminal of size 0x0 gets an empty bar
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        done = subprocess.run(
            argv, stdout=subprocess.PIPE, stderr=follower, text=True, check=False, timeout=120
        )
    finally:
        os.close(follower)
    shown = b""
    try:
        while chunk := os.read(leader, 65536):
            shown += chunk
    except OSError:  # EIO: the terminal's other end is closed and everything was read
        pass
    finally:
        os.close(leader)
    return done.returncode, done.stdout, shown.decode("utf-8", "replace")


def test_import_shows_a_progress_bar_on_a_terminal_and_none_with_json(tmp_path: Path) -> None:
    a1111_folder(tmp_path / "in", 5)
    base = [sys.executable, "-m", "api", "--home", str(tmp_path / "home")]
    code, out, shown = _run_on_a_terminal([*base, "import", str(tmp_path / "in")])
    assert code == 0, shown
    assert "importing: 100%" in shown and "5/5" in shown
    assert out.strip() == "imported 5, skipped 0 (already catalogued), unreadable 0"

    code, out, shown = _run_on_a_terminal([*base, "import", str(tmp_path / "in"), "--json"])
    assert code == 0, shown
    assert "importing" not in shown  # a script reads stdout; nothing is drawn
    assert len(json.loads(out)["skipped"]) == 5


def test_our_own_signed_files_keep_their_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    photo = tmp_path / "photo.png"
    sample_image(size=(64, 64)).save(photo)
    mine, theirs = ["--home", str(tmp_path / "mine")], ["--home", str(tmp_path / "theirs")]
    for home, name in ((mine, "mine.png"), (theirs, "theirs.png")):
        run(capsys, *home, "keys", "init")
        code, out, err = run(
            capsys,
            *home,
            "sign",
            str(photo),
            "--prompt",
            "一只橘猫",
            "--out",
            str(folder / name),
            "--json",
        )
        assert code == 0, err
    own_id = json.loads((folder / "mine.json").read_text())["record_id"]
    code, out, _ = run(capsys, *mine, "import", str(folder), "--json")
    skipped = {Path(i["file"]).name: i["reason"] for i in json.loads(out)["skipped"]}
    assert skipped == {"mine.png": "its own record is catalogued"}  # `sign` catalogued it

    audit = ["--home", str(tmp_path / "audit")]  # trusts mine's key, has never seen the files
    run(capsys, *audit, "keys", "init")
    run(capsys, *mine, "keys", "export", "--out", str(tmp_path / "mine.pem"))
    run(capsys, *audit, "keys", "trust", str(tmp_path / "mine.pem"))
    code, out, err = run(capsys, *audit, "import", str(folder), "--json")
    assert code == 0, err
    by_name = {Path(i["file"]).name: i for i in json.loads(out)["imported"]}
    assert by_name["mine.png"]["record_id"] == own_id  # catalogued with its own record
    assert by_name["mine.png"]["tool"] == "aigc-provenance"
    foreign = by_name["theirs.png"]["record_id"]  # untrusted signer: imported as found
    assert foreign != json.loads((folder / "theirs.json").read_text())["record_id"]
    code, out, _ = run(capsys, *audit, "search", "橘猫", "--json")
    tasks = {r["record_id"]: r["task"] for r in json.loads(out)["results"]}
    assert tasks == {own_id: "attest", foreign: "import"}


def test_import_binds_file_bytes_by_default_and_pixels_with_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    first, _ = a1111_folder(folder, 2)
    whole = first.read_bytes()
    idat = whole.index(b"IDAT")
    (folder / "cut.png").write_bytes(whole[: idat + 40])  # header fine, image data cut short
    reencoded = tmp_path / "reencoded.png"  # the same pixels, other bytes
    with Image.open(first) as image:
        image.save(reencoded, compress_level=1)
    fast, full = ["--home", str(tmp_path / "fast")], ["--home", str(tmp_path / "full")]

    code, out, err = run(capsys, *fast, "import", str(folder), "--json")
    assert code == 0, err  # nothing decoded: the cut file is catalogued by its bytes too
    ids = {Path(i["file"]).name: i["record_id"] for i in json.loads(out)["imported"]}
    assert set(ids) == {"0000.png", "0001.png", "cut.png"}
    with Catalog.open(f"sqlite:///{tmp_path / 'fast' / 'catalog.sqlite'}") as catalog:
        row = catalog.get(ids["0000.png"])
        assert row is not None and row.pixel_digest is None and row.phash is None
        record = json.loads(row.record_bytes)
    assert record["schema"] == "urn:aigc-provenance:schema:record:2"
    assert record["content"]["pixel_digest"] is None
    assert record["content"]["data_digest"]["value"] == blake3(whole).hexdigest()
    code, out, _ = run(capsys, *fast, "verify", "--json", str(first), str(reencoded))
    original, copy = (json.loads(line) for line in out.splitlines())
    assert original["status"] == "catalog_match"
    assert any(
        f["message"].endswith(
            f"bytes are exactly those of the file imported as catalogued record {ids['0000.png']}"
        )
        for f in original["findings"]
    )
    assert copy["status"] == "no_provenance"  # no pixels were bound: nothing to find it by

    code, out, err = run(capsys, *full, "import", str(folder), "--pixels", "--json")
    assert code == 1
    report = json.loads(out)
    assert [Path(f["file"]).name for f in report["failed"]] == ["cut.png"]
    assert report["failed"][0]["reason"].startswith("the image data cannot be decoded")
    code, out, _ = run(capsys, *full, "verify", "--json", str(reencoded))
    found = json.loads(out)
    assert found["status"] == "catalog_match"
    assert [c["record_id"] for c in found["candidates"]] == [
        i["record_id"] for i in report["imported"] if i["file"].endswith("0000.png")
    ]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_corpus_file_imports_and_unsignable_numbers_are_kept_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: str
) -> None:
    """Every real tool file of the corpus imports. Numbers RFC 8785 cannot sign are kept as
    their text in the import record: Fooocus writes a 64-bit seed (it used to stop the whole
    import with a traceback), and a tool's JSON can hold NaN."""
    folder = tmp_path / "in"
    folder.mkdir()
    images = [p for p in sorted(CORPUS.rglob("*")) if p.suffix.lower() in (".png", ".jpg", ".webp")]
    for i, path in enumerate(images):
        shutil.copy(path, folder / f"{i:02d}-{path.name}")
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "invokeai_metadata",
        '{"positive_prompt": "a cat", "seed": 1, "cfg_scale": NaN, "strength": Infinity, '
        '"noise_id": 123456789012345678901}',
    )
    sample_image(size=(32, 32)).save(folder / "nan.png", pnginfo=info)
    home = tmp_path / "home"

    code, out, _ = run(
        capsys, "--home", str(home), "import", str(folder), "--workers", workers, "--json"
    )
    report = json.loads(out)
    assert [Path(f["file"]).name.split("-", 1)[1] for f in report["failed"]] == ["empty_file.png"]
    assert code == 1
    done = len(report["imported"]) + len(report["skipped"])
    assert done == len(images) + 1 - 1  # the corpus and nan.png, less the empty file
    ids = {Path(i["file"]).name: i["record_id"] for i in report["imported"]}
    (fooocus,) = (name for name in ids if name.endswith("fooocus1_cropped.png"))
    with Catalog.open(f"sqlite:///{home / 'catalog.sqlite'}", create=False) as catalog:
        records = {
            name: json.loads(catalog.get(ids[name]).record_bytes) for name in (fooocus, "nan.png")
        }
    kept = records[fooocus]["extensions"]["aigc-provenance.import"]["generation"]
    assert kept["seed"] == "6952411511246973023"  # exactly what the file says, as text
    assert records[fooocus]["generation"]["seed"] is None  # not a seed the schema can hold
    extension = records["nan.png"]["extensions"]["aigc-provenance.import"]
    assert extension["tool"]["name"] == "invokeai"
    assert extension["extra"]["strength"] == "Infinity"
    assert extension["extra"]["noise_id"] == "123456789012345678901"
    assert records["nan.png"]["generation"]["cfg_scale"] is None  # NaN is no CFG scale

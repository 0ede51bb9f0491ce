"""Whole runs of the command line in separate processes: determinism across processes, no network
with sockets blocked, Ctrl-C, and the saved test model loading through the real checkpoint path."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from provenance import KeyRing, KeyRingPolicy, Status, verify

#: Imported by every Python process started with it on PYTHONPATH: refuses any connection and
#: name lookup, and writes each attempt to $BLOCKED_LOG.
SOCKET_BLOCKER = textwrap.dedent(
    """
    import os, socket

    def _refuse(*args, **kwargs):
        with open(os.environ["BLOCKED_LOG"], "a") as log:
            log.write(repr(args[:2]) + "\\n")
        raise OSError("network blocked by the test")

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.getaddrinfo = _refuse
    socket.create_connection = _refuse
    """
)


def cli(home: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api", "--home", str(home), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or os.environ.copy(),
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_same_seed_in_two_processes_gives_identical_pixels_with_the_network_blocked(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(SOCKET_BLOCKER)
    log = tmp_path / "blocked.log"
    plain = {**os.environ, "PYTHONHASHSEED": "1"}
    blocked = {
        k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    }
    blocked.update(
        PYTHONHASHSEED="2",
        PYTHONPATH=os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")])),
        BLOCKED_LOG=str(log),
    )
    args = [
        "generate",
        "一只橘猫",
        "--seed",
        "1234",
        "--width",
        "64",
        "--height",
        "64",
        "--steps",
        "4",
        "--json",
    ]
    home = tmp_path / "home"
    runs = [
        cli(home / "a", *args, "--out", str(tmp_path / "a"), env=plain),
        cli(home / "b", *args, "--out", str(tmp_path / "b"), env=blocked),
    ]
    results = [finish(p) for p in runs]
    records = []
    for code, out, err in results:
        assert code == 0, err
        line = json.loads(out.strip().splitlines()[-1])
        assert line["seed"] == 1234
        sidecar = json.loads(Path(line["sidecar"]).read_text("utf-8"))
        records.append(sidecar)
    assert not log.exists(), log.read_text()  # no connection or lookup was even attempted
    a, b = records
    assert a["content"]["pixel_digest"] == b["content"]["pixel_digest"]
    assert a["model"]["weights_digest"] == b["model"]["weights_digest"]
    key = "aigc-provenance.generator"
    assert (  # stable across processes, whatever PYTHONHASHSEED says
        a["extensions"][key]["model"]["config_fingerprint"]
        == b["extensions"][key]["model"]["config_fingerprint"]
    )

    # the blocker really blocks: a process that tries to connect is logged and refused
    probe = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 9))"],
        env=blocked,
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0 and "network blocked by the test" in probe.stderr
    assert log.exists()


def test_ctrl_c_stops_cleanly(tmp_path: Path) -> None:
    home, out_dir = tmp_path / "home", tmp_path / "out"
    proc = cli(
        home,
        "generate",
        "猫",
        "--seed",
        "1",
        "--num-images",
        "200",
        "--width",
        "128",
        "--height",
        "128",
        "--steps",
        "8",
        "--out",
        str(out_dir),
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first finished image
    assert "record=" in first, proc.stderr.read() if proc.stderr else ""
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    code, _rest, err = finish(proc)
    assert code == 130, err
    assert "interrupted" in err and "nothing half-written" in err and "Traceback" not in err
    pngs = sorted(out_dir.glob("*.png"))
    assert 1 <= len(pngs) < 200
    assert not list(out_dir.glob(".*.tmp"))  # no temporary file left behind
    policy = KeyRingPolicy(KeyRing.open(home / "keys"))
    for png in pngs:
        assert verify(png, policy=policy).status is Status.VERIFIED
        assert png.with_suffix(".json").exists()
    from provenance.catalog.store import Catalog

    with Catalog.open(f"sqlite:///{home / 'catalog.sqlite'}", create=False) as catalog:
        assert catalog.count() == len(pngs) and catalog.pending() == []


def test_saved_test_model_loads_through_the_real_checkpoint_path(
    saved_tiny: Path, tiny_model: Any, tmp_path: Path
) -> None:
    from generator.engine import load_model, run
    from generator.presets import resolve_model
    from provenance.binding import pixel_digest

    from .conftest import checked

    files = {p.relative_to(saved_tiny).as_posix() for p in saved_tiny.rglob("*") if p.is_file()}
    assert {
        "model_index.json",
        "transformer/diffusion_pytorch_model.safetensors",
        "text_encoder/model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "tokenizer/tokenizer.json",
    } <= files
    index = json.loads((saved_tiny / "model_index.json").read_text())
    assert index["_class_name"] == "ZImagePipeline"
    assert index["transformer"] == ["diffusers", "ZImageTransformer2DModel"]
    assert index["text_encoder"] == ["transformers", "Qwen3Model"]
    assert index["tokenizer"] == ["transformers", "Qwen2Tokenizer"]

    source = resolve_model(str(saved_tiny))
    assert (source.kind, source.name, source.preset.name) == (
        "folder",
        "aigc-provenance/tiny-z-image",
        "tiny-z-image",
    )
    cache = tmp_path / "weights-sha256.json"
    loaded = load_model(source, device="cpu", digest_cache=cache)
    assert type(loaded.pipe).__name__ == "ZImagePipeline" and loaded.folder == saved_tiny.resolve()
    assert set(loaded.identity.weight_files) == {
        "text_encoder/model.safetensors",
        "transformer/diffusion_pytorch_model.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
    }
    assert cache.exists() and len(json.loads(cache.read_text())) == 3
    # the configuration survives save and load; so do the pixels
    assert loaded.identity.config_fingerprint == tiny_model.identity.config_fingerprint
    request = checked(seed=99)
    assert pixel_digest(next(run(loaded, request)).image) == pixel_digest(
        next(run(tiny_model, request)).image
    )
    # a cached digest is reused: a changed cache entry shows it was not recomputed
    entries = json.loads(cache.read_text())
    for entry in entries.values():
        entry["sha256"] = "0" * 64
    cache.write_text(json.dumps(entries))
    again = load_model(source, device="cpu", digest_cache=cache)
    assert set(again.identity.weight_files.values()) == {"0" * 64}


def test_a_hub_id_loads_from_the_local_cache_offline_and_records_its_commit(
    saved_tiny: Path, tmp_path: Path, key: Any
) -> None:
    import shutil

    from generator.engine import load_model
    from generator.presets import resolve_model
    from generator.produce import produce

    from .conftest import checked

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--acme--tiny-zimage"
    shutil.copytree(saved_tiny, repo / "snapshots" / commit)
    (repo / "snapshots" / commit / "aigc_provenance_model.json").unlink()  # a plain checkpoint
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    source = resolve_model("acme/tiny-zimage", hub_cache=tmp_path / "hub")
    assert (source.kind, source.preset.name) == ("hub", "z-image")  # not "turbo": Base defaults
    model = load_model(source, device="cpu")
    assert model.revision == commit
    (item,) = produce(model, checked(seed=1), key, tmp_path / "out")
    record = item.result.record
    assert (record["model"]["name"], record["model"]["revision"]) == ("acme/tiny-zimage", commit)
    info = record["extensions"]["aigc-provenance.generator"]["model"]
    assert (info["source"], info["location"]) == ("hub", "acme/tiny-zimage")
    assert "transformer/diffusion_pytorch_model.safetensors" in info["weight_files"]

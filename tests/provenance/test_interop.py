"""Our files read back by real third-party readers: exiftool and sd-parsers, and WebUI scripts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sd_parsers import ParserManager

from provenance import SigningKey, finalize
from tests.conftest import attestation, sample_image

PROMPT = "一只橘猫坐在窗台上，高清照片, orange cat"


@pytest.fixture
def signed_file(tmp_path: Path, key: SigningKey) -> Path:
    draft = attestation(
        PROMPT,
        negative_prompt="模糊, lowres",
        seed=3141592653,
        steps=28,
        cfg_scale=4.5,
        model="Z-Image",
        sampler="Euler",
    )
    return finalize(sample_image(), draft, key, tmp_path / "cat.png").path


def _exiftool(*args: str) -> dict:  # type: ignore[type-arg]
    exe = shutil.which("exiftool")
    assert exe, "exiftool is required: apt-get install -y libimage-exiftool-perl (.ci/run does)"
    out = subprocess.run([exe, "-j", "-G1", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]  # type: ignore[no-any-return]


def test_exiftool_shows_prompt_seed_steps_and_source_type(signed_file: Path) -> None:
    tags = _exiftool(str(signed_file))
    assert tags["PNG:Prompt"] == PROMPT
    assert str(tags["PNG:Seed"]) == "3141592653"
    assert str(tags["PNG:Steps"]) == "28"
    assert str(tags["PNG:CFGScale"]) == "4.5"
    assert tags["PNG:NegativePrompt"] == "模糊, lowres"
    assert tags["XMP-iptcExt:DigitalSourceType"] == (
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    )
    label = json.loads(tags["XMP-TC260:Aigc"])
    assert label["Label"] == "1" and label["ProduceID"]
    assert tags["XMP-dc:Description"] == PROMPT


def test_exiftool_grep_finds_the_keys(signed_file: Path) -> None:
    out = subprocess.run(
        ["exiftool", str(signed_file)], capture_output=True, text=True, check=True
    ).stdout
    lines = [
        line for line in out.splitlines() if any(k in line for k in ("Prompt", "Seed", "Steps"))
    ]
    assert any(line.startswith("Prompt ") and PROMPT in line for line in lines)
    assert any(line.startswith("Seed ") for line in lines)
    assert any(line.startswith("Steps ") for line in lines)


def test_sd_parsers_reads_our_parameters(signed_file: Path) -> None:
    info = ParserManager().parse(str(signed_file))
    assert info is not None, "sd-parsers found no generation parameters"
    assert info.generator.value == "AUTOMATIC1111"
    assert info.full_prompt == PROMPT
    assert info.full_negative_prompt == "模糊, lowres"
    sampler = info.samplers[0]
    assert sampler.name == "Euler"
    assert sampler.parameters["seed"] == "3141592653"
    assert sampler.parameters["steps"] == "28"
    assert sampler.parameters["cfg_scale"] == "4.5"
    assert sampler.model is not None and sampler.model.name == "Z-Image"


def test_webui_field_paths_read_from_the_sidecar(signed_file: Path) -> None:
    """What a script written for the Z-Image-Turbo WebUI's sidecar reads, it reads from ours."""
    doc = json.loads(signed_file.with_suffix(".json").read_text("utf-8"))
    assert doc["version"] == "1.0"
    assert doc["model"]["name"] == "Z-Image"
    assert "revision" in doc["model"]
    gen = doc["generation"]
    assert gen["prompt"] == PROMPT and gen["negative_prompt"] == "模糊, lowres"
    assert (gen["width"], gen["height"]) == (64, 48)
    assert gen["num_inference_steps"] == 28 and gen["cfg_scale"] == 4.5
    assert gen["seed"] == 3141592653 and gen["num_images"] == 1
    assert set(doc["system"]) >= {"torch_version", "cuda_available", "gpu"}
    assert set(doc["performance"]) >= {"generation_time", "memory_usage_mb"}
    assert doc["created_at"].endswith("Z")
    assert doc["envelope"]["signatures"][0]["keyid"]

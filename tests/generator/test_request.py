"""Bad requests are refused with a sentence saying what to do, before any model is loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from generator.errors import GenerationRequestError
from generator.presets import PRESETS, resolve_model
from generator.request import GenerationRequest, check_request, nearest_valid_size

TINY = resolve_model("tiny-z-image")


def check(**kw: object) -> object:
    kw.setdefault("prompt", "一只橘猫")
    return check_request(GenerationRequest(**kw), TINY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"width": 500}, r"width 500 is not a multiple of 16 .* nearest valid width is 496"),
        ({"height": 1000}, r"height 1000 is not a multiple of 16 .* nearest valid height is 1008"),
        ({"width": 8}, r"nearest valid width is 16"),
        ({"width": 8192}, r"width must be between 16 and 4096, not 8192"),
        ({"num_inference_steps": 0}, r"steps must be between 1 and 1000, not 0"),
        ({"num_inference_steps": -3}, r"steps must be between 1 and 1000, not -3"),
        ({"guidance_scale": -1.0}, r"guidance \(--cfg\) must be between 0 and 100, not -1.0"),
        (
            {"guidance_scale": float("nan")},
            r"guidance \(--cfg\) must be between 0 and 100, not nan",
        ),
        ({"prompt": "   "}, r"the prompt is empty"),
        ({"num_images": 0}, r"number of images must be between 1 and 1024, not 0"),
        ({"seed": -2}, r"seed must be -1 \(draw one\) or between 0 and"),
        ({"strength": 0.5}, r"--strength only applies to edits"),
    ],
)
def test_bad_request_is_refused_with_a_reason(kw: dict[str, object], message: str) -> None:
    with pytest.raises(GenerationRequestError, match=message):
        check(**kw)


def test_nearest_valid_size() -> None:
    assert [nearest_valid_size(v) for v in (1, 500, 504, 1000, 1023)] == [16, 496, 512, 1008, 1024]


def test_edit_inputs_are_checked(tmp_path: Path) -> None:
    with pytest.raises(
        GenerationRequestError, match=r"the edit input .*missing.png does not exist"
    ):
        check(image=tmp_path / "missing.png")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(GenerationRequestError, match=r"the edit input is not usable: cannot read"):
        check(image=text)
    picture = tmp_path / "in.png"
    Image.new("RGB", (64, 64), "orange").save(picture)
    mask = tmp_path / "mask.png"
    Image.new("L", (32, 64), 255).save(mask)
    with pytest.raises(GenerationRequestError, match=r"the mask is 32x64 but the image is 64x64"):
        check(image=picture, mask=mask)
    with pytest.raises(GenerationRequestError, match=r"a mask needs an input image"):
        check(mask=mask)
    odd = tmp_path / "odd.png"
    Image.new("RGB", (70, 64)).save(odd)
    with pytest.raises(GenerationRequestError, match=r"width 70 .* nearest valid width is 64"):
        check(image=odd)
    with pytest.raises(GenerationRequestError, match=r"strength must be in \(0, 1\], not 1.5"):
        check(image=picture, strength=1.5)


def test_unknown_and_unavailable_models(tmp_path: Path) -> None:
    with pytest.raises(GenerationRequestError, match=r"unknown model 'sdxl-turbo!'; use a preset"):
        resolve_model("sdxl-turbo!")
    with pytest.raises(GenerationRequestError, match=r"has no model_index.json"):
        resolve_model(str(tmp_path))
    with pytest.raises(
        GenerationRequestError,
        match=r"'z-image-turbo' \(Tongyi-MAI/Z-Image-Turbo\) is not in the local Hugging Face cache"
        r".*pass --allow-download",
    ):
        resolve_model("z-image-turbo", hub_cache=tmp_path)
    with pytest.raises(GenerationRequestError, match=r"someone/some-model.* not in the local"):
        resolve_model("someone/some-model", hub_cache=tmp_path)


def test_cached_hub_snapshot_resolves_without_network(tmp_path: Path) -> None:
    repo = tmp_path / "models--Tongyi-MAI--Z-Image-Turbo"
    commit = "a" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "model_index.json").write_text("{}")
    source = resolve_model("z-image-turbo", hub_cache=tmp_path)
    assert (source.kind, source.location, source.preset.steps) == (
        "hub",
        "Tongyi-MAI/Z-Image-Turbo",
        8,
    )


def test_defaults_seeds_and_batches() -> None:
    req = check(seed=7, num_images=5, batch_size=2)
    assert req.seeds == (7, 8, 9, 10, 11)  # image k uses seed + k
    assert req.batches() == [(7, 8), (9, 10), (11,)]
    assert (req.width, req.height, req.num_inference_steps, req.guidance_scale) == (512, 512, 8, 0)
    drawn = check(seed=-1)
    assert drawn.seed_was_drawn and 0 <= drawn.seeds[0] < 2**32
    assert any("test model" in w and "noise" in w for w in drawn.warnings)


def test_model_aware_quality_warnings() -> None:
    turbo = PRESETS["z-image-turbo"]
    base = PRESETS["z-image"]
    from generator.presets import ModelSource

    t = ModelSource("Tongyi-MAI/Z-Image-Turbo", turbo, "hub", "Tongyi-MAI/Z-Image-Turbo")
    b = ModelSource("Tongyi-MAI/Z-Image", base, "hub", "Tongyi-MAI/Z-Image")
    warned = check_request(GenerationRequest(prompt="猫", guidance_scale=3.0), t).warnings
    assert any("distilled for guidance 0" in w for w in warned)
    assert check_request(GenerationRequest(prompt="猫"), t).warnings == ()
    few = check_request(GenerationRequest(prompt="猫", num_inference_steps=6), b).warnings
    assert any("needs 28-50 steps; 6 steps" in w for w in few)
    assert any("negative prompt" in w for w in few)
    fine = GenerationRequest(prompt="猫", negative_prompt="模糊", num_inference_steps=30)
    assert check_request(fine, b).warnings == ()


def test_cli_refuses_bad_requests_before_importing_torch(tmp_path: Path) -> None:
    """Every bad request exits 2 with its reason, and torch was never even imported."""
    picture = tmp_path / "in.png"
    Image.new("RGB", (64, 64)).save(picture)
    mask = tmp_path / "mask.png"
    Image.new("L", (48, 48)).save(mask)
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    cases = [
        (["generate", "猫", "--out", str(a_file)], "a-file is not a folder"),
        (["generate", "猫", "--out", str(a_file / "x")], "a-file is not a folder"),
        (["generate", "猫", "--device", "tpu"], "device must be cpu, mps, cuda or cuda:N"),
        (["generate", "猫", "--revision", "main"], "--revision only applies to Hugging Face"),
        (["generate", "猫", "--width", "0"], "width must be between 16 and 4096, not 0"),
        (["generate", "a\x01b"], "the prompt holds the control character U+0001"),
        (["generate", "猫", "--model", "a/b", "--revision", "../../x"], "is not a branch"),
        (["interpolate", "猫", "--seed-a", "-1", "--seed-b", "2"], "must be seeds (0 or more)"),
        (
            ["interpolate", "猫", "--seed-a", "1", "--seed-b", "2", "--frames", "100000"],
            "--frames must be between 2 and 1024",
        ),
        (["generate", "猫", "--width", "500"], "nearest valid width is 496"),
        (["generate", "猫", "--steps", "0"], "steps must be between 1 and 1000, not 0"),
        (["generate", "猫", "--cfg", "-2"], "guidance (--cfg) must be between 0 and 100"),
        (["generate", ""], "the prompt is empty"),
        (["generate", "猫", "--model", "no-such-model"], "unknown model 'no-such-model'"),
        (["edit", str(tmp_path / "nope.png"), "--prompt", "猫"], "nope.png does not exist"),
        (["edit", str(picture), "--prompt", "猫", "--mask", str(mask)], "the mask is 48x48"),
        (["interpolate", "猫", "--seed-a", "1", "--seed-b", "2", "--frames", "1"], "--frames"),
    ]
    script = f"""
import contextlib, io, json, sys
from api.cli import main
out = []
for argv, _ in {cases!r}:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["--home", {str(tmp_path / "home")!r}, *argv])
    out.append([code, err.getvalue()])
print(json.dumps({{"results": out, "torch": "torch" in sys.modules,
                  "diffusers": "diffusers" in sys.modules}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for (argv, message), (code, err) in zip(cases, found["results"], strict=True):
        assert code == 2, (argv, err)
        assert message in err, (argv, err)
        assert "Traceback" not in err
    assert not found["torch"] and not found["diffusers"]
    assert not (tmp_path / "home" / "catalog.sqlite").exists()  # nothing was started

"""The interpreters: which tool wrote a file's metadata, and the normalized generation fields.

Real files first (every entry of the corpus's expected.json), then synthetic cases for formats
with no real sample and for the edge cases of each format.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance import SignedImage
from provenance.extract import interpret as interpret_package
from provenance.extract.containers import read_metadata
from provenance.extract.interpret import interpret
from provenance.extract.interpret.a1111 import param_pairs, parse_infotext, tool_of
from provenance.extract.model import GENERATION_KEYS, ContainerMetadata, RawValue
from tests.conftest import CORPUS

EXPECTED: dict[str, dict[str, Any]] = (
    json.loads((CORPUS / "expected.json").read_text("utf-8"))
    if (CORPUS / "expected.json").exists()
    else {}
)
#: expected.json field -> generation key
FIELDS = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "steps": "steps",
    "cfg": "cfg_scale",
    "sampler": "sampler",
    "width": "width",
    "height": "height",
    "model": "model",
}


def metadata_of(path: Path) -> ContainerMetadata:
    return read_metadata(path.read_bytes())


def metadata_from(data: bytes) -> ContainerMetadata:
    return read_metadata(data)


def meta(*values: tuple[str, str], fmt: str = "png", **kw: Any) -> ContainerMetadata:
    """Container metadata holding ``(location, text)`` values."""
    return ContainerMetadata(
        format=fmt,  # type: ignore[arg-type]
        values=[RawValue(location, text=text) for location, text in values],
        **kw,
    )


def same(want: Any, got: Any) -> bool:
    """The corpus README's rule: strings compare after stripping outer whitespace."""
    if isinstance(want, str) and isinstance(got, str):
        return want.strip() == got.strip()
    return bool(want == got)


# -- the real corpus -------------------------------------------------------------------------


#: Where the corpus README allows either of two readings of a file ("debatable"), the one this
#: reader gives when it is not the expected one, and why it is a reading of the file.
OTHER_READING: dict[tuple[str, str], Any] = {
    # the Source chunk's model family (its hash is kept in raw), not a checkpoint name
    ("sd-metadata/png/novelai-curated.png", "model"): "NovelAI Diffusion V4.5",
    ("sd-metadata/webp/novelai-curated.webp", "model"): "NovelAI Diffusion V4.5",
    # the infotext's sampler; the graph's "euler_ancestral" is in extra["conflicts"]
    ("sd-metadata/png/stability-matrix.png", "sampler"): "Euler Ancestral Karras",
    # what the four parallel first-stage samplers share (their seeds differ: seed stays null)
    ("sd-parsers/parsers/ComfyUI/noisy_latents_3_subjects_cropped.png", "cfg"): 7.0,
    ("sd-parsers/parsers/ComfyUI/noisy_latents_3_subjects_cropped.png", "sampler"): (
        "sample_dpmpp_sde"
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_reads_as_expected(name: str) -> None:
    path = CORPUS / name
    result = interpret(metadata_of(path), path.read_bytes())
    expected = EXPECTED[name]
    assert (result.tool["name"] or "none") == expected["tool"]
    assert list(result.generation) == list(GENERATION_KEYS)
    debatable = expected.get("debatable", {})  # either reading is allowed there
    assert set(debatable) <= set(FIELDS)
    wrong = {}
    for field, key in FIELDS.items():
        got = result.generation[key]
        if same(expected[field], got):
            continue
        other = OTHER_READING.get((name, field), ...) if field in debatable else ...
        if other is not ... and same(other, got):
            continue
        wrong[field] = (expected[field], got)
    assert not wrong, wrong
    assert "problems" not in result.raw or result.raw["problems"] == metadata_of(path).problems


def test_corpus_c2pa_label_matches_expected() -> None:
    for name, expected in EXPECTED.items():
        result = interpret(metadata_of(CORPUS / name))
        has_c2pa = any(label.scheme == "c2pa" for label in result.labels)
        assert has_c2pa == expected["c2pa"], name


def test_stability_matrix_sampler_conflict_is_exposed() -> None:
    result = interpret(metadata_of(CORPUS / "sd-metadata/png/stability-matrix.png"))
    assert result.extra["conflicts"]["sampler"] == [
        {"source": "png:tEXt:prompt", "value": "euler_ancestral"}
    ]


def test_conflicting_values_are_exposed() -> None:
    path = CORPUS / "sd-metadata/png/comfyui-saveimagewithmetadata.png"
    result = interpret(metadata_of(path))
    assert result.generation["sampler"] == "euler_ancestral"  # the graph's
    assert result.extra["conflicts"]["sampler"] == [
        {"source": "png:tEXt:parameters", "value": "euler_ancestral_karras"}
    ]
    assert result.generation["model_hash"] == "45a21ea00a"  # only the infotext has it
    assert result.extra["filled_from"]["model_hash"] == "png:tEXt:parameters"


def test_tensorart_random_seed_comes_from_the_graph() -> None:
    result = interpret(metadata_of(CORPUS / "sd-metadata/png/tensorart.png"))
    assert result.tool["name"] == "tensorart"
    assert result.generation["seed"] == 3036459311
    assert result.extra["conflicts"]["model"][0]["value"] == "EMS-1401459-EMS.safetensors"


def test_tool_versions_from_the_corpus() -> None:
    versions = {
        "sd-metadata/png/sd-webui.png": ("a1111", "v1.10.1"),
        "sd-metadata/png/forge.png": ("forge", "f2.0.1v1.10.1-previous-669-gdfdcbab6"),
        "sd-metadata/png/reforge.png": ("reforge", "f1.0.0v2-v1.10.1RC-latest-2498-g5120e679"),
        "sd-metadata/png/sd-next.png": ("sdnext", "56a8aea"),
        "sd-metadata/png/invokeai.png": ("invokeai", "6.10.0"),
        "sd-metadata/png/swarmui.png": ("swarmui", "0.9.7.4"),
        "sd-parsers/parsers/Fooocus/fooocus1_cropped.png": ("fooocus", "Fooocus v2.4.3"),
    }
    for name, (tool, version) in versions.items():
        result = interpret(metadata_of(CORPUS / name))
        assert (result.tool["name"], result.tool["version"]) == (tool, version), name


# -- NovelAI signature -----------------------------------------------------------------------

NOVELAI = ("sd-metadata/png/novelai-curated.png", "sd-metadata/webp/novelai-curated.webp")


@pytest.mark.parametrize("name", NOVELAI)
def test_novelai_signature_verifies(name: str) -> None:
    path = CORPUS / name
    result = interpret(metadata_of(path), path.read_bytes())
    assert result.tool["name"] == "novelai"
    assert result.extra["novelai_signature"] == "valid"
    assert set(result.extra["novelai_signature_detail"].values()) == {"valid"}


def _tampered(original: ContainerMetadata, key: str, edit: Any) -> ContainerMetadata:
    values = []
    for value in original.values:
        if value.location.endswith(key) and value.text is not None:
            value = RawValue(value.location, text=edit(value.text), note=value.note)
        values.append(value)
    return ContainerMetadata(format=original.format, values=values, has_alpha=original.has_alpha)


@pytest.mark.parametrize("name", NOVELAI)
def test_novelai_every_copy_of_the_comment_is_checked(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    full = read_metadata(data, stealth="always")  # the stealth copy too
    result = interpret(full, data)
    detail = result.extra["novelai_signature_detail"]
    assert f"{full.format}:stealth" in detail
    assert set(detail.values()) == {"valid"}
    assert "conflicts" not in result.extra  # the stealth copy says the same
    edit = lambda t: t.replace("hatsune miku", "hatsune mika")  # noqa: E731
    tampered = interpret(_tampered(full, ":stealth", edit), data)
    assert tampered.extra["novelai_signature"] == "invalid"
    assert tampered.extra["novelai_signature_detail"][f"{full.format}:stealth"] == "invalid"
    assert "prompt" in tampered.extra["conflicts"]


def test_novelai_tampered_comment_is_invalid() -> None:
    path = CORPUS / NOVELAI[0]
    original = metadata_of(path)
    tampered = _tampered(original, ":Comment", lambda t: t.replace('"steps": 23', '"steps": 24'))
    assert tampered.values != original.values
    result = interpret(tampered, path.read_bytes())
    assert result.extra["novelai_signature"] == "invalid"
    assert result.generation["steps"] == 24  # the file is still read, and judged


def test_novelai_tampered_webp_comment_is_invalid() -> None:
    path = CORPUS / NOVELAI[1]
    edit = lambda t: t.replace("hatsune miku", "hatsune mika")  # noqa: E731
    result = interpret(_tampered(metadata_of(path), ":UserComment", edit), path.read_bytes())
    assert result.extra["novelai_signature"] == "invalid"


def test_novelai_other_pixels_are_invalid() -> None:
    png = CORPUS / NOVELAI[0]
    other = (CORPUS / "sd-metadata/png/forge.png").read_bytes()
    assert interpret(metadata_of(png), other).extra["novelai_signature"] == "invalid"


def test_novelai_signature_absent_or_unchecked() -> None:
    old = CORPUS / "sd-parsers/parsers/NovelAI/novelai1_cropped.png"
    assert interpret(metadata_of(old), old.read_bytes()).extra["novelai_signature"] == "absent"
    # Without the file's bytes the pixels cannot be checked.
    assert interpret(metadata_of(CORPUS / NOVELAI[0])).extra["novelai_signature"] == "unchecked"


def test_novelai_stealth_payload_alone() -> None:
    path = CORPUS / NOVELAI[0]
    stealth = [v for v in metadata_of(path).values if v.location.endswith(":Comment")]
    comment = stealth[0].text
    assert comment is not None
    payload = json.dumps({"Description": "x", "Software": "NovelAI", "Comment": comment})
    result = interpret(meta(("png:stealth", payload)), path.read_bytes())
    assert result.tool["name"] == "novelai"
    assert result.generation["seed"] == 2156638429
    assert result.extra["novelai_signature"] == "valid"


# -- A1111 infotext ----------------------------------------------------------------------------

BASIC = (
    "a cat, sitting\nNegative prompt: blurry, lowres\n"
    "Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 42, "
    "Size: 512x768, Model hash: 45a21ea00a, Model: sdxl_base, Version: v1.10.1"
)


def test_infotext_basic() -> None:
    result = interpret(meta(("png:tEXt:parameters", BASIC)))
    assert result.tool == {"name": "a1111", "version": "v1.10.1"}
    assert result.generation == {
        "prompt": "a cat, sitting",
        "negative_prompt": "blurry, lowres",
        "seed": 42,
        "steps": 20,
        "cfg_scale": 7.0,
        "sampler": "Euler a",
        "scheduler": "Karras",
        "width": 512,
        "height": 768,
        "model": "sdxl_base",
        "model_hash": "45a21ea00a",
    }


def test_infotext_quoted_values_with_commas_and_colons() -> None:
    text = (
        "a cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512, "
        'Lora hashes: "NoobV065sHyperDmd: 45b5bd0819cf, other: 0123456789ab", '
        'Template: "a {cat|dog}, \\"quoted\\"\\nsecond line", ENSD: 31337'
    )
    info = parse_infotext(text)
    assert info.prompt == "a cat"
    assert info.negative_prompt is None
    assert info.params["Lora hashes"] == "NoobV065sHyperDmd: 45b5bd0819cf, other: 0123456789ab"
    assert info.params["Template"] == 'a {cat|dog}, "quoted"\nsecond line'
    assert info.params["ENSD"] == "31337"
    result = interpret(meta(("png:tEXt:parameters", text)))
    assert result.extra["Lora hashes"].startswith("NoobV065sHyperDmd")
    assert result.generation["negative_prompt"] is None


def test_infotext_multiline_prompts_keep_their_exact_text() -> None:
    text = (
        "line one, \n  line two\n\nNegative prompt: neg one, \nneg two\n\n"
        "Steps: 20, Sampler: DPM++ 2M, CFG scale: 5.5, Seed: 3, Size: 64x64"
    )
    result = interpret(meta(("png:iTXt:parameters", text)))
    assert result.generation["prompt"] == "line one, \n  line two\n"
    assert result.generation["negative_prompt"] == "neg one, \nneg two\n"
    assert result.generation["cfg_scale"] == 5.5


def test_infotext_crlf_line_ends() -> None:
    text = (
        "a, \r\nb\r\n\nNegative prompt: c, \r\n\nSteps: 20, Sampler: Euler, CFG scale: 5, Seed: 9"
    )
    result = interpret(meta(("png:tEXt:parameters", text)))
    assert result.generation["prompt"] == "a, \r\nb\r\n"
    assert result.generation["negative_prompt"] == "c, \r\n"
    assert result.generation["seed"] == 9


def test_infotext_without_sampler_and_with_empty_negative() -> None:
    # SD.Next writes the negative line even when empty, and omits Sampler for "Default".
    text = (
        "a cat\nNegative prompt: \nSteps: 20, Size: 1024x1024, Seed: 5, CFG scale: 6, App: SD.Next"
    )
    result = interpret(meta(("png:iTXt:parameters", text)))
    assert result.tool["name"] == "sdnext"
    assert result.generation["negative_prompt"] is None
    assert result.generation["sampler"] is None
    assert (result.generation["width"], result.generation["steps"]) == (1024, 20)


def test_infotext_unquoted_json_values() -> None:
    text = (
        "a cat\nSteps: 25, Sampler: Euler a, CFG scale: 5, Seed: 13, Size: 1024x1024, "
        'Hashes: {"model": "45a21ea00a", "vae": "abc"}, Created Date: 2026-01-04T01:27:21Z, '
        'Civitai resources: [{"type": "checkpoint", "modelName": "WAI, v16"}], '
        "Civitai metadata: {}, Clip skip: 2"
    )
    pairs = dict(param_pairs(text.split("\n")[-1]))
    assert pairs["Hashes"] == {"model": "45a21ea00a", "vae": "abc"}
    assert pairs["Civitai resources"] == [{"type": "checkpoint", "modelName": "WAI, v16"}]
    assert pairs["Civitai metadata"] == {}
    assert pairs["Clip skip"] == "2"
    assert pairs["Created Date"] == "2026-01-04T01:27:21Z"
    assert "vae" not in pairs  # the bogus pair the webui's pattern would make
    result = interpret(meta(("jpeg:exif:ExifIFD:UserComment", text), fmt="jpeg"))
    assert result.tool["name"] == "civitai"
    assert result.generation["seed"] == 13


def test_infotext_template_junk_after_the_parameter_line() -> None:
    # Old Dynamic Prompts output: template lines written after the parameters.
    text = (
        "a photo of a cat\nNegative prompt: blurry\n"
        "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512\n"
        "Template: a photo of a {cat|dog}\nNegative Template: blurry"
    )
    result = interpret(meta(("png:tEXt:parameters", text)))
    assert result.generation["prompt"] == "a photo of a cat"
    assert result.generation["negative_prompt"] == "blurry"
    assert result.generation["seed"] == 42
    assert result.extra["infotext_trailing"] == [
        "Template: a photo of a {cat|dog}",
        "Negative Template: blurry",
    ]


def test_infotext_unquoted_template_with_commas_follows_the_webui() -> None:
    text = "a cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Template: a, {cat|dog}, Seed: 4"
    info = parse_infotext(text)
    assert info.params["Template"] == "a"  # the rest is not a pair, as in the webui
    assert info.params["Seed"] == "4"


def test_infotext_last_line_with_too_few_pairs_is_prompt() -> None:
    info = parse_infotext("a cat\nstyle: anime, mood: calm")
    assert info.prompt == "a cat\nstyle: anime, mood: calm"
    assert not info.has_params


def test_infotext_capitalised_cfg_and_comfyui_version() -> None:
    text = "a\nSteps: 10, Sampler: euler, CFG Scale: 3.5, Seed: 1, Version: ComfyUI"
    result = interpret(meta(("jpeg:exif:ExifIFD:UserComment", text), fmt="jpeg"))
    assert result.tool["name"] == "comfyui"
    assert result.generation["cfg_scale"] == 3.5


@pytest.mark.parametrize(
    ("version", "tool"),
    [
        ("v1.10.1", "a1111"),
        ("f2.0.1v1.10.1-previous-669-gdfdcbab6", "forge"),
        ("f0.0.17v1.8.0rc-latest-276-g29be1da7", "forge"),
        ("f1.0.0v2-v1.10.1RC-latest-2498-g5120e679", "reforge"),
        ("f1.4.0dev-v1.10.1RC-latest-1442-g634cb7e4", "reforge"),
        ("neo", "forge"),
        ("classic", "forge"),
        ("Fooocus v2.5.5", "fooocus"),
    ],
)
def test_infotext_version_refines_the_tool(version: str, tool: str) -> None:
    assert tool_of({"Version": version}) == (tool, version)


def test_usercomment_without_infotext_layout_is_not_a1111() -> None:
    result = interpret(meta(("jpeg:exif:ExifIFD:UserComment", "holiday photo"), fmt="jpeg"))
    assert result.tool["name"] is None


def test_bare_parameters_text_is_a_prompt() -> None:
    result = interpret(meta(("png:tEXt:parameters", "a lonely lighthouse")))
    assert result.tool["name"] == "a1111"
    assert result.generation["prompt"] == "a lonely lighthouse"


def test_broken_json_in_parameters_is_not_a_prompt() -> None:
    assert interpret(meta(("png:tEXt:parameters", '{"prompt": "a'))).tool["name"] is None


def test_forge_stealth_infotext() -> None:
    result = interpret(meta(("png:stealth", BASIC.replace("v1.10.1", "f2.0.1v1.10.1"))))
    assert result.tool["name"] == "forge"
    assert result.generation["seed"] == 42


# -- ComfyUI -----------------------------------------------------------------------------------


def comfy_graph() -> dict[str, Any]:
    """A graph with a subgraph (ids "12:n"), primitives, a concatenation and a hires pass."""
    return {
        "12:1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "base.safetensors"},
        },
        "12:2": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["12:1", 0],
                "clip": ["12:1", 1],
                "lora_name": "style.safetensors",
                "strength_model": 0.8,
                "strength_clip": 0.8,
            },
        },
        "4": {"class_type": "PrimitiveInt", "inputs": {"value": 832}},
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": ["4", 0], "height": 1216, "batch_size": 1},
        },
        "20": {"class_type": "PrimitiveString", "inputs": {"value": "a red fox"}},
        "21": {"class_type": "Text Multiline", "inputs": {"text": "in deep snow, \nmorning"}},
        "22": {
            "class_type": "StringConcatenate",
            "inputs": {"string_a": ["20", 0], "string_b": ["21", 0], "delimiter": ", "},
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": ["22", 0], "clip": ["12:2", 1]}},
        "7": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "blurry, lowres", "clip": ["12:2", 1]},
        },
        "30": {"class_type": "PrimitiveInt", "inputs": {"value": 123456789012345}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": ["30", 0],
                "steps": 28,
                "cfg": 6.5,
                "sampler_name": "dpmpp_2m",
                "scheduler": "karras",
                "denoise": 1.0,
                "model": ["12:2", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "40": {
            "class_type": "LatentUpscaleBy",
            "inputs": {"samples": ["3", 0], "upscale_method": "bislerp", "scale_by": 1.5},
        },
        "41": {"class_type": "CLIPTextEncode", "inputs": {"text": "detail", "clip": ["12:1", 1]}},
        "42": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 1,
                "steps": 12,
                "cfg": 4.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 0.45,
                "model": ["12:1", 0],
                "positive": ["41", 0],
                "negative": ["7", 0],
                "latent_image": ["40", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["42", 0], "vae": ["12:1", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "x"}},
    }


def test_comfyui_graph_walk_through_primitives_concat_and_subgraph_ids() -> None:
    values = (("png:tEXt:prompt", json.dumps(comfy_graph())), ("png:tEXt:workflow", "{}"))
    result = interpret(meta(*values))
    assert result.tool["name"] == "comfyui"
    assert result.generation == {
        "prompt": "a red fox, in deep snow, \nmorning",
        "negative_prompt": "blurry, lowres",
        "seed": 123456789012345,
        "steps": 28,
        "cfg_scale": 6.5,
        "sampler": "dpmpp_2m",
        "scheduler": "karras",
        "width": 832,
        "height": 1216,
        "model": "base.safetensors",
        "model_hash": None,
    }
    assert result.extra["sampler_nodes"] == ["3"]
    assert result.extra["later_sampler_nodes"] == ["42"]
    assert result.extra["loras"] == [{"name": "style.safetensors", "strength": 0.8}]


def test_comfyui_was_concatenation_and_custom_sampler() -> None:
    graph = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors"}},
        "2": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "t5", "clip_name2": "l"}},
        "3": {"class_type": "String Literal", "inputs": {"string": "  portrait  "}},
        "4": {
            "class_type": "Text Concatenate",
            "inputs": {
                "delimiter": "\\n",
                "clean_whitespace": "true",
                "text_a": ["3", 0],
                "text_b": "",
                "text_c": "studio light",
            },
        },
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": ["4", 0], "clip": ["2", 0]}},
        "6": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["5", 0]}},
        "7": {"class_type": "BasicGuider", "inputs": {"model": ["1", 0], "conditioning": ["6", 0]}},
        "8": {"class_type": "RandomNoise", "inputs": {"noise_seed": 77}},
        "9": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "10": {
            "class_type": "BasicScheduler",
            "inputs": {"scheduler": "simple", "steps": 20, "denoise": 1.0, "model": ["1", 0]},
        },
        "11": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 768}},
        "13": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["5", 0]}},
        "14": {
            "class_type": "CFGGuider",
            "inputs": {"model": ["1", 0], "positive": ["6", 0], "negative": ["13", 0], "cfg": 1.0},
        },
        "12": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {
                "noise": ["8", 0],
                "guider": ["14", 0],
                "sampler": ["9", 0],
                "sigmas": ["10", 0],
                "latent_image": ["11", 0],
            },
        },
    }
    result = interpret(meta(("png:tEXt:prompt", json.dumps(graph))))
    gen = result.generation
    assert gen["prompt"] == "portrait\nstudio light"
    assert gen["negative_prompt"] is None
    assert (gen["seed"], gen["steps"], gen["sampler"], gen["scheduler"]) == (
        77,
        20,
        "euler",
        "simple",
    )
    assert (gen["width"], gen["height"], gen["model"]) == (1024, 768, "flux1-dev.safetensors")
    assert (gen["cfg_scale"], result.extra["flux_guidance"]) == (1.0, 3.5)


def test_comfyui_combined_conditioning_has_no_single_prompt() -> None:
    graph = comfy_graph()
    graph["50"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "sky", "clip": ["12:1", 1]}}
    graph["51"] = {
        "class_type": "ConditioningCombine",
        "inputs": {"conditioning_1": ["6", 0], "conditioning_2": ["50", 0]},
    }
    graph["3"]["inputs"]["positive"] = ["51", 0]
    result = interpret(meta(("png:tEXt:prompt", json.dumps(graph))))
    assert result.generation["prompt"] is None
    assert result.extra["positive_texts"] == ["a red fox, in deep snow, \nmorning", "sky"]
    assert result.generation["negative_prompt"] == "blurry, lowres"


def test_comfyui_in_webp_exif_and_comf_chunk() -> None:
    graph = json.dumps(comfy_graph())
    webp = meta(
        ("webp:exif:IFD0:Make", 'workflow:{"extra": {"frontendVersion": "1.2.3"}}'),
        ("webp:exif:IFD0:Model", "prompt:" + graph),
        fmt="webp",
    )
    result = interpret(webp)
    assert result.tool["name"] == "comfyui"
    assert result.generation["seed"] == 123456789012345
    assert result.extra["frontend_version"] == "1.2.3"
    extended = meta(("jpeg:exif:IFD0:Make", "Prompt: " + graph), fmt="jpeg")
    assert interpret(extended).generation["steps"] == 28
    comf = interpret(meta(("png:comf:prompt", graph), ("png:comf:workflow", "{}")))
    assert comf.generation["prompt"] == "a red fox, in deep snow, \nmorning"


def test_comfyui_saveimage_plus_and_civitai_json() -> None:
    graph = comfy_graph()
    plus = json.dumps({"prompt": graph, "workflow": {}})
    result = interpret(meta(("jpeg:exif:IFD0:UserComment", plus), fmt="jpeg"))
    assert (result.tool["name"], result.generation["cfg_scale"]) == ("comfyui", 6.5)
    upscale = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "x.png"}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}},
        "extraMetadata": json.dumps({"prompt": "original", "seed": 5, "steps": 30}),
    }
    civitai = interpret(meta(("jpeg:exif:ExifIFD:UserComment", json.dumps(upscale)), fmt="jpeg"))
    assert civitai.tool["name"] == "civitai"
    assert (civitai.generation["prompt"], civitai.generation["seed"]) == ("original", 5)


def test_comfyui_styler_outputs_and_efficient_loader() -> None:
    graph = {
        "1": {
            "class_type": "SDXLPromptStyler",
            "inputs": {"text_positive": "a temple", "text_negative": "haze", "style": "base"},
        },
        "2": {
            "class_type": "Efficient Loader",
            "inputs": {
                "ckpt_name": "dreamshaper.safetensors",
                "positive": ["1", 0],
                "negative": ["1", 1],
                "empty_latent_width": 640,
                "empty_latent_height": 960,
            },
        },
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": ["1", 1], "clip": ["2", 5]}},
        "4": {
            "class_type": "KSampler (Efficient)",
            "inputs": {
                "model": ["2", 0],
                "positive": ["2", 1],
                "negative": ["3", 0],
                "latent_image": ["2", 3],
                "seed": 8,
                "steps": 20,
                "cfg": 7,
                "sampler_name": "euler",
                "scheduler": "normal",
            },
        },
    }
    gen = interpret(meta(("png:tEXt:prompt", json.dumps(graph)))).generation
    assert (gen["prompt"], gen["negative_prompt"]) == ("a temple", "haze")
    assert gen["model"] == "dreamshaper.safetensors"
    assert (gen["width"], gen["height"], gen["seed"]) == (640, 960, 8)


def test_comfyui_workflow_only() -> None:
    result = interpret(meta(("png:tEXt:workflow", '{"nodes": []}')))
    assert result.tool["name"] == "comfyui"
    assert result.generation["prompt"] is None


def test_comfyui_link_cycles_and_dangling_links_do_not_hang() -> None:
    graph = {
        "1": {"class_type": "Reroute", "inputs": {"x": ["2", 0]}},
        "2": {"class_type": "Reroute", "inputs": {"x": ["1", 0]}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "positive": ["1", 0],
                "negative": ["99", 0],
                "latent_image": ["3", 0],
                "model": ["2", 0],
                "seed": ["1", 0],
            },
        },
    }
    result = interpret(meta(("png:tEXt:prompt", json.dumps(graph))))
    assert result.tool["name"] == "comfyui"
    assert result.generation["prompt"] is None


# -- other producers ----------------------------------------------------------------------------


def test_invokeai_v4_model_shape() -> None:
    metadata = {
        "generation_mode": "txt2img",
        "positive_prompt": "a lighthouse",
        "negative_prompt": "",
        "width": 768,
        "height": 512,
        "seed": 99,
        "cfg_scale": 7.5,
        "steps": 30,
        "scheduler": "dpmpp_2m_k",
        "model": {
            "key": "uuid",
            "hash": "blake3:7c1631b4",
            "name": "juggernautXL",
            "base": "sdxl",
            "type": "main",
        },
        "app_version": "4.2.0",
    }
    result = interpret(meta(("png:iTXt:invokeai_metadata", json.dumps(metadata))))
    assert result.tool == {"name": "invokeai", "version": "4.2.0"}
    gen = result.generation
    assert (gen["model"], gen["model_hash"], gen["sampler"]) == (
        "juggernautXL",
        "blake3:7c1631b4",
        "dpmpp_2m_k",
    )
    assert gen["negative_prompt"] is None
    assert result.extra["model_info"] == {"key": "uuid", "base": "sdxl", "type": "main"}


def test_invokeai_v3_model_shape() -> None:
    metadata = {"positive_prompt": "x", "model": {"model_name": "sd15", "base_model": "sd-1"}}
    result = interpret(meta(("png:tEXt:invokeai_metadata", json.dumps(metadata))))
    assert (result.generation["model"], result.generation["model_hash"]) == ("sd15", None)


def test_easy_diffusion_png_fields() -> None:
    values = [
        ("png:tEXt:prompt", "a castle"),
        ("png:tEXt:negative_prompt", "fog"),
        ("png:tEXt:seed", "1234"),
        ("png:tEXt:use_stable_diffusion_model", "sd-v1-5"),
        ("png:tEXt:sampler_name", "euler_a"),
        ("png:tEXt:width", "512"),
        ("png:tEXt:height", "640"),
        ("png:tEXt:num_inference_steps", "25"),
        ("png:tEXt:guidance_scale", "7.5"),
        ("png:tEXt:clip_skip", "False"),
    ]
    result = interpret(meta(*values))
    assert result.tool["name"] == "easydiffusion"
    assert result.generation == {
        "prompt": "a castle",
        "negative_prompt": "fog",
        "seed": 1234,
        "steps": 25,
        "cfg_scale": 7.5,
        "sampler": "euler_a",
        "scheduler": None,
        "width": 512,
        "height": 640,
        "model": "sd-v1-5",
        "model_hash": None,
    }
    assert result.extra["clip_skip"] == "False"


def test_easy_diffusion_display_names_and_jpeg_json() -> None:
    display = [
        ("png:tEXt:Prompt", "a castle"),
        ("png:tEXt:Negative Prompt", "fog"),
        ("png:tEXt:Stable Diffusion model", "sd-v1-5"),
        ("png:tEXt:Guidance Scale", "7"),
        ("png:tEXt:Steps", "20"),
    ]
    result = interpret(meta(*display))
    assert result.tool["name"] == "easydiffusion"
    assert (result.generation["negative_prompt"], result.generation["cfg_scale"]) == ("fog", 7.0)
    body = {"prompt": "a castle", "seed": 7, "use_stable_diffusion_model": "sd-v1-5", "width": 512}
    jpeg = meta(("jpeg:exif:ExifIFD:UserComment", json.dumps(body)), fmt="jpeg")
    result = interpret(jpeg)
    assert (result.tool["name"], result.generation["seed"]) == ("easydiffusion", 7)


DRAW_THINGS_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
  xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<xmp:CreatorTool>Draw Things</xmp:CreatorTool>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">a koi pond
Steps: 30, Sampler: DPM++ 2M AYS, Guidance Scale: 5.0, Seed: 2903, Size: 512x768</rdf:li>\
</rdf:Alt></dc:description>
<exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{"c":"a koi pond","uc":"murky",\
"model":"flux_1_dev_q5p.ckpt","sampler":"DPM++ 2M AYS","scale":5,"seed":2903,"seed_mode":\
"Scale Alike","shift":1,"size":"512x768","steps":30,"strength":1,"lora":[{"model":"l.ckpt",\
"weight":0.8}]}</rdf:li></rdf:Alt></exif:UserComment>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def test_draw_things_xmp_user_comment() -> None:
    result = interpret(meta(xmp=[DRAW_THINGS_XMP]))
    assert result.tool["name"] == "drawthings"
    assert result.generation == {
        "prompt": "a koi pond",
        "negative_prompt": "murky",
        "seed": 2903,
        "steps": 30,
        "cfg_scale": 5.0,
        "sampler": "DPM++ 2M AYS",
        "scheduler": None,
        "width": 512,
        "height": 768,
        "model": "flux_1_dev_q5p.ckpt",
        "model_hash": None,
    }
    assert result.extra["seed_mode"] == "Scale Alike"
    assert result.extra["lora"] == [{"model": "l.ckpt", "weight": 0.8}]


def test_draw_things_description_only() -> None:
    packet = (
        DRAW_THINGS_XMP.split("<exif:UserComment>")[0] + "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    result = interpret(meta(xmp=[packet], fmt="jpeg"))
    assert result.tool["name"] == "drawthings"
    assert (result.generation["prompt"], result.generation["cfg_scale"]) == ("a koi pond", 5.0)


FOOOCUS_JSON = {
    "base_model": "juggernautXL_v8Rundiffusion",
    "base_model_hash": "aeb7e9e689",
    "guidance_scale": 4,
    "metadata_scheme": "fooocus",
    "negative_prompt": "",
    "prompt": "a smiling goldfish",
    "resolution": "(896, 1152)",
    "sampler": "dpmpp_2m_sde_gpu",
    "scheduler": "karras",
    "seed": "6952411511246973023",
    "steps": 30,
    "styles": "['Fooocus V2']",
    "version": "Fooocus v2.5.5",
}


def test_fooocus_jpeg_json_scheme_in_ifd0() -> None:
    values = (
        ("jpeg:exif:IFD0:UserComment", json.dumps(FOOOCUS_JSON, sort_keys=True)),
        ("jpeg:exif:IFD0:Software", "Fooocus v2.5.5"),
        ("jpeg:exif:IFD0:MakerNote", "fooocus"),
    )
    result = interpret(meta(*values, fmt="jpeg"))
    assert result.tool == {"name": "fooocus", "version": "Fooocus v2.5.5"}
    gen = result.generation
    assert (gen["prompt"], gen["negative_prompt"], gen["seed"]) == (
        "a smiling goldfish",
        None,
        6952411511246973023,
    )
    assert (gen["width"], gen["height"], gen["cfg_scale"]) == (896, 1152, 4.0)
    assert (gen["model"], gen["model_hash"]) == ("juggernautXL_v8Rundiffusion", "aeb7e9e689")
    assert result.extra["styles"] == "['Fooocus V2']"


def test_fooocus_a1111_scheme_uses_the_raw_prompts() -> None:
    text = (
        "a goldfish, cinematic, 4k\nNegative prompt: ugly, (worst quality:1.4)\n"
        "Steps: 30, Sampler: DPM++ 2M SDE Karras, Seed: 12, Size: 896x1152, CFG scale: 4, "
        'Raw prompt: "a goldfish", Raw negative prompt: ugly, Version: Fooocus v2.5.5'
    )
    values = (
        ("webp:exif:IFD0:UserComment", text),
        ("webp:exif:IFD0:Software", "Fooocus v2.5.5"),
        ("webp:exif:IFD0:MakerNote", "a1111"),
    )
    result = interpret(meta(*values, fmt="webp"))
    assert result.tool == {"name": "fooocus", "version": "Fooocus v2.5.5"}
    assert result.generation["prompt"] == "a goldfish"
    assert result.generation["negative_prompt"] == "ugly"
    assert result.extra["full_prompt"] == "a goldfish, cinematic, 4k"


def test_fooocus_json_without_scheme_chunk() -> None:
    result = interpret(meta(("png:tEXt:parameters", json.dumps(FOOOCUS_JSON))))
    assert result.tool["name"] == "fooocus"
    assert result.generation["steps"] == 30


def test_midjourney_description() -> None:
    text = (
        "a lighthouse at dusk, volumetric light --ar 2:1 --stylize 80 --no people, boats "
        "--seed 1234 --v 6.1 Job ID: a7421d2f-1c2b-4c1d-9d1e-5f6a7b8c9d0e"
    )
    result = interpret(meta(("png:iTXt:Description", text), ("png:tEXt:Author", "someone")))
    assert result.tool == {"name": "midjourney", "version": "6.1"}
    assert result.generation["prompt"] == "a lighthouse at dusk, volumetric light"
    assert result.generation["negative_prompt"] == "people, boats"
    assert result.generation["seed"] == 1234
    assert result.extra["flags"]["ar"] == "2:1"
    assert result.extra["job_id"] == "a7421d2f-1c2b-4c1d-9d1e-5f6a7b8c9d0e"
    assert result.extra["author"] == "someone"


def test_a_description_without_job_id_is_not_midjourney() -> None:
    assert interpret(meta(("png:tEXt:Description", "my holiday"))).tool["name"] is None


def test_swarmui_legacy_exif_model_and_string_values() -> None:
    body = {
        "sui_image_params": {
            "prompt": "a cat",
            "negativeprompt": "",
            "seed": "17",
            "steps": "30",
            "cfgscale": "6.5",
            "model": "sdxl",
            "swarm_version": "0.5.7",
        },
        "sui_models": [{"name": "sdxl.safetensors", "param": "model", "hash": "0xabc"}],
    }
    result = interpret(meta(("jpeg:exif:IFD0:Model", json.dumps(body)), fmt="jpeg"))
    assert result.tool == {"name": "swarmui", "version": "0.5.7"}
    gen = result.generation
    assert (gen["seed"], gen["steps"], gen["cfg_scale"], gen["model_hash"]) == (
        17,
        30,
        6.5,
        "0xabc",
    )


# -- labels ------------------------------------------------------------------------------------

LABEL_XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
 xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"
 Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia">
<TC260:AIGC>{&quot;Label&quot;:&quot;1&quot;,&quot;ContentProducer&quot;:&quot;001191101080000000000000000&quot;,\
&quot;ProduceID&quot;:&quot;img-1&quot;,&quot;ReservedCode1&quot;:&quot;&quot;,&quot;ContentPropagator&quot;:\
&quot;&quot;,&quot;PropagateID&quot;:&quot;&quot;,&quot;ReservedCode2&quot;:&quot;&quot;}</TC260:AIGC>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_iptc_and_tc260_labels_from_xmp() -> None:
    result = interpret(meta(fmt="jpeg", xmp=[LABEL_XMP]))
    assert result.tool["name"] is None
    by_scheme = {label.scheme: label for label in result.labels}
    iptc = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    assert by_scheme["iptc"].value == iptc
    assert by_scheme["iptc"].location == "jpeg:xmp"
    assert by_scheme["tc260"].value["Label"] == "1"
    assert by_scheme["tc260"].value["ProduceID"] == "img-1"


def test_iptc_as_element_with_resource_and_bad_tc260() -> None:
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/">'
        '<Iptc4xmpExt:DigitalSourceType rdf:resource="http://cv.iptc.org/newscodes/'
        'digitalsourcetype/compositeWithTrainedAlgorithmicMedia"/>'
        "<TC260:AIGC>not json</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    result = interpret(meta(("png:iTXt:XML:com.adobe.xmp", packet)))
    schemes = {label.scheme: label.value for label in result.labels}
    assert schemes["iptc"].endswith("compositeWithTrainedAlgorithmicMedia")
    assert schemes["tc260"] == "not json"
    assert any("TC260" in p for p in result.raw["problems"])


def test_hostile_xmp_is_a_problem_not_an_exception() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    result = interpret(meta(xmp=[bomb, "<not xml"]))
    assert result.labels == []
    assert len(result.raw["problems"]) == 2


def test_c2pa_only_file() -> None:
    result = interpret(ContainerMetadata(format="jpeg", c2pa=["jpeg:app11"]))
    assert result.tool == {"name": "c2pa", "version": None}
    assert [label.to_dict() for label in result.labels] == [
        {"scheme": "c2pa", "value": "jpeg:app11", "location": "jpeg:app11"}
    ]
    with_tool = interpret(meta(("png:tEXt:parameters", BASIC), c2pa=["png:caBX"]))
    assert with_tool.tool["name"] == "a1111"
    assert with_tool.labels[0].scheme == "c2pa"


# -- ours -------------------------------------------------------------------------------------


def test_our_own_signed_file(make_signed: Callable[..., SignedImage]) -> None:
    signed = make_signed(
        "一只橘猫坐在窗台上, photo", negative_prompt="模糊", steps=9, cfg_scale=1.5
    )
    result = interpret(metadata_from(signed.png))
    assert result.tool == {
        "name": "aigc-provenance",
        "version": signed.record["software"]["version"],
    }
    gen = result.generation
    assert (gen["prompt"], gen["negative_prompt"]) == ("一只橘猫坐在窗台上, photo", "模糊")
    assert (gen["seed"], gen["steps"], gen["cfg_scale"]) == (42, 9, 1.5)
    assert (gen["model"], gen["sampler"]) == ("Z-Image-Turbo", "Euler")
    assert result.extra["record_id"] == signed.record_id
    assert result.extra["record_signature"] == "not checked here"
    assert "conflicts" not in result.extra  # our infotext and readable keys agree
    assert {label.scheme for label in result.labels} == {"iptc", "tc260"}


def test_our_readable_keys_without_the_envelope(make_signed: Callable[..., SignedImage]) -> None:
    full = metadata_from(make_signed().png)
    stripped = ContainerMetadata(
        format="png", values=[v for v in full.values if "AIGCProvenance" not in v.location]
    )
    result = interpret(stripped)
    assert result.tool["name"] == "aigc-provenance"
    assert result.extra["record_signature"] == "no signed record"
    assert result.generation["seed"] == 42


def test_our_broken_envelope_is_a_problem() -> None:
    values = (("png:iTXt:AIGCProvenance", "{not json"), ("png:tEXt:parameters", BASIC))
    result = interpret(meta(*values))
    assert result.tool["name"] == "aigc-provenance"
    assert any("envelope" in p for p in result.raw["problems"])
    assert result.generation["seed"] == 42  # from the infotext beside it


# -- robustness -------------------------------------------------------------------------------


def test_an_interpreter_bug_becomes_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx: Any) -> None:
        raise RuntimeError("boom")

    readers = tuple(
        (name, broken if name == "comfyui" else reader)
        for name, reader in interpret_package.INTERPRETERS
    )
    monkeypatch.setattr(interpret_package, "INTERPRETERS", readers)
    graph_and_infotext = (
        ("png:tEXt:prompt", json.dumps(comfy_graph())),
        ("png:tEXt:parameters", BASIC),
    )
    result = interpret(meta(*graph_and_infotext))
    assert result.raw["problems"] == ["comfyui interpreter failed: RuntimeError: boom"]
    assert result.tool["name"] == "a1111"  # the next interpreter still answers
    assert result.generation["seed"] == 42


def test_empty_metadata() -> None:
    result = interpret(ContainerMetadata(format=None, problems=["not a PNG"]))
    assert result.tool == {"name": None, "version": None}
    assert result.generation == dict.fromkeys(GENERATION_KEYS)
    assert result.raw == {"problems": ["not a PNG"]}
    assert json.dumps(result.to_dict())


ODD_TEXTS = [
    "",
    "\x00\x00",
    "{",
    "[]",
    "null",
    '{"prompt": 5}',
    '{"prompt": {"1": {"class_type": 3}}}',
    '{"sui_image_params": []}',
    '{"Comment": "{\\"uc\\": 5, \\"signed_hash\\": \\"!!\\"}"}',
    "Negative prompt:",
    "Steps: , Sampler: , Seed: x",
    "prompt:{" * 1000,
    "[" * 100_000,
    '{"a": ' * 5000 + "1" + "}" * 5000,
    "Job ID: x",
    "\ud800",
    '{"prompt": "x", "cfg_scale": 1' + "0" * 400 + ', "seed": -5, "steps": 1e999}',
    "a\nSteps: 1" + "0" * 5000 + ", Sampler: x, CFG scale: 1e999, Seed: 99999999999999999999999",
]
KEYS = [
    "parameters",
    "prompt",
    "workflow",
    "Comment",
    "UserComment",
    "invokeai_metadata",
    "sd-metadata",
    "Dream",
    "generation_data",
    "smproj",
    "parameters-json",
    "fooocus_scheme",
    "use_stable_diffusion_model",
    "Description",
    "stealth",
    "AIGCProvenance",
    "Software",
    "AIGC",
]


@pytest.mark.parametrize("key", KEYS)
def test_odd_values_never_raise(key: str) -> None:
    for text in ODD_TEXTS:
        values = ((f"png:tEXt:{key}", text), ("png:tEXt:Software", "NovelAI"))
        result = interpret(meta(*values), b"not an image")
        assert list(result.generation) == list(GENERATION_KEYS)
        assert "problems" not in result.raw or all(
            "failed" not in p for p in result.raw["problems"]
        ), (key, text[:40], result.raw.get("problems"))


def test_corpus_values_cut_and_shuffled_never_raise() -> None:
    rng = random.Random(5)
    for name in sorted(EXPECTED):
        original = metadata_of(CORPUS / name)
        for _ in range(15):
            values = []
            for value in original.values:
                text = value.text
                if text is not None and rng.random() < 0.7:
                    cut = rng.randrange(len(text) + 1)
                    text = text[:cut] if rng.random() < 0.5 else text[cut:] + text[:cut]
                values.append(RawValue(value.location, text=text, data=value.data))
            rng.shuffle(values)
            damaged = ContainerMetadata(format=original.format, values=values, c2pa=original.c2pa)
            result = interpret(damaged)
            failures = [p for p in result.raw.get("problems", []) if "failed" in p]
            assert not failures, (name, failures)


_INFOTEXT_PIECES = st.sampled_from(
    [
        "Steps",
        ": ",
        "20",
        ", ",
        "Sampler",
        "Euler a",
        '"',
        '\\"',
        "Size",
        "512x512",
        " ",
        "-",
        "/",
        "CFG scale",
        "7.5",
        "Lora hashes",
        "a: b, c: d",
        ",",
        ":",
        "x",
        "é",
        "漂亮",
    ]
)


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(_INFOTEXT_PIECES, max_size=40).map("".join))
def test_parameter_lines_without_json_split_as_match_by_match(line: str) -> None:
    """The fast split of a parameter line without ``{``/``[`` is the webui's match-by-match."""
    from provenance.extract.interpret.a1111 import _pairs_by_search

    assert param_pairs(line) == _pairs_by_search(line)

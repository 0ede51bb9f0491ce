"""The container readers on the real corpus: every file read without spurious problems, and the
raw pieces each tool wrote found where it wrote them, decoded as it meant them."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from provenance.extract.containers import detect_format, read_metadata
from provenance.extract.model import ContainerMetadata
from tests.conftest import CORPUS
from tests.provenance.extract.mutations import seeds

EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text("utf-8"))
FILES = sorted(seeds())

#: Problems the corpus really has (everything else must read cleanly).
KNOWN_PROBLEMS = {"sd-parsers/bad_images/empty_file.png": ["not a PNG, JPEG or WebP file (empty)"]}


def read(name: str, **kw: Any) -> ContainerMetadata:
    return read_metadata(seeds()[name], **kw)


def only(meta: ContainerMetadata, location: str) -> str:
    """The text at ``location``; the location must hold exactly one text value."""
    found = [v for v in meta.values if v.location.split("#")[0] == location]
    assert len(found) == 1, [v.location for v in meta.values]
    assert found[0].text is not None
    return found[0].text


def note(meta: ContainerMetadata, location: str) -> str:
    return next(v.note or "" for v in meta.values if v.location == location)


def test_the_corpus_is_all_here() -> None:
    assert set(FILES) == set(EXPECTED), "corpus files and expected.json disagree"


@pytest.mark.parametrize("name", FILES)
def test_every_file_reads_without_spurious_problems(name: str) -> None:
    meta = read(name)
    assert meta.problems == KNOWN_PROBLEMS.get(name, [])
    if name in KNOWN_PROBLEMS:
        return
    assert (
        meta.format == detect_format(seeds()[name]) == name.rsplit(".", 1)[1].replace("jpg", "jpeg")
    )
    with Image.open(io.BytesIO(seeds()[name])) as image:
        assert (meta.width, meta.height) == image.size
        alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
        assert meta.has_alpha == alpha
    assert meta.c2pa == (["png:caBX"] if EXPECTED[name]["c2pa"] else [])


def _forms(text: str) -> list[str]:
    """How a prompt can appear in a value: as is, or inside JSON (escaped either way)."""
    return [text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]]


@pytest.mark.parametrize("name", [n for n in FILES if (EXPECTED[n]["prompt"] or "").strip()])
def test_the_expected_prompt_is_in_the_raw_values(name: str) -> None:
    prompt = EXPECTED[name]["prompt"].strip()
    texts = [v.text for v in read(name).values if v.text]
    assert any(form in text for text in texts for form in _forms(prompt)), name


def test_a1111_jpeg_user_comment_is_the_infotext() -> None:
    for name in ("sd-metadata/jpg/sd-webui.jpg", "sd-metadata/webp/sd-webui.webp"):
        meta = read(name)
        prefix = "jpeg" if name.endswith("jpg") else "webp"
        location = f"{prefix}:exif:ExifIFD:UserComment"
        comment = only(meta, location)
        assert comment.startswith(EXPECTED[name]["prompt"])
        assert "\nNegative prompt: " in comment and "Steps: 20" in comment
        assert note(meta, location) == "UserComment UNICODE, UTF-16BE by content"
    cropped = read("sd-parsers/parsers/AUTOMATIC1111/automatic1111_cropped.jpg")
    assert only(cropped, "jpeg:exif:ExifIFD:UserComment").startswith("photo of a duck\n")


def test_swarmui_jpeg_is_utf16_little_endian() -> None:
    meta = read("sd-metadata/jpg/swarmui.jpg")
    comment = only(meta, "jpeg:exif:ExifIFD:UserComment")
    params = json.loads(comment)["sui_image_params"]
    assert params["prompt"] == EXPECTED["sd-metadata/jpg/swarmui.jpg"]["prompt"]
    assert note(meta, "jpeg:exif:ExifIFD:UserComment") == "UserComment UNICODE, UTF-16LE by content"


def test_civitai_jpeg_is_utf16_big_endian_inside_little_endian_tiff() -> None:
    data = seeds()["sd-metadata/jpg/civitai.jpeg"]
    assert b"Exif\0\0II*\0" in data[:64]  # the TIFF header says little-endian
    meta = read("sd-metadata/jpg/civitai.jpeg")
    comment = only(meta, "jpeg:exif:ExifIFD:UserComment")
    assert comment.startswith(EXPECTED["sd-metadata/jpg/civitai.jpeg"]["prompt"])
    assert note(meta, "jpeg:exif:ExifIFD:UserComment") == "UserComment UNICODE, UTF-16BE by content"


def test_comfyui_saveimage_plus_user_comment_in_ifd0_without_prefix() -> None:
    meta = read("sd-metadata/jpg/comfyui-saveimage-plus.jpg")
    comment = only(meta, "jpeg:exif:IFD0:UserComment")
    assert set(json.loads(comment)) >= {"prompt", "workflow"}
    assert "without a charset prefix" in note(meta, "jpeg:exif:IFD0:UserComment")


def test_comfyui_webp_keeps_ifd0_model_and_make_verbatim() -> None:
    meta = read("sd-metadata/webp/comfyui-animated-webp.webp")
    model = only(meta, "webp:exif:IFD0:Model")
    make = only(meta, "webp:exif:IFD0:Make")
    assert model.startswith("prompt:{") and make.startswith("workflow:{")
    assert "KSampler" in json.loads(model.removeprefix("prompt:")).__repr__()
    json.loads(make.removeprefix("workflow:"))


def test_novelai_webp_user_comment_json_and_exif_fields() -> None:
    name = "sd-metadata/webp/novelai-curated.webp"
    meta = read(name)
    outer = json.loads(only(meta, "webp:exif:ExifIFD:UserComment"))
    comment = json.loads(outer["Comment"])
    assert comment["prompt"] == EXPECTED[name]["prompt"]
    assert note(meta, "webp:exif:ExifIFD:UserComment").startswith("UserComment ASCII")
    assert only(meta, "webp:exif:IFD0:Software").startswith("NovelAI Diffusion")
    assert only(meta, "webp:exif:IFD0:DocumentName") == "NovelAI generated image"
    # ImageDescription starts with four NULs, then raw UTF-8 (the prompt, with its katakana);
    # the JSON copy in UserComment has the same NULs.
    description = only(meta, "webp:exif:IFD0:ImageDescription")
    assert outer["Description"].startswith("\0\0\0\0")
    assert description == outer["Description"].lstrip("\0")
    assert "leading NUL bytes dropped" in note(meta, "webp:exif:IFD0:ImageDescription")
    assert meta.has_alpha and not any(v.location.endswith("stealth") for v in meta.values)


def test_novelai_png_text_chunks() -> None:
    name = "sd-metadata/png/novelai-curated.png"
    meta = read(name)
    assert only(meta, "png:iTXt:Description").startswith(EXPECTED[name]["prompt"])
    assert json.loads(only(meta, "png:tEXt:Comment"))["prompt"] == EXPECTED[name]["prompt"]
    assert only(meta, "png:tEXt:Software") == "NovelAI"


def test_stealth_sample_read_when_there_is_nothing_else() -> None:
    meta = read("sd-parsers/parsers/AUTOMATIC1111/automatic1111_stealth.png")
    stealth = only(meta, "png:stealth")
    assert stealth.startswith("a circle\nNegative prompt: a square\n")
    assert note(meta, "png:stealth") == "stealth_pngcomp: alpha-channel LSBs, gzip"
    assert not read(
        "sd-parsers/parsers/AUTOMATIC1111/automatic1111_stealth.png", stealth=False
    ).values


@pytest.mark.parametrize(
    ("name", "location"),
    [
        ("sd-metadata/png/novelai-curated.png", "png:stealth"),
        ("sd-metadata/webp/novelai-curated.webp", "webp:stealth"),
        ("sd-metadata/png/forge.png", "png:stealth"),
    ],
)
def test_stealth_beside_text_only_when_asked(name: str, location: str) -> None:
    assert not read(name).find(":stealth")  # the text chunks/EXIF are there: pixels not decoded
    meta = read(name, stealth="always")
    payload = only(meta, location)
    prompt = EXPECTED[name]["prompt"]
    if "novelai" in name:
        found = json.loads(payload)
        assert json.loads(found["Comment"])["prompt"] == prompt
        assert found["Software"] == "NovelAI"
    else:  # Forge: the infotext, identical to the parameters chunk
        assert payload == only(meta, "png:iTXt:parameters")
    assert meta.problems == []


def test_raw_utf8_in_text_chunks_is_repaired_and_noted() -> None:
    meta = read("sd-metadata/png/stability-matrix.png")
    parameters = only(meta, "png:tEXt:parameters")
    assert parameters.startswith(EXPECTED["sd-metadata/png/stability-matrix.png"]["prompt"])
    assert "テスト" in parameters
    assert note(meta, "png:tEXt:parameters") == "raw UTF-8 in tEXt"
    assert note(meta, "png:tEXt:prompt") == ""  # ASCII: nothing to repair


def test_text_after_idat_and_ztxt() -> None:
    meta = read("sd-parsers/bad_images/text_after_idat.png")
    assert only(meta, "png:zTXt:parameters").startswith("photo of a duck\nNegative prompt:")
    assert only(meta, "png:tEXt:filename:f") == "automatic1111_cropped"


def test_c2pa_presence_for_chatgpt() -> None:
    meta = read("sd-metadata/c2pa/png/chatgpt-image2.png")
    assert meta.c2pa == ["png:caBX"]
    (value,) = meta.values
    assert value.data is not None and value.data[4:8] == b"jumb"  # a JUMBF superbox
    assert meta.raw()["png:caBX"] == {"bytes": len(value.data), "note": value.note}


def test_gimp_and_empty_files_have_no_generation_metadata() -> None:
    assert read("sd-metadata/png/empty.png").values == []
    assert only(read("sd-metadata/png/gimp.png"), "png:iTXt:Comment") == "GIMPで再保存しただけ"
    empty = read("sd-parsers/bad_images/empty_file.png")
    assert empty.format is None and empty.values == []


@pytest.mark.parametrize("name", FILES)
def test_truncated_corpus_files_give_problems_not_exceptions(name: str) -> None:
    data = seeds()[name]
    # A JPEG is read up to its image data (SOS); a cut inside the image data is not seen.
    metadata_end = data.find(b"\xff\xda") if name.endswith(("jpg", "jpeg")) else len(data)
    for keep in {len(data) // 2, len(data) // 7, 40, 9}:
        meta = read_metadata(data[:keep])
        assert isinstance(meta, ContainerMetadata)
        assert not any("unexpectedly" in p for p in meta.problems)
        if keep < min(len(data), metadata_end):
            assert meta.problems, (name, keep)

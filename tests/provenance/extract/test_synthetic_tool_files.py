"""Files of the tools the corpus has no real sample of, written here the way each tool writes
them (reference: metadata-formats.md §5 and §7), saved to disk with Pillow and piexif, and read
back end to end: ``inspect_metadata`` (``inspect --metadata-only``) and ``inspect`` (plain
``inspect``) must give the same normalized view, with the fields the tool wrote.

Easy Diffusion (``embed``: a PNG text chunk per field; JPEG/WebP ``UserComment`` JSON in
UTF-16BE), Midjourney (``Description`` + ``Author``), Draw Things (XMP), Fooocus JPEG (the
UserComment in IFD0, ASCII, no charset prefix), and the IPTC and TC260 AI labels in JPEG and
WebP XMP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import piexif
import piexif.helper
import pytest
from PIL import Image, PngImagePlugin

from provenance.inspect import inspect, inspect_metadata
from provenance.signing.keys import SigningKey
from provenance.signing.policy import TrustedKeys
from tests.conftest import sample_image
from tests.provenance.extract.test_interpret import FOOOCUS_JSON

EASY_DIFFUSION = {
    "prompt": "一座城堡, a castle on a hill",
    "negative_prompt": "fog, 模糊",
    "seed": 1234,
    "use_stable_diffusion_model": "sd-v1-5",
    "clip_skip": False,
    "use_vae_model": "",
    "sampler_name": "euler_a",
    "width": 64,
    "height": 48,
    "num_inference_steps": 25,
    "guidance_scale": 7.5,
    "use_lora_model": None,
}

MIDJOURNEY = (
    "a lighthouse at dusk, volumetric light --ar 2:1 --stylize 80 --no people, boats "
    "--seed 1234 --v 6.1 Job ID: a7421d2f-1c2b-4c1d-9d1e-5f6a7b8c9d0e"
)

DRAW_THINGS = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:CreatorTool="Draw Things">
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">a koi pond
Steps: 30, Sampler: DPM++ 2M AYS, Guidance Scale: 5.0, Seed: 2903, Size: 64x48</rdf:li></rdf:Alt>
</dc:description><exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{"c":"a koi pond",\
"uc":"murky","model":"flux_1_dev_q5p.ckpt","sampler":"DPM++ 2M AYS","scale":5,"seed":2903,\
"size":"64x48","steps":30}</rdf:li></rdf:Alt></exif:UserComment>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


IPTC_AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
LABELS = f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
 xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"
 Iptc4xmpExt:DigitalSourceType="{IPTC_AI}">
<TC260:AIGC>{{&quot;Label&quot;:&quot;1&quot;,&quot;ContentProducer&quot;:\
&quot;001191101080000000000000000&quot;,&quot;ProduceID&quot;:&quot;img-1&quot;,\
&quot;ReservedCode1&quot;:&quot;&quot;,&quot;ContentPropagator&quot;:&quot;&quot;,\
&quot;PropagateID&quot;:&quot;&quot;,&quot;ReservedCode2&quot;:&quot;&quot;}}</TC260:AIGC>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def read_both(path: Path, named: str) -> dict[str, Any]:
    """The normalized view of ``path``; both inspect paths must agree on it, and verification
    must say another tool's metadata is there, naming exactly ``named``."""
    quick = inspect_metadata(path).to_dict()
    full = inspect(path, policy=TrustedKeys([SigningKey.generate().public])).to_dict()
    for key in ("tool", "generation", "labels"):
        assert quick[key] == full[key], key
    report = full["verification"]
    assert report["status"] == "foreign_metadata"
    assert report["findings"][-1]["message"].endswith(f"(not checked): {named}")
    return quick


def user_comment_exif(text: str) -> bytes:
    """What sdkit (Easy Diffusion) and A1111 write: ExifIFD UserComment, UNICODE, UTF-16BE."""
    comment = piexif.helper.UserComment.dump(text, encoding="unicode")
    return bytes(piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment}}))


EASY_DIFFUSION_VIEW = {
    "prompt": EASY_DIFFUSION["prompt"],
    "negative_prompt": EASY_DIFFUSION["negative_prompt"],
    "seed": 1234,
    "steps": 25,
    "cfg_scale": 7.5,
    "sampler": "euler_a",
    "scheduler": None,
    "width": 64,
    "height": 48,
    "model": "sd-v1-5",
    "model_hash": None,
}


def test_easy_diffusion_png_one_text_chunk_per_field(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    for key, value in EASY_DIFFUSION.items():  # sdkit save_dicts: str() of every value
        info.add_text(key, str(value))
    path = tmp_path / "easy.png"
    sample_image(size=(64, 48)).save(path, pnginfo=info)
    view = read_both(
        path,
        "easydiffusion generation data "
        "(text chunks: negative_prompt, prompt, use_stable_diffusion_model)",
    )
    assert view["tool"]["name"] == "easydiffusion"
    assert view["generation"] == EASY_DIFFUSION_VIEW
    assert view["extra"]["clip_skip"] == "False"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_easy_diffusion_jpeg_and_webp_user_comment_json(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"easy.{fmt.lower()}"
    exif = user_comment_exif(json.dumps(EASY_DIFFUSION))
    sample_image(size=(64, 48)).save(path, format=fmt, exif=exif, quality=90)
    view = read_both(path, "easydiffusion generation data")
    assert view["tool"]["name"] == "easydiffusion"
    assert view["generation"] == EASY_DIFFUSION_VIEW


def test_midjourney_description_and_author(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("Description", MIDJOURNEY)
    info.add_text("Author", "someone")
    path = tmp_path / "mj.png"
    sample_image(size=(64, 32)).save(path, pnginfo=info)
    view = read_both(path, "midjourney generation data (text chunks: Description)")
    assert view["tool"] == {"name": "midjourney", "version": "6.1"}
    generation = view["generation"]
    assert generation["prompt"] == "a lighthouse at dusk, volumetric light"
    assert generation["negative_prompt"] == "people, boats"
    assert generation["seed"] == 1234
    assert view["extra"]["flags"]["ar"] == "2:1"
    assert view["extra"]["job_id"] == "a7421d2f-1c2b-4c1d-9d1e-5f6a7b8c9d0e"
    assert view["extra"]["author"] == "someone"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_draw_things_xmp(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"drawthings.{fmt.lower()}"
    if fmt == "PNG":  # an iTXt chunk, as Apple's ImageIO writes XMP into a PNG
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", DRAW_THINGS)
        sample_image(size=(64, 48)).save(path, pnginfo=info)
    else:
        sample_image(size=(64, 48)).save(path, format=fmt, xmp=DRAW_THINGS.encode("utf-8"))
    view = read_both(path, "drawthings generation data")
    assert view["tool"]["name"] == "drawthings"
    generation = view["generation"]
    assert (generation["prompt"], generation["negative_prompt"]) == ("a koi pond", "murky")
    assert (generation["seed"], generation["steps"], generation["cfg_scale"]) == (2903, 30, 5.0)
    assert (generation["width"], generation["height"]) == (64, 48)
    assert generation["model"] == "flux_1_dev_q5p.ckpt"


def test_fooocus_jpeg_user_comment_in_ifd0(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x9286] = json.dumps(FOOOCUS_JSON, sort_keys=True)  # IFD0, ASCII, no charset prefix
    exif[0x0131] = "Fooocus v2.5.5"
    exif[0x927C] = "fooocus"
    path = tmp_path / "fooocus.jpg"
    sample_image(size=(64, 48)).save(path, exif=exif, quality=90)
    view = read_both(path, "fooocus generation data")
    assert view["tool"] == {"name": "fooocus", "version": "Fooocus v2.5.5"}
    generation = view["generation"]
    assert (generation["prompt"], generation["seed"]) == ("a smiling goldfish", 6952411511246973023)
    assert (generation["width"], generation["height"], generation["cfg_scale"]) == (896, 1152, 4.0)
    assert generation["model_hash"] == "aeb7e9e689"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_iptc_and_tc260_labels(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"labelled.{fmt.lower()}"
    sample_image(size=(64, 48)).save(path, format=fmt, xmp=LABELS.encode("utf-8"))
    view = read_both(path, "IPTC DigitalSourceType, TC260 AIGC label")
    assert view["tool"]["name"] is None
    labels = {label["scheme"]: label for label in view["labels"]}
    assert set(labels) == {"iptc", "tc260"}
    assert labels["iptc"]["value"] == IPTC_AI
    assert labels["tc260"]["value"]["Label"] == "1"
    assert labels["tc260"]["value"]["ProduceID"] == "img-1"
    assert labels["iptc"]["location"] == f"{fmt.lower()}:xmp"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_a_camera_photo_is_not_another_generators_output(tmp_path: Path, fmt: str) -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0131] = "Canon", "Canon EOS R5", "GIMP 2.10.36"
    path = tmp_path / f"photo.{fmt.lower()}"
    sample_image(size=(64, 48)).save(path, format=fmt, exif=exif, quality=90)
    view = inspect(path, policy=TrustedKeys([SigningKey.generate().public])).to_dict()
    assert view["tool"]["name"] is None and view["labels"] == []
    report = view["verification"]
    assert report["status"] == "no_provenance"
    assert report["findings"][-1]["message"] == (
        f"no aigc-provenance record in this {fmt} file (no XMP packet of ours)"
    )

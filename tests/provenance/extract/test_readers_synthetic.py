"""The container readers on files built here with Pillow and piexif: the layouts of tools the
corpus lacks (Fooocus, Draw Things, UTF-16 in every byte order, WebP EXIF without its prefix,
AI labels in XMP) and the damage a lenient, bounded reader must survive."""

from __future__ import annotations

import io
import json
import struct
import time
import zlib

import numpy as np
import piexif
import piexif.helper
import pytest
from PIL import Image

from provenance.extract.containers import read_metadata
from provenance.extract.exif import decode_user_comment
from provenance.extract.model import ContainerMetadata
from provenance.extract.png import Limits
from tests.hostile_files import HOSTILE_CASES
from tests.pngtools import build, chunks
from tests.provenance.extract.builders import (
    jpeg_with,
    png_with,
    riff,
    stealth_png,
    tiff,
    webp_chunks,
    webp_with,
)

INFOTEXT = "一只橘猫, orange cat, テスト\nNegative prompt: blurry\nSteps: 8, Seed: 42"
EXIF_PREFIX = b"Exif\0\0"
APP1, APP11, COM = 0xE1, 0xEB, 0xFE


def text_at(meta: ContainerMetadata, location: str) -> str:
    found = meta.get(location)
    assert found is not None, [v.location for v in meta.values]
    return found


def note_at(meta: ContainerMetadata, location: str) -> str | None:
    return next(v.note for v in meta.values if v.location == location)


def itxt(keyword: str, text: str, *, compressed: bool = False) -> tuple[bytes, bytes]:
    body = text.encode("utf-8")
    if compressed:
        body = zlib.compress(body)
    return b"iTXt", keyword.encode("latin-1") + b"\0" + bytes([int(compressed), 0]) + b"\0\0" + body


# --- EXIF UserComment in the layouts found in the wild -----------------------------------------


def test_fooocus_ifd0_user_comment_without_prefix() -> None:
    scheme = json.dumps({"prompt": "a smiling goldfish", "seed": "42"}, sort_keys=True)
    exif = Image.Exif()
    exif[0x9286] = scheme  # IFD0, a str: Pillow writes ASCII type, no charset prefix
    exif[0x0131] = "Fooocus v2.5.5"
    exif[0x927C] = "fooocus"
    buffer = jpeg_with(exif=exif.tobytes())
    meta = read_metadata(buffer)
    assert meta.problems == []
    assert text_at(meta, "jpeg:exif:IFD0:UserComment") == scheme
    assert note_at(meta, "jpeg:exif:IFD0:UserComment") == (
        "UserComment stored as ASCII text without a charset prefix"
    )
    assert text_at(meta, "jpeg:exif:IFD0:MakerNote") == "fooocus"
    assert text_at(meta, "jpeg:exif:IFD0:Software") == "Fooocus v2.5.5"


@pytest.mark.parametrize("tiff_order", ["<", ">"])
@pytest.mark.parametrize("text_order", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", [INFOTEXT, "一只橘猫坐在窗台上高清照片"])
def test_unicode_user_comment_byte_order_from_the_text(
    tiff_order: str, text_order: str, text: str
) -> None:
    comment = b"UNICODE\0" + text.encode(text_order)
    block = tiff({"IFD0": [], "ExifIFD": [(0x9286, 7, len(comment), comment)]}, tiff_order)
    meta = read_metadata(jpeg_with((APP1, EXIF_PREFIX + block)))
    assert meta.problems == []
    assert text_at(meta, "jpeg:exif:ExifIFD:UserComment") == text
    name = text_order.upper().replace("UTF-16-", "UTF-16")
    assert (
        note_at(meta, "jpeg:exif:ExifIFD:UserComment") == f"UserComment UNICODE, {name} by content"
    )


def test_a1111_layout_written_by_piexif() -> None:
    # What A1111/Forge do for JPEG and WebP: piexif.dump (MM) + UserComment "unicode" (UTF-16BE).
    comment = piexif.helper.UserComment.dump(INFOTEXT, encoding="unicode")
    exif = piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment}})
    meta = read_metadata(jpeg_with(exif=exif))
    assert text_at(meta, "jpeg:exif:ExifIFD:UserComment") == INFOTEXT
    webp = webp_with((b"EXIF", exif[len(EXIF_PREFIX) :]))
    assert text_at(read_metadata(webp), "webp:exif:ExifIFD:UserComment") == INFOTEXT


@pytest.mark.parametrize(
    ("raw", "text", "note"),
    [
        (b"ASCII\0\0\0" + b'{"prompt": "cat"}', '{"prompt": "cat"}', "UserComment ASCII"),
        (b"UNICODE\0\xff\xfec\0a\0t\0", "cat", "UserComment UNICODE, UTF-16LE by BOM"),
        (b"JIS\0\0\0\0\0" + "猫".encode("shift_jis"), "猫", "UserComment JIS, read as shift_jis"),
        (b"\0" * 8 + b"cat", "cat", "UserComment undefined charset, read as ASCII"),
        (b"cat \xe7\x8c\xab", "cat 猫", "UserComment without a charset prefix, read as UTF-8"),
        (b"c\0a\0t\0", "cat", "UserComment without a charset prefix, UTF-16LE by content"),
        (b"UNICODE\0c\0a\0t\0\0\0", "cat", "UserComment UNICODE, UTF-16LE by content"),
    ],
)
def test_user_comment_charsets(raw: bytes, text: str, note: str) -> None:
    assert decode_user_comment(raw) == (text, note)


# --- WebP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", [b"", EXIF_PREFIX])
def test_webp_exif_with_or_without_prefix(prefix: bytes) -> None:
    exif = Image.Exif()
    exif[0x0110] = 'prompt:{"3": {"class_type": "KSampler"}}'
    exif[0x010F] = 'workflow:{"nodes": []}'
    block = exif.tobytes()[len(EXIF_PREFIX) :]
    meta = read_metadata(webp_with((b"EXIF", prefix + block)))
    assert meta.problems == []
    assert text_at(meta, "webp:exif:IFD0:Model") == 'prompt:{"3": {"class_type": "KSampler"}}'
    assert text_at(meta, "webp:exif:IFD0:Make") == 'workflow:{"nodes": []}'
    assert (meta.width, meta.height, meta.has_alpha) == (8, 6, False)


@pytest.mark.parametrize(("mode", "lossless"), [("RGB", False), ("RGB", True), ("RGBA", True)])
def test_webp_size_and_alpha_from_the_bitstream(mode: str, lossless: bool) -> None:
    buffer = webp_with(mode=mode, lossless=lossless)
    simple = riff([c for c in webp_chunks(buffer) if c[0] != b"VP8X"])  # no VP8X: bitstream only
    for data in (buffer, simple):
        meta = read_metadata(data, stealth=False)
        assert meta.format == "webp" and meta.problems == []
        assert (meta.width, meta.height, meta.has_alpha) == (8, 6, mode == "RGBA")


def test_webp_xmp_and_c2pa_chunks() -> None:
    manifest = b"\0\0\0\x20jumb\0\0\0\x18jumdc2pa\0\x11\0\x10\x80\0\0\xaa\0\x38\x9b\x71c2pa\0"
    meta = read_metadata(webp_with((b"XMP ", XMP_LABELS.encode()), (b"C2PA", manifest)))
    assert meta.xmp == [XMP_LABELS] and text_at(meta, "webp:xmp") == XMP_LABELS
    assert meta.c2pa == ["webp:c2pa"]


# --- XMP: Draw Things, IPTC and TC260 labels ------------------------------------------------

XMP_LABELS = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
 xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/"
 Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
 TC260:AIGC='{"Label":"1","ContentProducer":"001191110108MA01KP2T5U00000","ProduceID":"x"}'/>
</rdf:RDF></x:xmpmeta>"""

DRAW_THINGS = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:CreatorTool="Draw Things">
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">a cat
Steps: 30, Sampler: DPM++ 2M AYS, Guidance Scale: 5.0, Seed: 7, Size: 512x768</rdf:li></rdf:Alt>
</dc:description><exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{"c":"a cat","uc":"",\
"seed":7,"steps":30,"scale":5,"size":"512x768","sampler":"DPM++ 2M AYS"}</rdf:li></rdf:Alt>
</exif:UserComment></rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_draw_things_xmp_in_png() -> None:
    meta = read_metadata(png_with([itxt("XML:com.adobe.xmp", DRAW_THINGS)]))
    assert meta.problems == []
    assert meta.xmp == [DRAW_THINGS]
    assert text_at(meta, "png:iTXt:XML:com.adobe.xmp") == DRAW_THINGS
    assert '{"c":"a cat"' in meta.xmp[0]


def test_iptc_and_tc260_labels_in_jpeg_and_webp_xmp() -> None:
    jpeg = read_metadata(jpeg_with(xmp=XMP_LABELS.encode()))
    webp = read_metadata(webp_with((b"XMP ", XMP_LABELS.encode())))
    for meta, location in ((jpeg, "jpeg:xmp"), (webp, "webp:xmp")):
        assert meta.problems == []
        assert meta.xmp == [XMP_LABELS] and text_at(meta, location) == XMP_LABELS
        assert "trainedAlgorithmicMedia" in meta.xmp[0] and "TC260:AIGC" in meta.xmp[0]


def test_jpeg_extended_xmp_is_reassembled() -> None:
    packet = ("<x:xmpmeta>" + "ab" * 40_000 + "</x:xmpmeta>").encode()
    guid = b"0123456789ABCDEF0123456789ABCDEF"
    head = b"http://ns.adobe.com/xmp/extension/\0" + guid + struct.pack(">I", len(packet))
    half = len(packet) // 2
    pieces = [
        (APP1, head + struct.pack(">I", half) + packet[half:]),  # out of order, as allowed
        (APP1, head + struct.pack(">I", 0) + packet[:half]),
    ]
    meta = read_metadata(jpeg_with(*pieces, xmp=b"<x:xmpmeta/>"))
    assert meta.problems == []
    assert meta.xmp == ["<x:xmpmeta/>", packet.decode()]
    assert text_at(meta, "jpeg:xmp-extended") == packet.decode()


# --- JPEG: COM, APP11 C2PA, SOF ---------------------------------------------------------------


def test_jpeg_comment_size_and_split_c2pa() -> None:
    box = b"jumb" + b"\0\0\0\x11jumdc2pa\0" + bytes(range(200))
    lbox = struct.pack(">I", 8 + len(box) - 4)
    jumbf = lbox + box
    first, second = jumbf[:100], jumbf[:8] + jumbf[100:]  # a continuation repeats LBox/TBox
    segments = [
        (APP11, b"JP\0\x01" + struct.pack(">I", n) + part)
        for n, part in enumerate((first, second), start=1)
    ]
    meta = read_metadata(jpeg_with(*segments, comment="made with care"))
    assert meta.problems == []
    assert text_at(meta, "jpeg:com") == "made with care"
    assert (meta.width, meta.height, meta.has_alpha) == (16, 8, False)
    assert meta.c2pa == ["jpeg:app11"]
    (value,) = meta.find("jpeg:app11")
    assert value.data == jumbf


# --- PNG: comf, eXIf, repeated keywords, compressed text ---------------------------------------


def test_comfyui_animated_png_comf_chunks_after_idat() -> None:
    prompt, workflow = '{"3": {"class_type": "KSampler"}}', '{"nodes": []}'
    data = png_with(
        after=[
            (b"comf", b"prompt\0" + prompt.encode()),
            (b"comf", b"workflow\0" + workflow.encode()),
        ]
    )
    meta = read_metadata(data)
    assert meta.problems == []
    assert text_at(meta, "png:comf:prompt") == prompt
    assert text_at(meta, "png:comf:workflow") == workflow


def test_png_exif_chunk() -> None:
    exif = Image.Exif()
    exif[0x0110] = "prompt:{}"
    exif[0x9C9C] = "注释".encode("utf-16-le") + b"\0\0"  # XPComment
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0hello"
    block = exif.tobytes()[len(EXIF_PREFIX) :]
    meta = read_metadata(png_with([(b"eXIf", block)]))
    assert meta.problems == []
    assert text_at(meta, "png:eXIf:IFD0:Model") == "prompt:{}"
    assert text_at(meta, "png:eXIf:IFD0:XPComment") == "注释"
    assert text_at(meta, "png:eXIf:ExifIFD:UserComment") == "hello"


def test_repeated_keywords_are_numbered_and_all_text_kinds_read() -> None:
    data = png_with(
        [(b"tEXt", b"parameters\0first"), itxt("parameters", "第二", compressed=True)],
        [(b"tEXt", b"parameters\0third"), (b"zTXt", b"parameters\0\0" + zlib.compress(b"z"))],
    )
    meta = read_metadata(data)
    assert [(v.location, v.text) for v in meta.values] == [
        ("png:tEXt:parameters", "first"),
        ("png:iTXt:parameters", "第二"),
        ("png:tEXt:parameters#2", "third"),
        ("png:zTXt:parameters", "z"),
    ]
    assert meta.raw()["png:tEXt:parameters#2"] == "third"


def test_unknown_tags_keep_their_number() -> None:
    block = tiff({"IFD0": [(0x0131, 2, 5, b"tool\0"), (0xBEEF, 2, 4, b"odd\0")]}, ">")
    meta = read_metadata(jpeg_with((APP1, EXIF_PREFIX + block)))
    assert text_at(meta, "jpeg:exif:IFD0:Tag0xBEEF") == "odd"
    assert text_at(meta, "jpeg:exif:IFD0:Software") == "tool"


# --- Stealth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "magic", ["stealth_pnginfo", "stealth_pngcomp", "stealth_rgbinfo", "stealth_rgbcomp"]
)
def test_stealth_variants(magic: str) -> None:
    meta = read_metadata(stealth_png(INFOTEXT.encode(), magic))
    assert meta.problems == []
    assert text_at(meta, "png:stealth") == INFOTEXT
    channel = "alpha-channel LSBs" if "png" in magic else "RGB LSBs"
    gzip = ", gzip" if magic.endswith("comp") else ""
    assert note_at(meta, "png:stealth") == f"{magic}: {channel}{gzip}"


def test_stealth_not_looked_for_beside_generation_text_or_without_alpha() -> None:
    data = stealth_png(b"hidden", "stealth_pnginfo")
    # The same pixels with a parameters chunk: the chunk is what is read.
    parts = chunks(data)
    with_text = build([parts[0], (b"tEXt", b"parameters\0shown"), *parts[1:]])
    assert read_metadata(with_text).find(":stealth") == []
    assert read_metadata(with_text, stealth="always").get("png:stealth") == "hidden"
    assert read_metadata(data, stealth=False).values == []
    assert read_metadata(png_with(mode="RGB")).values == []


def test_stealth_payload_bounds() -> None:
    data = stealth_png(b"x" * 100, "stealth_pnginfo")
    small = Limits(max_text_bytes=50, max_total_text_bytes=50)
    assert any("over the limit" in p for p in read_metadata(data, limits=small).problems)
    tiny = Limits(max_pixels=100)
    meta = read_metadata(data, limits=tiny)
    assert meta.values == [] and any("pixels" in p for p in meta.problems)
    # A length that claims more bits than the image has.
    lying = stealth_png(b"", "stealth_pnginfo")
    meta = read_metadata(_patch_stealth_length(lying, 1 << 30))
    assert meta.values == [] and any("more than the image holds" in p for p in meta.problems)


def _patch_stealth_length(png: bytes, bits: int) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        pixels = np.asarray(image).copy()
    height = pixels.shape[0]
    alpha = pixels[:, :, 3].T.reshape(-1).copy()
    length = np.unpackbits(np.frombuffer(struct.pack(">I", bits), np.uint8))
    alpha[120:152] = (alpha[120:152] & 0xFE) | length
    pixels[:, :, 3] = alpha.reshape(-1, height).T
    out = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(out, "PNG")
    return out.getvalue()


# --- Damage and limits ------------------------------------------------------------------------


def test_exif_loops_and_bad_offsets_are_problems() -> None:
    looping = tiff({"IFD0": [(0x0110, 2, 3, b"m1\0")]}, "<", loop=True)
    meta = read_metadata(jpeg_with((APP1, EXIF_PREFIX + looping)))
    assert text_at(meta, "jpeg:exif:IFD0:Model") == "m1"
    assert any("loop" in p for p in meta.problems)

    outside = bytearray(tiff({"IFD0": [(0x010E, 2, 40, b"d" * 39 + b"\0")]}, ">"))
    outside[8 + 2 + 8 : 8 + 2 + 12] = struct.pack(">I", 60_000)  # value offset past the end
    meta = read_metadata(jpeg_with((APP1, EXIF_PREFIX + bytes(outside))))
    assert meta.values == [] and any("outside the EXIF block" in p for p in meta.problems)

    many = bytearray(tiff({"IFD0": [(0x0110, 2, 3, b"m1\0")]}, ">"))
    many[8:10] = struct.pack(">H", 65_535)  # entry count far beyond the block
    meta = read_metadata(jpeg_with((APP1, EXIF_PREFIX + bytes(many))))
    assert any("declares 65535 entries" in p for p in meta.problems)

    assert read_metadata(jpeg_with((APP1, EXIF_PREFIX + b"XX*\0"))).problems == [
        "jpeg:exif does not start with a TIFF header (EXIF is unreadable)"
    ]


def test_value_count_and_size_limits() -> None:
    texts = [(b"tEXt", f"k{i}\0v".encode()) for i in range(30)]
    meta = read_metadata(png_with(texts), limits=Limits(max_metadata_chunks=10))
    assert len(meta.values) == 10
    assert any("more than 10 metadata values" in p for p in meta.problems)
    big = png_with([(b"tEXt", b"parameters\0" + b"x" * 5000)])
    meta = read_metadata(big, limits=Limits(max_text_bytes=1000))
    assert meta.values == [] and any("over the limit of 1000" in p for p in meta.problems)


def test_compression_bomb_is_refused_without_inflating_it() -> None:
    bomb = zlib.compress(b"\0" * (64 << 20), 9)
    data = png_with([(b"zTXt", b"parameters\0\0" + bomb)])
    started = time.perf_counter()
    meta = read_metadata(data)
    assert time.perf_counter() - started < 2
    assert meta.values == [] and any("compression bomb" in p for p in meta.problems)


def test_bad_crc_is_read_anyway_and_noted() -> None:
    data = bytearray(png_with([(b"tEXt", b"parameters\0cat")]))
    at = data.find(b"tEXtparameters")
    data[at + 4 + len("parameters\0cat")] ^= 0xFF  # the CRC's first byte
    meta = read_metadata(bytes(data))
    assert meta.get("png:tEXt:parameters") == "cat"
    assert meta.problems == [f"chunk tEXt at byte {at - 4} has a bad CRC (read anyway)"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "not a PNG, JPEG or WebP file (empty)"),
        (b"GIF89a\x01\x00\x01\x00", "not a PNG, JPEG or WebP file (unknown signature)"),
        (b"\x89PNG\r\n\x1a\n", "the PNG file ends without an IEND chunk (truncated)"),
        (b"\xff\xd8\xff", "the JPEG file ends inside a marker (truncated)"),
        (b"RIFF\x04\0\0\0WEBP", "the WebP file holds no image (no VP8, VP8L or ANMF chunk)"),
        (b"RIFF\xff\0\0\0WEBP", "the WebP file is shorter than its RIFF header says (truncated)"),
    ],
)
def test_not_images_and_stubs(data: bytes, problem: str) -> None:
    meta = read_metadata(data)
    assert problem in meta.problems
    assert meta.values == []


@pytest.mark.parametrize("case", sorted(HOSTILE_CASES))
def test_hostile_files_of_the_verifier(case: str) -> None:
    data = HOSTILE_CASES[case]()
    started = time.perf_counter()
    meta = read_metadata(data)
    assert time.perf_counter() - started < 2, case
    assert isinstance(meta, ContainerMetadata)
    assert not any("unexpectedly" in p for p in meta.problems)

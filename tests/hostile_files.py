"""Hostile inputs for the verifier, built in memory and deterministically.

Every builder returns the bytes of one hostile file. Nothing is written to disk, and every file
is small (the largest, 200,000 tiny chunks, is 2.4 MB; the compression bombs are 150-460 KB:
deflate cannot do better than ~1,030:1, so "expands to more than 100 MB" needs ~100 KB).
Signatures are Ed25519 over fixed keys, records have a fixed id and time, and "random" bytes come
from a seeded generator, so every build gives the same bytes.

``HOSTILE_CASES`` maps a case name to its builder; ``EXPECTED_STATUS`` gives the status
:func:`provenance.verify` must report for it under :func:`trusted_policy`. Used by
``tests/provenance/test_hostile.py`` and ``bench/bench_hostile.py``.
"""

from __future__ import annotations

import base64
import functools
import json
import random
import struct
import zlib
from collections.abc import Callable
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from provenance import (
    Attestation,
    Limits,
    SignedImage,
    SigningKey,
    Status,
    TrustedKeys,
    draft_from_attestation,
    schema,
    sign_image,
)
from provenance.embed import insert_text_chunks, png_chunk
from provenance.extract.png import PNG_SIGNATURE
from provenance.record import (
    ENVELOPE_KEYWORD,
    XMP_KEYWORD,
    ContentBinding,
    build_record,
    readable_fields,
)
from provenance.signing import sign_payload
from provenance.xmp import make_xmp

__all__ = [
    "ATTACKER_KEY",
    "EXPECTED_STATUS",
    "HOSTILE_CASES",
    "TEST_KEY",
    "flip_bit",
    "signed_png",
    "text_chunk_span",
    "trusted_policy",
]

#: The key the verifier trusts in these tests (fixed seed: deterministic signatures).
TEST_KEY = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
#: A key nobody trusts: what an attacker signs with.
ATTACKER_KEY = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132))))

_RECORD_ID = "0190a5b2-0000-7000-8000-000000000001"
_CREATED_AT = "2025-01-01T00:00:00Z"
_MIB = 1 << 20


def trusted_policy() -> TrustedKeys:
    """The policy the expected statuses are stated for: trust :data:`TEST_KEY` only."""
    return TrustedKeys([TEST_KEY.public])


# --- helpers ----------------------------------------------------------------------------------


@functools.cache
def _signed(size: int) -> SignedImage:
    rng = random.Random(size)  # noisy pixels: an IDAT of a few KB, not a few bytes
    image = Image.frombytes("RGB", (size, size), rng.randbytes(size * size * 3))
    draft = draft_from_attestation(Attestation(prompt="a cat", seed=1, steps=8, cfg_scale=0.0))
    return sign_image(image, draft, TEST_KEY, record_id=_RECORD_ID, created_at=_CREATED_AT)


def signed_png(size: int = 64) -> bytes:
    """A valid PNG of ``size`` x ``size`` noisy RGB pixels, signed by :data:`TEST_KEY`."""
    return _signed(size).png


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, data) of every chunk of a well-formed PNG."""
    out, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        length, ctype = struct.unpack(">I4s", png[offset : offset + 8])
        out.append((ctype, png[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return out


def _assemble(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return PNG_SIGNATURE + b"".join(png_chunk(ctype, data) for ctype, data in chunks)


def _chunk_span(png: bytes, ctype: bytes, keyword: bytes | None = None) -> tuple[int, int]:
    """(offset of the chunk's length field, data length) of the first matching chunk."""
    offset = len(PNG_SIGNATURE)
    while offset < len(png):
        length, found = struct.unpack(">I4s", png[offset : offset + 8])
        data = png[offset + 8 : offset + 8 + length]
        if found == ctype and (keyword is None or data.startswith(keyword + b"\0")):
            return offset, length
        offset += 12 + length
    raise LookupError(f"no {ctype!r} chunk")


def text_chunk_span(png: bytes, keyword: str) -> tuple[int, int]:
    """(first byte, end) of the data of the tEXt chunk ``keyword`` (for bit-flip sweeps)."""
    offset, length = _chunk_span(png, b"tEXt", keyword.encode("latin-1"))
    return offset + 8, offset + 8 + length


def flip_bit(png: bytes, index: int, bit: int) -> bytes:
    """``png`` with one bit of byte ``index`` flipped, and that chunk's CRC fixed again."""
    offset = len(PNG_SIGNATURE)
    while offset < len(png):
        length = struct.unpack(">I", png[offset : offset + 4])[0]
        end = offset + 8 + length
        if offset + 8 <= index < end:
            body = bytearray(png[offset + 4 : end])
            body[index - offset - 4] ^= 1 << bit
            crc = struct.pack(">I", zlib.crc32(body))
            return png[: offset + 4] + bytes(body) + crc + png[end + 4 :]
        offset = end + 4
    raise IndexError(f"byte {index} is not in the data of any chunk")


def _replace_text(png: bytes, keyword: str, text: str) -> bytes:
    """``png`` with the tEXt chunk ``keyword`` holding ``text`` (CRC correct)."""
    key = keyword.encode("latin-1")
    chunks = [
        (ctype, key + b"\0" + text.encode("latin-1") if data.startswith(key + b"\0") else data)
        for ctype, data in _chunks(png)
    ]
    return _assemble(chunks)


def _insert_before_idat(png: bytes, *extra: tuple[bytes, bytes]) -> bytes:
    chunks = _chunks(png)
    at = next(i for i, (ctype, _) in enumerate(chunks) if ctype == b"IDAT")
    return _assemble([*chunks[:at], *extra, *chunks[at:]])


def _itxt(keyword: str, body: bytes, *, compressed: bool = False) -> tuple[bytes, bytes]:
    flags = b"\x01\x00" if compressed else b"\x00\x00"
    return b"iTXt", keyword.encode("latin-1") + b"\0" + flags + b"\0\0" + body


def _ihdr(width: int, height: int, color_type: int = 2) -> tuple[bytes, bytes]:
    return b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)


def _metadata_of(png: bytes) -> list[tuple[bytes, bytes]]:
    """The text chunks (readable fields, envelope, XMP) of a signed PNG."""
    return [(ctype, data) for ctype, data in _chunks(png) if ctype in (b"tEXt", b"iTXt")]


@functools.cache
def _zeros_deflate(size: int) -> bytes:
    """A zlib stream of ``size`` zero bytes (~1 KB per MiB), built in ~40 ms per 100 MB.

    One MiB of zeros is compressed once and ended with a full flush, which makes it a
    self-contained, byte-aligned run of deflate blocks; the run is repeated, then a final empty
    block and the Adler-32 close the stream. ``zlib.compress`` of the whole would take seconds.
    """
    zeros = bytes(_MIB)
    whole, rest = divmod(size, _MIB)
    parts = []
    for count, piece in ((whole, zeros), (1, zeros[:rest])):
        if count and piece:
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            parts.append((packer.compress(piece) + packer.flush(zlib.Z_FULL_FLUSH)) * count)
    body = b"".join(parts) + b"\x03\x00"  # final, fixed-Huffman block holding only end-of-block
    adler = 1
    for _ in range(whole):
        adler = zlib.adler32(zeros, adler)
    adler = zlib.adler32(zeros[:rest], adler)
    return b"\x78\xda" + body + struct.pack(">I", adler)


def _envelope_dict(png: bytes) -> dict[str, Any]:
    start, end = text_chunk_span(png, ENVELOPE_KEYWORD)
    doc: dict[str, Any] = json.loads(png[start + len(ENVELOPE_KEYWORD) + 1 : end])
    return doc


# The IDAT bombs: 6320 x 6320 is just under the default pixel limit. RGBA is the most memory per
# pixel Pillow keeps (it stores RGB in 4 bytes too); 16 bits per sample doubles what must be
# inflated (Pillow keeps 8) and Adam7 interlacing makes the decoder slowest.
_BOMB_SIDE = 6320
assert Limits().max_pixels >= _BOMB_SIDE * _BOMB_SIDE
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _image_data_size(side: int, bytes_per_pixel: int, *, interlaced: bool) -> int:
    """Inflated IDAT size of a ``side`` x ``side`` image (a filter byte starts every row)."""
    if not interlaced:
        return side * (1 + side * bytes_per_pixel)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        width, height = (side - x0 + dx - 1) // dx, (side - y0 + dy - 1) // dy
        if width and height:
            total += height * (1 + width * bytes_per_pixel)
    return total


def _bomb_image(color_type: int, depth: int, interlaced: bool) -> list[tuple[bytes, bytes]]:
    """IHDR and a zero-filled IDAT (a deflate bomb) of a _BOMB_SIDE square image."""
    samples = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    ihdr = struct.pack(">IIBBBBB", _BOMB_SIDE, _BOMB_SIDE, depth, color_type, 0, 0, interlaced)
    size = _image_data_size(_BOMB_SIDE, samples * depth // 8, interlaced=interlaced)
    return [(b"IHDR", ihdr), (b"IDAT", _zeros_deflate(size))]


def _attacker_signed(chunks: list[tuple[bytes, bytes]], mode: str) -> bytes:
    """``chunks`` (IHDR ... IEND) with a schema-valid record for their size, signed by the
    untrusted :data:`ATTACKER_KEY`, and its readable text and XMP, as our writer embeds them."""
    width, height = struct.unpack(">II", chunks[0][1][:8])
    content = ContentBinding(
        format="png",
        width=width,
        height=height,
        mode=mode,
        pixel_digest="0" * 64,
        data_digest="0" * 64,
        render_digest="0" * 64,
        phash="0" * 16,
    )
    draft = draft_from_attestation(Attestation(prompt="a cat"))
    record = build_record(
        draft, content, producer="attacker", record_id=_RECORD_ID, created_at=_CREATED_AT
    )
    envelope = sign_payload(rfc8785.dumps(record), schema.payload_type(), ATTACKER_KEY)
    texts = [*readable_fields(record).items(), (ENVELOPE_KEYWORD, envelope.to_json())]
    return insert_text_chunks(_assemble(chunks), texts, xmp=make_xmp(record))


# --- structure --------------------------------------------------------------------------------


def truncated_in_idat() -> bytes:
    """A valid signed 64x64 PNG cut in the middle of its IDAT chunk's data."""
    png = signed_png()
    offset, length = _chunk_span(png, b"IDAT")
    return png[: offset + 8 + length // 2]


def truncated_in_text() -> bytes:
    """A valid signed 64x64 PNG cut in the middle of the signed envelope's tEXt chunk."""
    png = signed_png()
    start, end = text_chunk_span(png, ENVELOPE_KEYWORD)
    return png[: (start + end) // 2]


def bad_crc_envelope() -> bytes:
    """A valid signed PNG with one byte of the envelope chunk's CRC changed.

    The envelope chunk is left out of the data digest, so only the CRC check can catch it.
    """
    png = bytearray(signed_png())
    _, end = text_chunk_span(bytes(png), ENVELOPE_KEYWORD)
    png[end + 1] ^= 0x5A
    return bytes(png)


def bad_crc_idat() -> bytes:
    """A valid signed PNG with the last byte of the IDAT chunk's CRC changed."""
    png = bytearray(signed_png())
    offset, length = _chunk_span(bytes(png), b"IDAT")
    png[offset + 8 + length + 3] ^= 0x01
    return bytes(png)


def random_bytes() -> bytes:
    """4 KiB of (seeded) random bytes: no image signature."""
    return random.Random(0x5EED).randbytes(4096)


def plain_text() -> bytes:
    """A plain UTF-8 text file."""
    return "This is not an image.\n这不是图片。\n".encode() * 20


def empty_file() -> bytes:
    """A file of zero bytes."""
    return b""


def chunk_length_2gb() -> bytes:
    """A PNG whose second chunk declares a length of 2**31 bytes (over PNG's 2**31 - 1)."""
    png = signed_png()
    return png[:33] + struct.pack(">I4s", 1 << 31, b"tEXt") + b"Comment\0only a few bytes"


def chunk_length_over_file_limit() -> bytes:
    """A chunk declaring 2**31 - 16 bytes: a legal PNG length, over ``Limits.max_file_bytes``."""
    png = signed_png()
    return png[:33] + struct.pack(">I4s", (1 << 31) - 16, b"tEXt") + b"Comment\0only a few bytes"


def chunk_type_not_letters() -> bytes:
    """A PNG whose second chunk's type is ``b"\\x00\\x01#$"`` (not four ASCII letters)."""
    png = signed_png()
    return png[:33] + png_chunk(b"\x00\x01#$", b"junk") + png[33:]


def many_private_chunks() -> bytes:
    """200,000 empty private chunks (``zzZz``) between IHDR and IDAT (2.4 MB)."""
    png = signed_png()
    return png[:33] + png_chunk(b"zzZz", b"") * 200_000 + png[33:]


def many_idat_chunks() -> bytes:
    """60,000 empty IDAT chunks: more chunks than ``Limits.max_chunks`` (0.7 MB)."""
    png = signed_png()
    offset, _ = _chunk_span(png, b"IDAT")
    return png[:offset] + png_chunk(b"IDAT", b"") * 60_000 + png[offset:]


# --- decompression bombs ----------------------------------------------------------------------


def huge_ihdr_no_envelope() -> bytes:
    """IHDR declaring 100,000 x 100,000 RGB (10**10 pixels), a tiny IDAT, no metadata.

    The scanner never decodes pixels and an unsigned file has nothing to bind them to, so this
    is simply a PNG with no provenance (``no_provenance``), found without decoding anything.
    """
    return _assemble(
        [_ihdr(100_000, 100_000), (b"IDAT", zlib.compress(bytes(1000))), (b"IEND", b"")]
    )


def huge_ihdr_with_envelope() -> bytes:
    """IHDR declaring 100,000 x 100,000 with a tiny IDAT, carrying the text chunks (valid
    envelope, readable fields, XMP) of a real signed 64x64 image.

    The data digest differs and the declared size is not the signed 64x64, so verify reports
    ``content_altered`` from the header alone, before any decoding.
    """
    meta = _metadata_of(signed_png())
    idat = (b"IDAT", zlib.compress(bytes(1000)))
    return _assemble([_ihdr(100_000, 100_000), *meta, idat, (b"IEND", b"")])


def idat_bomb_transplanted() -> bytes:
    """IHDR 6320x6320 RGBA (under ``Limits.max_pixels``), IDAT a ~160 KB deflate bomb of zeros
    (~160 MB inflated), with the valid envelope and text of a real signed 64x64 image.

    The signature verifies and the signer is trusted, but the size is checked against the record
    before any decoding: ``content_altered`` without ever inflating the IDAT.
    """
    meta = _metadata_of(signed_png())
    ihdr, idat = _bomb_image(color_type=6, depth=8, interlaced=False)
    return _assemble([ihdr, *meta, idat, (b"IEND", b"")])


def idat_bomb_no_metadata() -> bytes:
    """A 6320x6320 16-bit RGBA interlaced IDAT bomb and nothing else: what a stealth payload
    (text hidden in the alpha channel) would live in, if it had one.

    verify does not look for stealth payloads (``inspect`` does), so it never inflates the IDAT:
    ``no_provenance``, as fast as for any unsigned PNG.
    """
    return _assemble([*_bomb_image(color_type=6, depth=16, interlaced=True), (b"IEND", b"")])


def idat_bomb_attacker_signed() -> bytes:
    """A 6320x6320 16-bit RGBA interlaced IDAT bomb (~320 KB inflating to ~320 MB) with a
    schema-valid record for that size signed by an *untrusted* key (anyone can make one).

    The data digest is wrong, but the signer is not trusted, so verify never decodes the pixels:
    ``untrusted_signer``, with a finding that the content was not checked. Anyone can sign; only
    a trusted signer's record can make verify spend a decode.
    """
    bomb = _bomb_image(color_type=6, depth=16, interlaced=True)
    return _attacker_signed([*bomb, (b"IEND", b"")], "RGBA")


def _emoji_flood() -> list[tuple[bytes, bytes]]:
    """Compressed iTXt chunks, each ~1 KB inflating to 1 MiB - 4 bytes of 4-byte UTF-8
    characters (emoji): together just under ``Limits.max_total_text_bytes`` (which counts
    bytes), from a few KB. Every chunk is within the scanner's limits.
    """
    chars = ((1 << 20) - 4) // 4
    count = (Limits().max_total_text_bytes - (1 << 16)) // (chars * 4)  # room for our own text
    packed = zlib.compress("😀".encode() * chars, 9)
    return [_itxt(f"Comment{i}", packed, compressed=True) for i in range(count)]


def idat_bomb_attacker_text_flood() -> bytes:
    """:func:`idat_bomb_attacker_signed` plus the emoji text flood *after* the IDAT: the text
    is read within its limits, the untrusted signer's pixels are never decoded.
    """
    bomb = _bomb_image(color_type=6, depth=16, interlaced=True)
    return _attacker_signed([*bomb, *_emoji_flood(), (b"IEND", b"")], "RGBA")


def reencoded_text_flood() -> bytes:
    """A genuine signed 64x64 PNG (anyone can fetch one) with the emoji text flood added after
    its IDAT.

    The pixels are the signed ones, so ``verified_reencoded`` is the right status; the added
    chunks change the data digest, so verify takes the pixel path (Pillow is given only the
    image chunks, never the text).
    """
    chunks = _chunks(signed_png())
    return _assemble([*chunks[:-1], *_emoji_flood(), chunks[-1]])


def ztxt_bomb() -> bytes:
    """A signed PNG plus a zTXt ``Comment`` of ~130 KB inflating to 128 MiB of zeros."""
    body = b"Comment\0\0" + _zeros_deflate(128 * _MIB)
    return _insert_before_idat(signed_png(), (b"zTXt", body))


def itxt_bomb() -> bytes:
    """A signed PNG plus a compressed iTXt ``Description`` of ~130 KB inflating to 128 MiB."""
    return _insert_before_idat(
        signed_png(), _itxt("Description", _zeros_deflate(128 * _MIB), compressed=True)
    )


def text_total_flood() -> bytes:
    """Compressed iTXt chunks, each ~8 KB inflating to just under ``Limits.max_text_bytes``
    of 4-byte UTF-8 characters (emoji): the total-text limit (in bytes) is passed on the 3rd.
    """
    limits = Limits()
    chars = (limits.max_text_bytes - 16) // 4
    packed = zlib.compress("😀".encode() * chars, 9)
    count = limits.max_total_text_bytes // (chars * 4) + 1
    extra = [_itxt(f"Comment{i}", packed, compressed=True) for i in range(count)]
    return _insert_before_idat(signed_png(), *extra)


# --- XMP ----------------------------------------------------------------------------------------


def _with_xmp(packet: str) -> bytes:
    """The signed PNG with its XMP packet replaced (left out of the data digest, so the signature
    and the binding still verify and the verifier goes on to parse the XMP)."""
    chunks = [
        _itxt(XMP_KEYWORD, packet.encode())
        if data.startswith(XMP_KEYWORD.encode() + b"\0")
        else (ctype, data)
        for ctype, data in _chunks(signed_png())
    ]
    return _assemble(chunks)


def _real_xmp() -> str:
    return make_xmp(_signed(64).record)


def xmp_doctype() -> bytes:
    """The signed PNG's own XMP packet with a ``<!DOCTYPE>`` (no entities) before the root."""
    head, _, body = _real_xmp().partition("\n")
    return _with_xmp(f'{head}\n<!DOCTYPE x:xmpmeta SYSTEM "xmp.dtd">\n{body}')


def xmp_billion_laughs() -> bytes:
    """An XMP packet with nested entities expanding to 10**9 ``lol`` s ("billion laughs")."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    packet = (
        '<?xml version="1.0"?>\n<!DOCTYPE x:xmpmeta [\n' + "\n".join(entities) + "\n]>\n"
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><rdf:Description rdf:about="">'
        "<dc:description>&lol9;</dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    return _with_xmp(packet)


def xmp_external_entity() -> bytes:
    """An XMP packet whose description is an external entity (``file:///etc/passwd``)."""
    packet = _real_xmp().replace(">a cat<", ">&xxe;<")
    head, _, body = packet.partition("\n")
    doctype = '<!DOCTYPE x:xmpmeta [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return _with_xmp(f"{head}\n{doctype}\n{body}")


# --- text chunks and envelopes ------------------------------------------------------------------


def two_envelopes() -> bytes:
    """The signed PNG with its ``AIGCProvenance`` tEXt chunk present twice (same bytes)."""
    png = signed_png()
    offset, length = _chunk_span(png, b"tEXt", ENVELOPE_KEYWORD.encode())
    chunk = png[offset : offset + 12 + length]
    return png[:offset] + chunk + png[offset:]


def itxt_invalid_utf8() -> bytes:
    """The signed PNG plus an uncompressed iTXt ``Comment`` whose text is not UTF-8."""
    return _insert_before_idat(signed_png(), _itxt("Comment", b"caf\xc3( \xff\xfe"))


def envelope_not_json() -> bytes:
    """The signed PNG with the envelope's text cut to an unterminated JSON object."""
    png = signed_png()
    start, end = text_chunk_span(png, ENVELOPE_KEYWORD)
    text = png[start + len(ENVELOPE_KEYWORD) + 1 : end].decode("ascii")
    return _replace_text(png, ENVELOPE_KEYWORD, text[: len(text) // 2])


def envelope_deeply_nested() -> bytes:
    """An envelope of 100,000 nested JSON arrays (a recursion bomb for naive parsers)."""
    return _replace_text(signed_png(), ENVELOPE_KEYWORD, "[" * 100_000 + "]" * 100_000)


def signature_wrong_length() -> bytes:
    """The signed PNG whose envelope signature is cut to 63 bytes (Ed25519 needs 64)."""
    png = signed_png()
    doc = _envelope_dict(png)
    signature: dict[str, str] = doc["signatures"][0]
    signature["sig"] = base64.b64encode(base64.b64decode(signature["sig"])[:63]).decode()
    return _replace_text(png, ENVELOPE_KEYWORD, json.dumps(doc, separators=(",", ":")))


def envelope_noncanonical_base64() -> bytes:
    """The signed PNG with the unused low bits of the signature's last base64 digit set.

    The 64-byte signature ends ``?==``; the last digit's low 4 bits carry no data, so a lenient
    decoder gives the same signature for a changed file.
    """
    png = signed_png()
    doc = _envelope_dict(png)
    signature: dict[str, str] = doc["signatures"][0]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sig: str = signature["sig"]
    last = alphabet.index(sig[-3])
    signature["sig"] = sig[:-3] + alphabet[last | 0b1111] + "=="
    return _replace_text(png, ENVELOPE_KEYWORD, json.dumps(doc, separators=(",", ":")))


def record_duplicate_keys() -> bytes:
    """A record with ``"version"`` twice, correctly signed by the trusted key.

    The signature is over these exact bytes and verifies; only strict parsing rejects them
    (a lenient parser would keep the last value and could be shown a different record).
    """
    png = signed_png()
    signed = _signed(64).record_bytes
    assert signed.startswith(b"{")
    payload = b'{"version":"0.9",' + signed[1:]
    envelope = sign_payload(payload, schema.payload_type(), TEST_KEY)
    return _replace_text(png, ENVELOPE_KEYWORD, envelope.to_json())


#: name -> builder of the hostile file's bytes.
HOSTILE_CASES: dict[str, Callable[[], bytes]] = {
    f.__name__: f
    for f in (
        truncated_in_idat,
        truncated_in_text,
        bad_crc_envelope,
        bad_crc_idat,
        random_bytes,
        plain_text,
        empty_file,
        chunk_length_2gb,
        chunk_length_over_file_limit,
        chunk_type_not_letters,
        many_private_chunks,
        many_idat_chunks,
        huge_ihdr_no_envelope,
        huge_ihdr_with_envelope,
        idat_bomb_transplanted,
        idat_bomb_no_metadata,
        idat_bomb_attacker_signed,
        idat_bomb_attacker_text_flood,
        reencoded_text_flood,
        ztxt_bomb,
        itxt_bomb,
        text_total_flood,
        xmp_doctype,
        xmp_billion_laughs,
        xmp_external_entity,
        two_envelopes,
        itxt_invalid_utf8,
        envelope_not_json,
        envelope_deeply_nested,
        signature_wrong_length,
        envelope_noncanonical_base64,
        record_duplicate_keys,
    )
}

_M = Status.MALFORMED
#: name -> the status verify must report (under :func:`trusted_policy`).
EXPECTED_STATUS: dict[str, Status] = dict.fromkeys(HOSTILE_CASES, _M) | {
    # No envelope: an unsigned PNG is not decoded, its (absurd) header is never used.
    "huge_ihdr_no_envelope": Status.NO_PROVENANCE,
    "idat_bomb_no_metadata": Status.NO_PROVENANCE,
    # A valid, trusted envelope on other content: the header's size contradicts the record.
    "huge_ihdr_with_envelope": Status.CONTENT_ALTERED,
    "idat_bomb_transplanted": Status.CONTENT_ALTERED,
    # An untrusted signer cannot make verify decode anything: the fast digest fails, the pixels
    # are left alone and the status is the signer's.
    "idat_bomb_attacker_signed": Status.UNTRUSTED_SIGNER,
    "idat_bomb_attacker_text_flood": Status.UNTRUSTED_SIGNER,
    # Hostile only in size: the signed pixels are intact, the container grew.
    "reencoded_text_flood": Status.VERIFIED_REENCODED,
}

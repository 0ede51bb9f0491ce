"""verify on hostile files: the exact status, the reason, quickly, never an exception.

The files are built in memory by ``tests/hostile_files.py``; their time and memory are measured
in fresh processes by ``bench/bench_hostile.py`` (see BENCHMARKS.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provenance import Status, VerificationReport, verify
from provenance.record import ENVELOPE_KEYWORD
from tests.hostile_files import (
    EXPECTED_STATUS,
    HOSTILE_CASES,
    flip_bit,
    signed_png,
    text_chunk_span,
    trusted_policy,
)

_NOT_TRUSTED = r"^the signature is valid, but key [0-9a-f]{32} is not trusted by the policy"

#: name -> regex the message of the finding that decides the status must match (re.search).
REASONS: dict[str, str] = {
    "truncated_in_idat": r"^PNG file is truncated inside an IDAT chunk at byte \d+$",
    "truncated_in_text": r"^PNG file is truncated inside chunk tEXt$",
    "bad_crc_envelope": r"^chunk tEXt at byte \d+ has a bad CRC \(file is corrupt\)$",
    "bad_crc_idat": r"^chunk IDAT at byte \d+ has a bad CRC \(file is corrupt\)$",
    "random_bytes": r"^not an image: the file does not start with a known image signature$",
    "plain_text": r"^not an image: the file does not start with a known image signature$",
    "empty_file": r"^the file is empty$",
    "chunk_length_2gb": r"^chunk tEXt at byte 33 declares an impossible length$",
    "chunk_length_over_file_limit": r"^PNG file is larger than the limit of 1073741824 bytes$",
    "chunk_type_not_letters": r"^invalid chunk type at byte 33 \(file is corrupt\)$",
    "many_private_chunks": r"^PNG file has more than 1000 non-image chunks$",
    "many_idat_chunks": r"^PNG file has more than 50000 chunks$",
    "huge_ihdr_no_envelope": r"^no provenance metadata found in the file$",
    "huge_ihdr_with_envelope": r"^the image is 100000x100000 but the record was signed for 64x64$",
    "idat_bomb_transplanted": r"^the image is 6320x6320 but the record was signed for 64x64$",
    "idat_bomb_no_metadata": r"^no provenance metadata found in the file$",
    "idat_bomb_attacker_signed": _NOT_TRUSTED,
    "idat_bomb_attacker_text_flood": _NOT_TRUSTED,
    "reencoded_text_flood": (
        r"^the file was re-encoded or had chunks added since signing \(text chunks not written "
        r"by the signer: Comment0, Comment1, .*\); the pixels are unchanged$"
    ),
    "ztxt_bomb": (
        r"^zTXt chunk 'Comment' expands beyond the limit of 8388608 bytes \(compression bomb\)$"
    ),
    "itxt_bomb": (
        r"^iTXt chunk 'Description' expands beyond the limit of 8388608 bytes "
        r"\(compression bomb\)$"
    ),
    "text_total_flood": r"^PNG text chunks hold more than 16777216 bytes of text$",
    "xmp_doctype": r"^XMP packet refused: DTDForbidden \(DOCTYPE or entities\)$",
    "xmp_billion_laughs": r"^XMP packet refused: DTDForbidden \(DOCTYPE or entities\)$",
    "xmp_external_entity": r"^XMP packet refused: DTDForbidden \(DOCTYPE or entities\)$",
    "two_envelopes": r"^the file carries 2 signed records; exactly one is allowed$",
    "itxt_invalid_utf8": r"^iTXt chunk 'Comment' is not valid UTF-8$",
    "envelope_not_json": r"^signed envelope is not valid JSON \(Unterminated string",
    "envelope_deeply_nested": (
        r"^signed envelope is not valid JSON \(maximum recursion depth exceeded"
    ),
    "signature_wrong_length": r"^signature 0 is 63 bytes; Ed25519 signatures are 64$",
    "envelope_noncanonical_base64": (
        r"^envelope sig is not canonical base64 \(unused bits are set\)$"
    ),
    "record_duplicate_keys": (
        r"^the signed record is not valid UTF-8 JSON \(duplicate key 'version'\)$"
    ),
}

# The message of verify's last line of defence: an exception escaped the checks.
_UNEXPECTED = re.compile(r"^the file could not be read \(")


def _deciding_messages(report: VerificationReport) -> list[str]:
    """Messages of the findings that decide the status (failures, or the success evidence)."""
    if report.status is Status.VERIFIED_REENCODED:
        code = "container_changed"
    elif report.status is Status.VERIFIED:
        code = "bytes_match"
    else:
        code = report.status.value
    return [f.message for f in report.findings if f.code == code]


def test_every_case_has_a_status_and_a_reason() -> None:
    assert set(HOSTILE_CASES) == set(EXPECTED_STATUS) == set(REASONS)


@pytest.mark.timeout(10)
def test_builders_are_deterministic_and_small() -> None:
    for name, build in HOSTILE_CASES.items():
        data = build()
        assert data == build(), name
        assert len(data) < 3 << 20, name


@pytest.mark.timeout(5)
@pytest.mark.parametrize("name", list(HOSTILE_CASES))
def test_hostile_file(name: str) -> None:
    data = HOSTILE_CASES[name]()
    report = verify(data, policy=trusted_policy())
    assert report.status is EXPECTED_STATUS[name], [f.to_dict() for f in report.findings]
    messages = _deciding_messages(report)
    assert len(messages) == 1, messages
    assert re.search(REASONS[name], messages[0]), messages[0]
    assert not any(_UNEXPECTED.search(f.message) for f in report.findings), report.findings
    if report.status.passed:
        assert report.findings[0].kind == "success"
    else:
        assert all(f.kind == "failure" for f in report.findings if f.code == report.status.value)


@pytest.mark.timeout(30)
def test_bit_flips_in_the_envelope_chunk_never_verify() -> None:
    png = signed_png(32)
    policy = trusted_policy()
    assert verify(png, policy=policy).status is Status.VERIFIED
    start, end = text_chunk_span(png, ENVELOPE_KEYWORD)
    assert end - start > 1000
    data = png[start:end]
    # The last digits of base64 values can carry unused bits (a lenient decoder ignores them):
    # all eight bits of each of the last four characters of payload, publicKey and sig.
    b64_tails = {
        start + i
        for m in re.finditer(rb'"(?:payload|publicKey|sig)":"([A-Za-z0-9+/=]+)"', data)
        for i in range(m.end(1) - 4, m.end(1))
    }
    assert len(b64_tails) == 12
    seen: set[Status] = set()
    # Every byte of the chunk's data (keyword, separator, envelope JSON) gets one bit flipped
    # (bit index % 8), every third byte and the base64 tails all eight (all eight everywhere,
    # ~16,000 verifications, would take ~7 s); the CRC is fixed after each flip so that it is
    # not what catches the change.
    for index in range(start, end):
        every_bit = (index - start) % 3 == 0 or index in b64_tails
        for bit in range(8) if every_bit else (index % 8,):
            report = verify(flip_bit(png, index, bit), policy=policy)
            where = f"byte {index - start} of the chunk data, bit {bit}"
            assert not report.status.passed, where
            assert not any(_UNEXPECTED.search(f.message) for f in report.findings), where
            seen.add(report.status)
    assert seen <= {Status.MALFORMED, Status.SIGNATURE_INVALID, Status.UNSIGNED}, seen


def _peak_rss() -> int:
    """This process's peak resident memory (VmHWM), in bytes."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024


@pytest.mark.timeout(10)
def test_an_unsigned_bomb_is_never_inflated() -> None:
    """verify leaves stealth payloads to ``inspect``: the image data of a PNG with nothing to
    verify is never inflated (this one would take about 320 MB)."""
    data = HOSTILE_CASES["idat_bomb_no_metadata"]()
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    before = _peak_rss()
    report = verify(data, policy=trusted_policy())
    assert report.status is Status.NO_PROVENANCE
    assert _peak_rss() - before < 32 << 20

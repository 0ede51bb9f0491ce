"""POST /v1/verify: the CLI's report for an upload, the audit log, and every limit."""

from __future__ import annotations

import io
import json
import socket
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from api.cli import main
from api.service.errors import ApiError
from api.service.images import image_size, media_type
from api.service.upload import parse_file_field
from tests import pngtools
from tests.api.service.conftest import AUTH, Site


def upload(client: TestClient, data: bytes, name: str = "upload.png") -> Any:
    return client.post("/v1/verify", files={"file": (name, data, "image/png")})


def cli_report(site: Site, path: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    main(["--home", str(site.home), "--catalog", site.url, "verify", "--json", path])
    return dict(json.loads(capsys.readouterr().out))


def test_a_signed_upload_gets_the_clis_report(
    site: Site, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    data = site.files[0].read_bytes()
    response = upload(client, data, "cat.png")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "verified"
    assert report["record_id"] == site.record_ids[0]
    assert report["file"] == "cat.png"
    assert report["signer"]["key_id"] == site.key.key_id and report["signer"]["trusted"]
    expected = cli_report(site, str(site.files[0]), capsys)
    for fields in (report, expected):
        fields.pop("checked_at")
        fields.pop("file")
    assert report == expected  # the same findings, codes and sentences as verify --json


def test_every_verification_is_in_the_audit_log_with_origin_api(
    site: Site, client: TestClient
) -> None:
    upload(client, site.files[1].read_bytes(), "fox.png")
    upload(client, b"not an image at all", "notes.txt")
    entries = client.get("/v1/audit", headers=AUTH).json()["entries"]
    assert [(e["origin"], e["input_name"], e["status"]) for e in entries] == [
        ("api", "notes.txt", "malformed"),
        ("api", "fox.png", "verified"),
    ]
    assert entries[1]["record_id"] == site.record_ids[1]
    assert entries[1]["findings"][0]["code"] == "signature_valid"


def test_a_changed_pixel_is_reported_with_its_reason(site: Site, client: TestClient) -> None:
    tampered = pngtools.flip_pixel_byte(site.files[0].read_bytes(), row=3, column_byte=5)
    response = upload(client, tampered)
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "content_altered"
    failures = [f for f in report["findings"] if f["kind"] == "failure"]
    assert [f["code"] for f in failures] == ["content_altered"]
    assert failures[0]["message"] == "the decoded pixels differ from the pixels that were signed"


def test_an_edited_prompt_is_a_metadata_mismatch(site: Site, client: TestClient) -> None:
    edited = pngtools.replace_text(site.files[0].read_bytes(), "Prompt", "一只黑猫")
    report = upload(client, edited).json()
    assert report["status"] == "metadata_mismatch"
    assert any(
        f["code"] == "metadata_mismatch" and "Prompt" in f["message"] for f in report["findings"]
    )


def test_a_stripped_copy_is_found_in_the_catalog(site: Site, client: TestClient) -> None:
    buffer = io.BytesIO()
    Image.open(site.files[1]).save(buffer, format="PNG")  # the pixels without our metadata
    report = upload(client, buffer.getvalue()).json()
    assert report["status"] == "catalog_match"
    assert report["candidates"][0]["record_id"] == site.record_ids[1]


def test_a_file_that_is_not_an_image_is_a_report(client: TestClient) -> None:
    response = upload(client, b"%PDF-1.7 hello", "paper.pdf")
    assert response.status_code == 200
    assert response.json()["status"] == "malformed"
    assert response.json()["findings"][0]["message"] == (
        "not an image: the file does not start with a known image signature"
    )


def test_an_empty_upload_or_a_missing_field_is_422(client: TestClient) -> None:
    empty = upload(client, b"")
    assert empty.status_code == 422
    assert empty.json() == {
        "code": "empty_upload",
        "message": "The uploaded file is empty; choose an image.",
    }
    missing = client.post("/v1/verify", files={"other": ("a.png", b"x", "image/png")})
    assert missing.status_code == 422
    assert missing.json()["code"] == "invalid_request"
    assert "file" in missing.json()["message"]
    not_multipart = client.post("/v1/verify", json={"file": "x"})
    assert not_multipart.status_code == 422
    assert not_multipart.json()["code"] == "invalid_request"


def test_an_upload_over_the_size_limit_is_413(
    site: Site, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(max_upload_bytes=4096)
    data = site.files[0].read_bytes()
    assert 4096 < len(data) < 4096 + 64 * 1024  # within the body's slack: the file is counted
    response = upload(client, data)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "4096 bytes" in response.json()["message"]


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(max_upload_bytes=1000)
    body = b"x" * (1000 + 64 * 1024 + 1)
    response = client.post(
        "/v1/verify",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_a_chunked_body_is_cut_off_at_the_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_bytes=1000)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        yield b"Content-Type: image/png\r\n\r\n"
        for _ in range(200):  # 200 x 4 KiB, far over the limit: never sent whole
            sent.append(1)
            yield b"\x89" * 4096
        yield b"\r\n--b--\r\n"

    response = client.post(
        "/v1/verify",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_a_file_over_the_upload_limit_inside_the_slack_is_413(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(max_upload_bytes=1000)
    response = upload(client, b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_an_image_over_the_pixel_limit_is_413(
    site: Site, make_client: Callable[..., TestClient]
) -> None:
    client = make_client(max_pixels=1000)  # the 64x48 images have 3072
    response = upload(client, site.files[0].read_bytes())
    assert response.status_code == 413
    assert response.json() == {
        "code": "too_many_pixels",
        "message": "The image is 64x48 = 3072 pixels, over the limit of 1000 "
        "(AIGC_PROV_MAX_PIXELS).",
    }


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    crc = zlib.crc32(b"IHDR" + ihdr)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", crc)


def test_a_decompression_bomb_header_is_413_before_any_decoding(client: TestClient) -> None:
    bomb = _png_header(100_000, 100_000) + b"\0" * 64
    response = upload(client, bomb)
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_pixels"
    assert "100000x100000 = 10000000000 pixels" in response.json()["message"]


def test_a_request_that_takes_too_long_gets_503_timeout(
    site: Site, make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.service.routers import verify as verify_router

    def slow(*args: Any, **kwargs: Any) -> dict[str, Any]:
        time.sleep(2.0)
        return {}

    monkeypatch.setattr(verify_router, "verify_bytes", slow)
    client = make_client(request_timeout_s=0.2)
    started = time.monotonic()
    response = upload(client, site.files[0].read_bytes())
    assert time.monotonic() - started < 1.8  # answered at the limit, not when the work ended
    assert response.status_code == 503
    assert response.json()["code"] == "timeout"
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize("slots", [1, 3])
def test_verifications_at_once_are_capped_by_the_setting(
    site: Site, make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch, slots: int
) -> None:
    """AIGC_PROV_VERIFY_CONCURRENCY: uploads beyond it wait their turn, and all get answers."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from api.service.routers import verify as verify_router

    real = verify_router.verify_bytes
    lock = threading.Lock()
    running = {"now": 0, "most": 0}

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        try:
            time.sleep(0.3)  # long enough for every upload to have arrived meanwhile
            return real(*args, **kwargs)
        finally:
            with lock:
                running["now"] -= 1

    monkeypatch.setattr(verify_router, "verify_bytes", counted)
    data = site.files[0].read_bytes()
    client = make_client(verify_concurrency=slots)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: upload(client, data), range(4)))
    assert [a.json()["status"] for a in answers] == ["verified"] * 4
    assert running["most"] == slots


def test_verification_makes_no_network_call(
    site: Site, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the verifier tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    response = upload(client, site.files[2].read_bytes())
    assert response.status_code == 200
    assert response.json()["status"] == "verified"


def test_a_long_or_odd_file_name_is_reduced_to_a_printable_base_name(
    site: Site, client: TestClient
) -> None:
    data = site.files[0].read_bytes()
    report = upload(client, data, "../../etc/\x1b[31mcat.png").json()
    assert report["file"] == "\ufffd[31mcat.png"
    report = upload(client, data, "x" * 1000).json()
    assert report["file"] == "x" * 255


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_image_sizes_are_read_from_the_header(fmt: str) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (123, 45), (10, 20, 30)).save(buffer, format=fmt)
    data = buffer.getvalue()
    assert image_size(data) == (123, 45)
    assert media_type(data[:16]) == f"image/{fmt.lower()}"


def test_lossless_and_extended_webp_sizes_are_read() -> None:
    for kwargs in ({"lossless": True}, {"exif": b"Exif\0\0II*\0"}):
        buffer = io.BytesIO()
        Image.new("RGBA", (321, 17)).save(buffer, format="WEBP", **kwargs)
        assert image_size(buffer.getvalue()) == (321, 17)


def test_unknown_or_truncated_headers_have_no_size() -> None:
    assert image_size(b"") is None
    assert image_size(b"hello") is None
    assert image_size(b"\xff\xd8\xff\xe0\x00") is None
    assert image_size(b"\xff\xd8\xff\xda\x00\x08") is None
    assert media_type(b"hello") == "application/octet-stream"


def _multipart(*parts: tuple[str, bytes], filename: str = "a.png", end: bool = True) -> bytes:
    body = b""
    for name, data in parts:
        body += (
            (
                f'--b\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return body + (b"--b--\r\n" if end else b"")


def _post(client: TestClient, body: bytes) -> Any:
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    return client.post("/v1/verify", content=body, headers=headers)


def test_the_first_file_field_is_verified_and_other_parts_are_skipped(
    site: Site, client: TestClient
) -> None:
    signed = site.files[0].read_bytes()
    body = _multipart(("note", b"hello"), ("file", signed), ("file", b"second file, ignored"))
    response = _post(client, body)
    assert response.status_code == 200
    assert response.json()["status"] == "verified"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_multipart(("file", b"\x89PNG"), end=False), "The multipart body ends before its closing"),
        (_multipart(*[("note", b"x")] * 17), "The form has more than 16 parts."),
        (_multipart(("note", b"x")), "Field file: Field required."),
        (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
            + b"x" * 20_000
            + b'"\r\n\r\ndata\r\n--b--\r\n',
            "A part of the form has oversized headers.",  # one header over the limit
        ),
        (
            b'--b\r\nContent-Disposition: form-data; name="file"\r\n'
            + b"".join(b"X-Pad-%d: " % i + b"y" * 3000 + b"\r\n" for i in range(6))
            + b"\r\ndata\r\n--b--\r\n",
            "A part of the form has oversized headers.",
        ),
        (b"garbage without any boundary", "The multipart body"),
    ],
)
def test_malformed_multipart_bodies_are_422(client: TestClient, body: bytes, message: str) -> None:
    response = _post(client, body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert response.json()["message"].startswith(message)


_part_data = st.binary(max_size=300).filter(lambda d: b"\r\n--b" not in d and not d.endswith(b"\r"))


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.tuples(st.sampled_from(["file", "note", "x"]), _part_data), max_size=5),
    preamble=st.sampled_from([b"", b"preamble\r\n"]),
)
def test_the_multipart_reader_returns_the_first_file_part(
    parts: list[tuple[str, bytes]], preamble: bytes
) -> None:
    body = preamble + _multipart(*parts)
    wanted = [data for name, data in parts if name == "file"]
    if wanted:
        assert parse_file_field(bytearray(body), b"b", "file", 1000).data == wanted[0]
    else:
        with pytest.raises(ApiError, match="field file: Field required"):
            parse_file_field(bytearray(body), b"b", "file", 1000)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=400), cut=st.integers(min_value=0, max_value=400))
def test_the_multipart_reader_refuses_broken_bodies_cleanly(body: bytes, cut: int) -> None:
    """Random and truncated bodies give an upload or a clean 4xx, never another exception."""
    for candidate in (body, _multipart(("file", body))[:cut]):
        status = 200
        try:
            parse_file_field(bytearray(candidate), b"b", "file", 100)
        except ApiError as exc:
            status = exc.status_code
        assert status in (200, 413, 422)

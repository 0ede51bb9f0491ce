"""``aigc-prov export-image``: JPEG/WebP copies that verify, by file or by record id; refusals
exit 2 with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import main
from tests import pngtools
from tests.conftest import sample_image

PROMPT = "一只橘猫坐在窗台上, photo"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def home(tmp_path: Path) -> list[str]:
    return ["--home", str(tmp_path / "home")]


@pytest.fixture
def signed(tmp_path: Path, home: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    photo = tmp_path / "photo.png"
    sample_image(size=(80, 64)).save(photo)
    assert run(capsys, *home, "keys", "init")[0] == 0
    out = tmp_path / "signed.png"
    code, text, err = run(
        capsys, *home, "sign", str(photo), "--prompt", PROMPT, "--out", str(out), "--json"
    )
    assert code == 0, err
    return dict(json.loads(text))


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_export_verify_inspect(
    tmp_path: Path,
    home: list[str],
    signed: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    fmt: str,
) -> None:
    out = tmp_path / f"copy.{fmt}"
    before = Path(signed["file"]).read_bytes()
    code, text, err = run(
        capsys, *home, "export-image", signed["file"], "--format", fmt, "--quality", "75",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(text)
    assert result["parent_record_id"] == signed["record_id"]
    assert result["sidecar"] == str(out) + ".json"
    assert result["record_in_sidecar_only"] is False
    assert Path(signed["file"]).read_bytes() == before

    code, text, err = run(capsys, *home, "verify", str(out), "--json")
    assert code == 0, err
    report = json.loads(text)
    assert report["status"] == "verified"
    assert report["record_id"] == result["record_id"]

    code, text, _ = run(capsys, *home, "inspect", str(out), "--json")
    assert code == 0
    found = json.loads(text)
    assert found["tool"]["name"] == "aigc-provenance"
    assert found["generation"]["prompt"] == PROMPT
    assert found["extra"]["task"]["type"] == "export"
    assert found["extra"]["task"]["parent_record_id"] == signed["record_id"]


def test_export_by_record_id_defaults_beside_the_original(
    tmp_path: Path, home: list[str], signed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, text, err = run(capsys, *home, "export-image", signed["record_id"], "--format", "webp")
    assert code == 0, err
    assert f"parent={signed['record_id']}" in text
    out = tmp_path / "signed.webp"
    assert out.exists() and (tmp_path / "signed.webp.json").exists()
    code, text, _ = run(capsys, *home, "verify", str(out))
    assert code == 0 and "verified" in text


def test_existing_out_needs_overwrite(
    tmp_path: Path, home: list[str], signed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "copy.jpg"
    out.write_bytes(b"precious")
    args = [*home, "export-image", signed["file"], "--format", "jpeg", "--out", str(out)]
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "already exists; pass --overwrite to replace it" in err
    assert out.read_bytes() == b"precious"
    assert run(capsys, *args, "--overwrite")[0] == 0
    assert run(capsys, *home, "verify", str(out))[0] == 0


def test_unsigned_and_tampered_sources_are_refused(
    tmp_path: Path, home: list[str], signed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain.png"
    sample_image().save(plain)
    code, _, err = run(capsys, *home, "export-image", str(plain), "--format", "jpeg")
    assert code == 2
    assert "does not verify (no_provenance:" in err
    assert not (tmp_path / "plain.jpg").exists()

    tampered = tmp_path / "tampered.png"
    data = Path(signed["file"]).read_bytes()
    tampered.write_bytes(pngtools.replace_text(data, "Prompt", "a dog"))
    code, _, err = run(capsys, *home, "export-image", str(tampered), "--format", "webp")
    assert code == 2
    assert "does not verify (metadata_mismatch:" in err

    code, _, err = run(capsys, *home, "export-image", "no-such-id", "--format", "jpeg")
    assert code == 2
    assert "neither a file nor a catalogued record" in err


def test_quality_is_checked(
    home: list[str], signed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*home, "export-image", signed["file"], "--format", "jpeg", "--quality", "0"])
    assert exc.value.code == 2
    assert "must be from 1 to 100" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_transparent_and_colour_managed_sources_export_and_verify(
    tmp_path: Path, home: list[str], capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    from PIL import Image, ImageCms

    run(capsys, *home, "keys", "init")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    sources = {
        "rgba": lambda p: Image.new("RGBA", (64, 48), (255, 0, 0, 128)).save(p),
        "icc": lambda p: Image.new("RGB", (64, 48), (10, 200, 30)).save(p, icc_profile=icc),
    }
    for name, make in sources.items():
        make(tmp_path / f"{name}.png")
        code, _, err = run(
            capsys,
            *home,
            "sign",
            str(tmp_path / f"{name}.png"),
            "--prompt",
            PROMPT,
            "--out",
            str(tmp_path / f"{name}.signed.png"),
        )
        assert code == 0, err
        out = tmp_path / f"{name}.{fmt}"
        code, _, err = run(
            capsys,
            *home,
            "export-image",
            str(tmp_path / f"{name}.signed.png"),
            "--format",
            fmt,
            "--out",
            str(out),
        )
        assert code == 0, err
        code, text, _ = run(capsys, *home, "verify", "--json", "--pixels", str(out))
        assert code == 0 and json.loads(text)["status"] == "verified", text


def test_oversized_record_is_said_in_text_and_json(
    tmp_path: Path, home: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # a record over one 64 KB APP1 segment: the copy holds a shortened form, the sidecar the
    # full one, and both output modes say so
    photo = tmp_path / "photo.png"
    sample_image(size=(80, 64)).save(photo)
    assert run(capsys, *home, "keys", "init")[0] == 0
    prompt = "很长的提示 " + "a very long prompt, " * 2900
    signed = tmp_path / "long.png"
    code, _, err = run(capsys, *home, "sign", str(photo), "--prompt", prompt, "--out", str(signed))
    assert code == 0, err

    out = tmp_path / "long.jpg"
    code, text, err = run(
        capsys, *home, "export-image", str(signed), "--format", "jpeg", "--out", str(out)
    )
    assert code == 0, err
    assert (
        f"the record is too large for the file: its full signed form is in {out}.json "
        "(keep the two together)"
    ) in text

    again = tmp_path / "long.webp"
    code, text, err = run(
        capsys, *home, "export-image", str(signed), "--format", "webp", "--out", str(again),
        "--json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(text)
    assert result["record_in_sidecar_only"] is True
    assert result["sidecar"] == f"{again}.json"

    code, text, err = run(capsys, *home, "verify", str(again), "--json")
    assert code == 0, err
    report = json.loads(text)
    assert report["status"] == "verified"
    codes = {finding["code"] for finding in report["findings"]}
    assert {"record_in_sidecar", "metadata_truncated"} <= codes

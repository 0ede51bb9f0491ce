"""The aigc-prov command line: exit codes, --json lines, keys, sign, verify, inspect, demo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from tests import pngtools
from tests.conftest import sample_image
from tests.provenance.schema.test_schema import WEBUI_SIDECAR


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIGC_PROV_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AIGC_PROV_KEY_PASSPHRASE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    sample_image(size=(96, 64)).save(path, quality=90)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_lifecycle(home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "keys", "init")
    assert code == 0 and out.startswith("created signing key ")
    first = out.split()[3]
    assert run(capsys, "keys", "init")[0] == 2
    code, out, _ = run(capsys, "keys", "rotate")
    assert code == 0 and f"retired {first}" in out
    code, out, _ = run(capsys, "keys", "list", "--json")
    keys = json.loads(out)
    assert [k["status"] for k in keys] == ["retired", "active"]
    code, out, _ = run(capsys, "keys", "revoke", first[:12], "--reason", "test")
    assert code == 0 and out.startswith(f"revoked {first} at ")
    code, out, _ = run(capsys, "keys", "export")
    assert code == 0 and out.startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "pub.pem").write_text(out)
    code, _, err = run(
        capsys, "--home", str(tmp_path / "other"), "keys", "trust", str(tmp_path / "pub.pem")
    )
    assert code == 0
    code, _, err = run(capsys, "keys", "revoke", "ffffffffff")
    assert code == 2 and "no key ffffffffff" in err


def test_sign_verify_and_exit_codes(
    home: Path, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "keys", "init")
    code, out, _ = run(
        capsys,
        "sign",
        str(photo),
        "--prompt",
        "一只橘猫",
        "--seed",
        "7",
        "--steps",
        "8",
        "--cfg",
        "0",
        "--model",
        "Z-Image-Turbo",
        "--json",
    )
    assert code == 0
    signed = json.loads(out)
    out_png = Path(signed["file"])
    assert out_png.name == "photo.signed.png" and Path(signed["sidecar"]).exists()
    assert photo.exists()  # the original is never modified

    code, out, _ = run(capsys, "verify", "--json", str(out_png))
    line = json.loads(out)
    assert code == 0 and line["status"] == "verified"
    assert line["record_id"] == signed["record_id"]
    assert line["signer"]["key_id"] == signed["key_id"] and line["signer"]["status"] == "active"
    assert all(set(f) >= {"code", "message"} for f in line["findings"])

    tampered = out_png.with_name("tampered.png")
    tampered.write_bytes(pngtools.replace_text(out_png.read_bytes(), "Prompt", "a dog"))
    code, out, _ = run(capsys, "verify", "--json", str(out_png), str(tampered))
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 1
    assert [x["status"] for x in lines] == ["verified", "metadata_mismatch"]
    assert [x["file"] for x in lines] == [str(out_png), str(tampered)]

    code, out, _ = run(capsys, "verify", str(tampered))
    assert code == 1 and out.startswith("FAIL metadata_mismatch") and "Prompt says" in out
    code, _, _ = run(capsys, "verify", "missing.png")
    assert code == 2
    with pytest.raises(SystemExit) as exc:
        main(["verify"])
    assert exc.value.code == 2

    code, _, err = run(capsys, "sign", str(photo), "--prompt", "again")
    assert code == 2 and "already exists; pass --overwrite" in err
    code, _, err = run(capsys, "sign", str(photo))
    assert code == 2 and "--prompt TEXT" in err


def test_verify_with_an_explicit_public_key(
    home: Path, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "keys", "init")
    run(capsys, "sign", str(photo), "--prompt", "cat")
    run(capsys, "keys", "export", "--out", str(tmp_path / "pub.pem"))
    signed = str(tmp_path / "photo.signed.png")
    stranger = ["--home", str(tmp_path / "stranger")]
    assert run(capsys, *stranger, "verify", signed)[1].startswith("FAIL untrusted_signer")
    code, out, _ = run(capsys, *stranger, "verify", "--key", str(tmp_path / "pub.pem"), signed)
    assert code == 0 and out.startswith("OK   verified")


def test_sign_from_a_webui_sidecar(
    home: Path, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "keys", "init")
    sidecar = tmp_path / "webui.json"
    sidecar.write_text(json.dumps(WEBUI_SIDECAR, ensure_ascii=False), "utf-8")
    code, out, _ = run(
        capsys,
        "sign",
        str(photo),
        "--record",
        str(sidecar),
        "--out",
        str(tmp_path / "attested.png"),
        "--json",
    )
    assert code == 0
    code, out, _ = run(capsys, "inspect", "--json", str(tmp_path / "attested.png"))
    doc = json.loads(out)
    assert doc["verification"]["status"] == "verified"
    assert doc["record"]["generation"]["seed"] == 1234567
    assert {t["keyword"] for t in doc["text"]} >= {"Prompt", "Seed", "parameters", "AIGCProvenance"}
    assert doc["xmp"]["digital_source_type"].endswith("trainedAlgorithmicMedia")


def test_encrypted_key_uses_the_passphrase_variable(
    home: Path, photo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIGC_PROV_KEY_PASSPHRASE", "s3cret")
    assert run(capsys, "keys", "init", "--encrypt")[0] == 0
    key_file = next((home / "keys" / "private").glob("*.pem"))
    assert b"ENCRYPTED PRIVATE KEY" in key_file.read_bytes()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert run(capsys, "sign", str(photo), "--prompt", "cat")[0] == 0
    monkeypatch.setenv("AIGC_PROV_KEY_PASSPHRASE", "wrong")
    code, _, err = run(capsys, "sign", str(photo), "--prompt", "cat", "--overwrite")
    assert code == 2 and "wrong passphrase" in err
    assert "s3cret" not in err


def test_inspect_foreign_file_shows_its_text(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import CORPUS

    sample = CORPUS / "sd-parsers" / "parsers" / "AUTOMATIC1111" / "automatic1111_cropped.png"
    code, out, _ = run(capsys, "inspect", str(sample))
    assert code == 0
    assert "parameters [tEXt]:" in out and "verification: foreign_metadata" in out


def test_demo_and_console_script(tmp_path: Path) -> None:
    exe = shutil.which("aigc-prov", path=str(Path(sys.executable).parent))
    assert exe, "the aigc-prov console script is not installed (pip install -e .)"
    env = {**os.environ, "AIGC_PROV_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [exe, "demo", "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "OK   verified" in done.stdout
    assert "test model" in done.stderr  # says plainly that the picture is noise
    (demo,) = (tmp_path / "out").glob("*-s42.png")
    again = subprocess.run(
        [exe, "verify", "--json", str(demo)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "verified"


def test_existing_sidecar_is_never_replaced(
    home: Path, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "keys", "init")
    (tmp_path / "mine.json").write_text("my notes")
    code, _, err = run(
        capsys, "sign", str(photo), "--prompt", "cat", "--out", str(tmp_path / "mine.png")
    )
    assert code == 2 and "mine.json already exists; pass --overwrite" in err
    assert (tmp_path / "mine.json").read_text() == "my notes"
    assert not (tmp_path / "mine.png").exists()
    sidecar = tmp_path / "facts.json"
    sidecar.write_text(json.dumps(WEBUI_SIDECAR))
    code, _, err = run(
        capsys, "sign", str(photo), "--record", str(sidecar), "--out", str(tmp_path / "facts.png")
    )
    assert code == 2 and "would replace the --record file" in err


def test_control_characters_are_escaped_in_output(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = tmp_path / "a\x1b[2Kb.png"
    sample_image().save(evil)
    code, out, _ = run(capsys, "verify", str(evil))
    assert code == 1
    assert "\x1b" not in out and "a\\x1b[2Kb.png" in out


def test_prompts_that_png_text_and_xmp_cannot_carry_are_refused(
    home: Path, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "keys", "init")
    code, _, err = run(capsys, "sign", str(photo), "--prompt", "a\x01b")
    assert code == 2 and "the prompt holds the control character U+0001" in err
    assert not (tmp_path / "photo.signed.png").exists()
    code, _, err = run(capsys, "sign", str(photo), "--prompt", "一只橘猫\r\n高清", "--json")
    assert code == 0, err
    code, out, _ = run(capsys, "verify", "--json", str(tmp_path / "photo.signed.png"))
    assert code == 0 and json.loads(out)["status"] == "verified"


def test_inspect_json_gives_one_normalized_view_per_file_in_order(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from provenance.extract.model import GENERATION_KEYS
    from tests.conftest import CORPUS

    expected = json.loads((CORPUS / "expected.json").read_text("utf-8"))
    names = [
        "sd-metadata/webp/sd-webui.webp",
        "sd-metadata/jpg/swarmui.jpg",
        "sd-metadata/png/comfyui.png",
        "sd-metadata/c2pa/png/chatgpt-image2.png",
    ]
    code, out, _ = run(capsys, "inspect", "--json", *(str(CORPUS / n) for n in names))
    assert code == 0
    views = [json.loads(line) for line in out.splitlines()]
    assert [Path(v["file"]).name for v in views] == [Path(n).name for n in names]
    for name, view in zip(names, views, strict=True):
        want = expected[name]
        assert tuple(view["generation"]) == GENERATION_KEYS
        assert set(view["tool"]) == {"name", "version"} and view["tool"]["name"] == want["tool"]
        got = view["generation"]["prompt"]
        assert (got or "").strip() == (want["prompt"] or "").strip()
        assert view["generation"]["seed"] == want["seed"]
        assert isinstance(view["raw"], dict) and isinstance(view["labels"], list)
    assert any(label["scheme"] == "c2pa" for label in views[3]["labels"])
    assert views[0]["raw"]["webp:exif:ExifIFD:UserComment"]


def test_inspect_of_a_device_that_never_ends_stops_at_its_first_bytes(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``inspect /dev/zero`` used to read the whole 1 GiB limit before saying "not an image"."""
    rchar = lambda: int(Path("/proc/self/io").read_text().split("rchar:")[1].split()[0])  # noqa: E731
    before = rchar()
    code, out, _ = run(capsys, "inspect", "--json", "/dev/zero")
    assert code == 0
    assert rchar() - before < 1 << 20
    view = json.loads(out)
    assert view["verification"]["status"] == "malformed"
    assert "does not start with a known image signature" in json.dumps(view["verification"])


def test_inspect_metadata_only_gives_the_same_view_without_verifying(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import CORPUS

    names = [
        str(CORPUS / "sd-metadata/png/comfyui.png"),
        str(CORPUS / "sd-metadata/jpg/swarmui.jpg"),
        str(CORPUS / "sd-metadata/webp/sd-webui.webp"),
        str(CORPUS / "sd-metadata/png/novelai-curated.png"),  # its signature needs the pixels
    ]
    code, full, _ = run(capsys, "inspect", "--json", *names)
    assert code == 0
    code, fast, _ = run(capsys, "inspect", "--metadata-only", "--json", *names)
    assert code == 0
    for whole, metadata in zip(full.splitlines(), fast.splitlines(), strict=True):
        a, b = json.loads(whole), json.loads(metadata)
        for key in ("file", "tool", "generation", "labels", "extra", "raw", "width", "height"):
            assert a[key] == b[key], key
        assert a["container"] == b["container"]
        assert a["verification"] is not None and b["verification"] is None
    assert json.loads(fast.splitlines()[3])["extra"]["novelai_signature"] == "valid"
    code, text, _ = run(capsys, "inspect", "--metadata-only", names[0])
    assert code == 0
    assert "  tool: comfyui" in text and "verification" not in text
    assert "  png:tEXt:prompt: {" in text


def test_reading_commands_start_without_the_catalog_layer(home: Path) -> None:
    """``inspect``, and ``verify`` where there is no catalog, never import SQLAlchemy or Alembic
    (they were two thirds of the command line's start); ``verify`` imports SQLAlchemy once a
    catalog exists, since it then looks the file up there."""
    from tests.conftest import CORPUS

    image = str(CORPUS / "sd-metadata/png/comfyui.png")
    script = (
        "import sys\nfrom api.cli import main\ncode = main(sys.argv[1:])\n"
        "print('LOADED', [m for m in ('sqlalchemy', 'alembic') if m in sys.modules])\n"
    )

    def loaded(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
        )
        assert done.returncode in (0, 1), done.stderr
        return done.stdout.splitlines()[-1]

    assert loaded("inspect", "--json", image) == "LOADED []"
    assert loaded("inspect", "--metadata-only", image) == "LOADED []"
    assert loaded("verify", "--json", image) == "LOADED []"
    assert main(["db", "upgrade"]) == 0
    assert loaded("verify", "--json", image) == "LOADED ['sqlalchemy']"

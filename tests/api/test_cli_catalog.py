"""The catalog from the command line: sign registers, search pages, verify audits, fsck repairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from api.cli import main
from provenance.catalog.store import Catalog, verifications
from tests.conftest import sample_image
from tests.provenance.catalog.conftest import catalog_url, postgres_admin  # noqa: F401

PROMPTS = ["一只橘猫坐在窗台上，高清照片", "an orange cat, photo", "油画风格的山水"]


@pytest.fixture
def cli(tmp_path: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.setenv("AIGC_PROV_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)

    def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        code = main(["--catalog", catalog_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_sign_search_verify_fsck(
    cli,
    tmp_path: Path,
    catalog_url: str,  # type: ignore[no-untyped-def]  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(capsys, "keys", "init")[0] == 0
    signed = []
    for i, prompt in enumerate(PROMPTS):
        source = tmp_path / f"in{i}.png"
        sample_image(i, (40, 30)).save(source)
        code, out, _ = cli(
            capsys,
            "sign",
            str(source),
            "--prompt",
            prompt,
            "--seed",
            str(i),
            "--steps",
            "8",
            "--model",
            "Z-Image-Turbo",
            "--json",
        )
        assert code == 0
        signed.append(json.loads(out))

    code, out, _ = cli(capsys, "search", "橘猫", "--json")
    assert code == 0
    assert [r["prompt"] for r in json.loads(out)["results"]] == [PROMPTS[0]]
    code, out, _ = cli(capsys, "search", "--limit", "2", "--json")
    first = json.loads(out)
    assert [r["seed"] for r in first["results"]] == [2, 1] and first["next_cursor"]
    code, out, _ = cli(capsys, "search", "--limit", "2", "--cursor", first["next_cursor"], "--json")
    assert [r["seed"] for r in json.loads(out)["results"]] == [0]
    code, out, _ = cli(capsys, "search", "cat", "--sort", "relevance", "--json")
    assert [r["prompt"] for r in json.loads(out)["results"]] == [PROMPTS[1]]
    code, out, _ = cli(capsys, "search", "cat", "--seed", "1")
    assert code == 0 and "an orange cat, photo" in out
    code, out, _ = cli(capsys, "db", "status", "--json")
    assert json.loads(out)["records"] == 3
    code, out, _ = cli(capsys, "tag", signed[2]["record_id"], "山水", "favourite", "--json")
    assert code == 0 and json.loads(out)["tags"] == ["favourite", "山水"]
    code, out, _ = cli(capsys, "search", "--tag", "山水", "--json")
    assert [r["record_id"] for r in json.loads(out)["results"]] == [signed[2]["record_id"]]
    assert cli(capsys, "tag", "no-such-record", "x")[0] == 2

    stripped = tmp_path / "stripped.png"
    with Image.open(signed[1]["file"]) as image:
        image.save(stripped)
    code, out, _ = cli(capsys, "verify", "--json", signed[0]["file"], str(stripped))
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [x["status"] for x in lines] == ["verified", "catalog_match"]
    assert lines[1]["candidates"][0]["record_id"] == signed[1]["record_id"]
    with Catalog.open(catalog_url) as catalog, catalog.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(verifications)) == 2
    assert cli(capsys, "verify", "--no-catalog", str(stripped))[1].startswith("FAIL no_provenance")

    code, out, _ = cli(capsys, "fsck", "--json")
    assert code == 0 and json.loads(out)["consistent"] is True
    Path(signed[2]["file"]).unlink()
    code, out, _ = cli(capsys, "fsck")
    assert code == 1 and f"MISSING {signed[2]['record_id']}" in out


def test_bad_cursor_and_dates_are_usage_errors(cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(capsys, "search", "--cursor", "nonsense")
    assert code == 2 and "the cursor is not one this catalog returned" in err
    with pytest.raises(SystemExit) as exc:
        main(["search", "--since", "yesterday"])
    assert exc.value.code == 2


def test_db_upgrade_reports_revisions(cli, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli(capsys, "db", "upgrade")
    assert code == 0 and out.startswith("catalog upgraded from revision (empty) to ")
    code, out, _ = cli(capsys, "db", "upgrade")
    assert code == 0 and out.startswith("catalog already at revision ")

"""``aigc-prov kb styles|prompts|params``, ``history``, ``rate`` and ``export``, on SQLite and
PostgreSQL.

The commands are added to a parser with :func:`api.cli_kb.register`, exactly as the main program
does, and run the way ``api.cli.main`` runs a command (a ``ProvenanceError`` is exit code 2 with
its message on standard error).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from api.cli_kb import register
from provenance import KeyRing, KeyRingPolicy, ProvenanceError, PublicKey, SigningKey, TrustedKeys
from provenance.catalog.knowledge import CSV_COLUMNS
from provenance.catalog.store import Catalog
from provenance.signing.policy import TrustPolicy
from tests.provenance.catalog.conftest import add_signed as add
from tests.provenance.catalog.conftest import catalog, catalog_url, postgres_admin  # noqa: F401

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(
    catalog_url: str,  # noqa: F811
    ring: KeyRing,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    """``run(*argv) -> (exit code, stdout, stderr)`` over the test's catalog and key ring."""

    def open_catalog(args: argparse.Namespace) -> Catalog:
        return Catalog.open(catalog_url)

    def policy_for(args: argparse.Namespace) -> TrustPolicy:
        if args.key:
            return TrustedKeys(PublicKey.from_pem(Path(p).read_bytes()) for p in args.key)
        return KeyRingPolicy(ring)

    parser = argparse.ArgumentParser(prog="aigc-prov")
    parser.add_argument("--home", type=Path, default=tmp_path / "home")
    register(parser.add_subparsers(dest="command", required=True), open_catalog, policy_for)

    def run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args(argv)
        try:
            code = int(args.func(args))
        except ProvenanceError as exc:
            print(f"error: {exc.diagnostics()}", file=sys.stderr)
            code = 2
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def filled(catalog: Catalog, key: SigningKey) -> list[str]:  # noqa: F811
    """Five records: three 高清照片 prompts (one template twice), an anime one, an SDXL one."""
    made = [
        add(catalog, key, "一只橘猫，高清照片", 0, steps=8, seconds=1.5, size=(1024, 1024)),
        add(catalog, key, "一只橘猫, 高清照片", 1, steps=10, seconds=2.5, size=(1024, 1024)),
        add(catalog, key, "雪山日出 高清照片 8k", 2, steps=9, created_at="2026-01-02T03:04:05Z"),
        add(catalog, key, "Anime girl, cel-shaded", 3, steps=8),
        add(catalog, key, "A lighthouse, cinematic", 4, steps=30, cfg=7.5, model="SDXL"),
    ]
    return [s.record_id for s in made]


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_end(line: str, cell: str) -> int:
    """The display column where ``cell`` ends in ``line``."""
    return width(line[: line.index(cell) + len(cell)])


def column_start(line: str, cell: str) -> int:
    """The display column where ``cell`` starts in ``line``."""
    return width(line[: line.index(cell)])


def test_kb_styles_prompts_params(cli: Run, filled: list[str], tmp_path: Path) -> None:
    code, out, _ = cli("kb", "styles", "--json")
    styles = {s["style"]: s for s in json.loads(out)}
    assert code == 0
    assert styles["photo"]["count"] == 3 and styles["photo"]["keywords"]["高清照片"] == 3
    assert styles["anime"]["count"] == 1 and styles["cel-shading"]["count"] == 1
    assert styles["photo"]["total"] == 5
    vocabulary = tmp_path / "home" / "styles.toml"
    vocabulary.parent.mkdir()
    vocabulary.write_text('[styles]\n"日出风景" = ["日出", "sunrise"]\n', "utf-8")
    code, out, _ = cli("kb", "styles")  # the data folder's styles.toml is read by default
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["STYLE", "PROMPTS", "SHARE", "KEYWORDS"]
    assert lines[1].split()[:3] == ["photo", "3", "60.0%"] and "高清照片 3" in lines[1]
    sunrise = next(line for line in lines if line.startswith("日出风景"))
    assert sunrise.split()[1:4] == ["1", "20.0%", "日出"]
    # the count and share columns line up in display columns, Chinese style names included
    ends = {column_end(line, line.split()[2]) for line in lines[:-1]}
    assert len(ends) == 1
    assert lines[-1] == "5 prompts"
    other = tmp_path / "other.toml"
    other.write_text('[styles]\nphoto = ["lighthouse"]\n', "utf-8")
    code, out, _ = cli("kb", "styles", "--vocabulary", str(other), "--json")
    assert {s["style"]: s["count"] for s in json.loads(out)}["photo"] == 4
    code, _, err = cli("kb", "styles", "--vocabulary", str(tmp_path / "absent.toml"))
    assert code == 2 and "cannot read vocabulary file" in err

    # kb prompts
    code, out, _ = cli("kb", "prompts", "--json")
    templates = json.loads(out)
    assert code == 0 and len(templates) == 4
    top = templates[0]
    assert (top["template"], top["count"], top["median_steps"]) == ("一只橘猫, 高清照片", 2, 9)
    assert (top["width"], top["height"], top["model"]) == (1024, 1024, "Z-Image-Turbo")
    code, out, _ = cli("kb", "prompts", "--limit", "2")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[0].split() == ["COUNT", "BEST", "STEPS", "CFG", "SIZE", "MODEL", "TEMPLATE"]
    assert lines[1].split() == [
        "2",
        "-",
        "9",
        "0",
        "1024x1024",
        "Z-Image-Turbo",
        "一只橘猫,",
        "高清照片",
    ]
    assert len({column_start(line, line.split()[6]) for line in lines}) == 1  # TEMPLATE

    # kb params
    code, out, _ = cli("kb", "params", "--json")
    stats = json.loads(out)
    assert code == 0 and [(m["model"], m["count"]) for m in stats] == [
        ("Z-Image-Turbo", 4),
        ("SDXL", 1),
    ]
    turbo = stats[0]
    assert turbo["steps"]["median"] == 8.5 and turbo["steps"]["p90"] == 10
    assert turbo["generation_time"]["count"] == 2 and turbo["generation_time"]["median"] == 2.0
    code, out, _ = cli("kb", "params", "--model", "SDXL")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "SDXL  (1 record)"
    assert lines[2].split() == ["steps", "1", "30", "30", "30", "30", "30", "(1)"]
    assert lines[4].split()[:2] == ["time", "0"]
    code, out, _ = cli("kb", "params", "--model", "absent")
    assert code == 0 and out == "no records of model absent\n"


def test_history_and_rate(cli: Run, filled: list[str]) -> None:
    code, out, _ = cli("history", "--last", "2", "--json")
    items = json.loads(out)
    assert code == 0 and len(items) == 2
    assert items[0]["record_id"] == filled[4]  # made last, so newest
    assert all(item["record_id"] != filled[2] for item in items)  # dated 2026-01-02
    code, out, _ = cli("history")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 6
    assert lines[0].split()[:3] == ["CREATED", "(UTC)", "RECORD"]
    assert lines[-1].startswith("2026-01-02 03:04:05") and lines[-1].endswith(
        "雪山日出 高清照片 8k"
    )
    models = [column_start(lines[0], "MODEL")]
    models += [
        column_start(line, "Z-Image-Turbo" if "Z-Image" in line else "SDXL") for line in lines[1:]
    ]
    assert len(set(models)) == 1  # the prompt heads hold Chinese: columns still line up

    code, out, _ = cli("rate", filled[0], "5", "--json")
    assert code == 0 and json.loads(out) == {"record_id": filled[0], "rating": 5}
    code, out, _ = cli("rate", filled[1], "3")
    assert code == 0 and out == f"rated {filled[1]} 3/5\n"
    code, out, _ = cli("kb", "prompts", "--json")
    assert json.loads(out)[0]["best_rating"] == 5
    code, _, err = cli("rate", "00000000-0000-7000-8000-000000000000", "4")
    assert code == 2 and "no record 00000000-0000-7000-8000-000000000000" in err
    with pytest.raises(SystemExit) as exc:
        cli("rate", filled[0], "6")
    assert exc.value.code == 2


def test_export(cli: Run, filled: list[str], tmp_path: Path) -> None:
    code, out, err = cli("export", "--format", "jsonl")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and err == ""
    assert [line["record_id"] for line in lines] == filled
    assert all(line["verification"]["signature"] == "valid" for line in lines)
    assert lines[0]["record"]["generation"]["prompt"] == "一只橘猫，高清照片"

    code, out, _ = cli("export", "--format", "csv", "--model", "Z-Image-Turbo", "--steps-max", "9")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0 and tuple(rows[0]) == CSV_COLUMNS and len(rows) == 4
    assert {r[0] for r in rows[1:]} == {filled[0], filled[2], filled[3]}

    target = tmp_path / "audit" / "export.jsonl"
    target.parent.mkdir()
    code, out, err = cli("export", "--format", "jsonl", "--out", str(target), "--text", "高清")
    assert code == 0 and out == ""
    assert err.strip() == f"exported 3 records to {target}"
    assert len(target.read_text("utf-8").splitlines()) == 3
    assert list(target.parent.iterdir()) == [target]  # no partial file left behind

    code, _, err = cli("export", "--format", "csv", "--out", str(tmp_path / "absent" / "x.csv"))
    assert code == 2 and "cannot write" in err

    # dates, and signers judged by explicit public keys
    code, out, _ = cli("export", "--format", "jsonl", "--until", "2026-01-02")
    assert code == 0 and [json.loads(line)["record_id"] for line in out.splitlines()] == [
        filled[2]
    ]  # a bare --until date includes that whole day
    code, out, _ = cli("export", "--format", "jsonl", "--since", "2026-01-03")
    assert len(out.splitlines()) == 4
    other = KeyRing.open(tmp_path / "other")
    other.init()
    pem = tmp_path / "other.pem"
    pem.write_bytes(other.signing_key().public.to_pem())
    code, out, _ = cli("export", "--format", "jsonl", "--key", str(pem), "--model", "SDXL")
    state = json.loads(out)["verification"]
    assert code == 0 and state["signer_status"] == "unknown" and state["trusted"] is False
    with pytest.raises(SystemExit):
        cli("export", "--format", "xml")
    with pytest.raises(SystemExit):
        cli("export", "--format", "csv", "--since", "yesterday")


def test_empty_catalog(cli: Run, catalog: Catalog) -> None:  # noqa: F811
    assert cli("kb", "styles")[1] == "no prompts in the catalog yet\n"
    assert cli("kb", "prompts")[1] == "no prompts in the catalog yet\n"
    assert cli("kb", "params")[1] == "no records in the catalog yet\n"
    assert cli("history")[1] == "no generations in the catalog yet\n"
    assert cli("history", "--json")[1] == "[]\n"
    assert cli("export", "--format", "csv")[1] == ",".join(CSV_COLUMNS) + "\n"

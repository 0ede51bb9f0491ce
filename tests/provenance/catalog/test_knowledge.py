"""The prompt knowledge base and the audit export, on SQLite and PostgreSQL.

Records are made by the real signing path (``sign_image``) and catalogued with ``add_record``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update

from provenance import KeyRing, KeyRingPolicy, SigningKey, TrustedKeys
from provenance.catalog.knowledge import (
    CSV_COLUMNS,
    DEFAULT_VOCABULARY,
    count_matching,
    export_records,
    history,
    load_vocabulary,
    normalise_prompt,
    parameter_stats,
    prompt_templates,
    style_frequencies,
)
from provenance.catalog.store import Catalog, SearchQuery, records
from provenance.errors import CatalogError
from tests.provenance.catalog.conftest import add_signed as add


def by_style(counts: list[Any]) -> dict[str, Any]:
    return {c.style: c for c in counts}


# --- styles -------------------------------------------------------------------------------------


def test_style_frequencies_count_prompts_per_style_and_keyword(
    catalog: Catalog, key: SigningKey
) -> None:
    prompts = [
        "一只橘猫坐在窗台上，高清照片",
        "高清照片，城市夜景，电影质感",
        "雪山日出 高清照片 8k",
        "A Photo of a lighthouse, photorealistic",
        "油画风格的向日葵",
        "Anime girl, cel-shaded, WATERCOLOUR background",
        "动漫风格 少女 赛璐璐",
        "street photography at dusk, telephoto lens",  # neither "photo" nor photo-style
    ]
    for i, prompt in enumerate(prompts):
        add(catalog, key, prompt, i)
    counts = style_frequencies(catalog)
    styles = by_style(counts)
    assert set(styles) == set(DEFAULT_VOCABULARY)
    assert all(c.total == 8 for c in counts)
    photo = styles["photo"]
    assert photo.count == 4 and dict(photo.keywords)["高清照片"] == 3
    assert dict(photo.keywords)["photo"] == 1 and dict(photo.keywords)["photorealistic"] == 1
    assert styles["anime"].count == 2
    assert dict(styles["anime"].keywords) == {"动漫风格": 1, "动漫": 1, "二次元": 0, "anime": 1}
    assert styles["cel-shading"].count == 2
    assert styles["watercolor"].count == 1
    assert styles["oil-painting"].count == 1
    assert styles["cinematic"].count == 1
    assert styles["photography"].count == 1
    assert counts[0].style == "photo"  # most used first
    assert [c.count for c in counts] == sorted((c.count for c in counts), reverse=True)
    assert photo.to_dict()["share"] == 0.5
    # filters narrow the prompts looked at; a text query finds Chinese substrings
    assert by_style(style_frequencies(catalog, SearchQuery(text="窗台")))["photo"].count == 1
    assert style_frequencies(catalog, SearchQuery(model="other"))[0].total == 0


def test_vocabulary_file_extends_the_default(
    catalog: Catalog, key: SigningKey, tmp_path: Path
) -> None:
    add(catalog, key, "赛博朋克城市，霓虹灯", 0)
    add(catalog, key, "a snapshot of a cyberpunk alley", 1)
    add(catalog, key, "高清照片 of a cat", 2)
    path = tmp_path / "styles.toml"
    path.write_text(
        '[styles]\nphoto = ["snapshot"]\n"赛博朋克" = ["赛博朋克", "cyberpunk"]\n', "utf-8"
    )
    vocabulary = load_vocabulary(path)
    assert vocabulary["photo"][: len(DEFAULT_VOCABULARY["photo"])] == DEFAULT_VOCABULARY["photo"]
    assert vocabulary["photo"][-1] == "snapshot"
    styles = by_style(style_frequencies(catalog, vocabulary=vocabulary))
    assert styles["赛博朋克"].count == 2
    assert styles["photo"].count == 2
    assert dict(styles["photo"].keywords)["snapshot"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[styles\n", "not valid TOML"),
        ("styles = 3\n", "must be a table"),
        ("[styles]\nphoto = [1, 2]\n", "list of non-empty strings"),
        ('[styles]\nphoto = [""]\n', "list of non-empty strings"),
    ],
)
def test_bad_vocabulary_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "styles.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(CatalogError, match=message):
        load_vocabulary(path)


def test_missing_vocabulary_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read vocabulary file"):
        load_vocabulary(tmp_path / "absent.toml")
    (tmp_path / "other.toml").write_text("[server]\nport = 1\n", "utf-8")
    assert load_vocabulary(tmp_path / "other.toml") == dict(DEFAULT_VOCABULARY)


# --- prompt templates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "template"),
    [
        ("A cat, 8K", "a cat, #k"),
        ("a cat,  8k", "a cat, #k"),
        ("  A cat，8k。", "a cat, #k"),
        ("Ａ　ＣＡＴ ; 8k!", "a cat, #k"),
        ("一只橘猫，高清照片，1024x768", "一只橘猫, 高清照片, #x#"),
        ("cfg 7.5 — “quoted”", 'cfg # - "quoted"'),
        ("...", ""),
    ],
)
def test_normalise_prompt(prompt: str, template: str) -> None:
    assert normalise_prompt(prompt) == template


def test_prompt_templates_group_count_and_typical_parameters(
    catalog: Catalog, key: SigningKey
) -> None:
    cat_a = add(catalog, key, "A cat, 8K", 0, steps=8, cfg=1.0, size=(1024, 1024))
    add(catalog, key, "a cat,  8k", 1, steps=10, cfg=2.0, size=(1024, 1024), model="SDXL")
    add(catalog, key, "A cat，4k。", 2, steps=30, cfg=4.0, size=(768, 768))
    add(catalog, key, "A cat, 8K", 3, steps=9, cfg=3.0, size=(1024, 1024))
    add(catalog, key, "一只橘猫", 4)
    add(catalog, key, "一只橘猫", 5)
    add(catalog, key, "a dog", 6)
    catalog.rate(cat_a.record_id, 4)
    templates = prompt_templates(catalog)
    assert [(t.template, t.count) for t in templates] == [
        ("a cat, #k", 4),
        ("一只橘猫", 2),
        ("a dog", 1),
    ]
    cat = templates[0]
    assert cat.example == "A cat, 8K"  # the exact prompt used most often
    assert cat.best_rating == 4
    assert cat.median_steps == 9.5  # 8, 9, 10, 30
    assert cat.median_cfg_scale == 2.5
    assert (cat.width, cat.height) == (1024, 1024)
    assert cat.model == "Z-Image-Turbo"
    assert templates[1].best_rating is None and templates[1].median_steps == 8
    assert cat.to_dict()["template"] == "a cat, #k"
    assert [t.template for t in prompt_templates(catalog, limit=1)] == ["a cat, #k"]
    assert [t.count for t in prompt_templates(catalog, SearchQuery(model="SDXL"))] == [1]

    # a first pass that keeps only 3 templates still finds one used 6 times in 9, counted exactly
    for i in range(6):
        add(catalog, key, f"portrait number {i}, studio light", 10 + i, model="M2")
    for i, prompt in enumerate(["a", "b", "c"]):
        add(catalog, key, f"unique {prompt}", 20 + i, model="M2")
    sketched = prompt_templates(catalog, SearchQuery(model="M2"), limit=1, capacity=3)
    assert [(t.template, t.count) for t in sketched] == [("portrait number #, studio light", 6)]


# --- parameter statistics -----------------------------------------------------------------------


def test_parameter_stats_per_model(catalog: Catalog, key: SigningKey) -> None:
    add(catalog, key, "a", 0, steps=8, cfg=0.0, seconds=1.5, size=(1024, 1024))
    add(catalog, key, "b", 1, steps=8, cfg=0.0, seconds=2.5, size=(1024, 1024))
    add(catalog, key, "c", 2, steps=9, cfg=1.0, seconds=3.0, size=(1024, 1024))
    add(catalog, key, "d", 3, steps=20, cfg=None, seconds=None, size=(768, 1344))
    add(catalog, key, "e", 4, model="SDXL", steps=30, cfg=7.5, seconds=12.25)
    stats = parameter_stats(catalog)
    assert [(m.model, m.count) for m in stats] == [("Z-Image-Turbo", 4), ("SDXL", 1)]
    turbo = stats[0]
    assert (turbo.steps.count, turbo.steps.min, turbo.steps.max) == (4, 8, 20)
    assert turbo.steps.median == 8.5 and turbo.steps.p90 == 20
    assert list(turbo.steps.common) == [(8, 2), (9, 1), (20, 1)]
    assert (turbo.cfg_scale.count, turbo.cfg_scale.median, turbo.cfg_scale.p90) == (3, 0.0, 1.0)
    assert turbo.generation_time.count == 3
    assert turbo.generation_time.median == 2.5
    assert (turbo.generation_time.min, turbo.generation_time.max) == (1.5, 3.0)
    assert [(s.width, s.height, s.count) for s in turbo.sizes] == [(1024, 1024, 3), (768, 1344, 1)]
    only = parameter_stats(catalog, model="SDXL")
    assert len(only) == 1 and only[0].generation_time.median == 12.2  # counted at 3 digits
    assert only[0].generation_time.max == 12.25  # extremes are exact
    assert only[0].to_dict()["steps"]["common"] == [{"value": 30, "count": 1}]
    assert parameter_stats(catalog, model="absent") == []


# --- history ------------------------------------------------------------------------------------


def test_history_newest_first(catalog: Catalog, key: SigningKey) -> None:
    long_prompt = "一只橘猫坐在窗台上，" + "sunlight  through\nthe window " * 5
    add(catalog, key, "first", 0, created_at="2026-01-01T10:00:00Z")
    add(catalog, key, long_prompt, 1, created_at="2026-03-01T10:00:00Z", seconds=1.25)
    third = add(catalog, key, "second", 2, created_at="2026-02-01T10:00:00Z", cfg=3.5)
    items = history(catalog, last=2)
    assert [i.prompt_head[:6] for i in items] == ["一只橘猫坐在", "second"]
    newest = items[0]
    assert newest.created_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert len(newest.prompt_head) == 60 and "\n" not in newest.prompt_head
    assert "  " not in newest.prompt_head
    assert (newest.steps, newest.generation_time, newest.model) == (8, 1.25, "Z-Image-Turbo")
    assert items[1].record_id == third.record_id and items[1].cfg_scale == 3.5
    assert items[1].to_dict()["created_at"] == "2026-02-01T10:00:00Z"
    assert len(history(catalog)) == 3


# --- export -------------------------------------------------------------------------------------


def export(catalog: Catalog, policy: Any, fmt: str = "jsonl", **filters: Any) -> tuple[int, str]:
    out = io.StringIO()
    count = export_records(catalog, SearchQuery(**filters), fmt, out, policy)  # type: ignore[arg-type]
    return count, out.getvalue()


def test_export_jsonl_has_records_tags_ratings_and_verification(
    catalog: Catalog, key: SigningKey, policy: KeyRingPolicy
) -> None:
    made = [add(catalog, key, f"一只橘猫 number {i}", i, steps=8 + i) for i in range(5)]
    catalog.rate(made[1].record_id, 5)
    catalog.add_tags(made[1].record_id, ["cats", "橘猫"])
    catalog.log_verification(
        input_digest="0" * 64,
        input_name="a.png",
        origin="cli",
        status="tampered",
        record_id=made[1].record_id,
        signer_key_id=key.key_id,
        findings=[],
    )
    catalog.log_verification(
        input_digest="0" * 64,
        input_name="a.png",
        origin="api",
        status="verified",
        record_id=made[1].record_id,
        signer_key_id=key.key_id,
        findings=[],
    )
    count, text = export(catalog, policy)
    lines = [json.loads(line) for line in text.splitlines()]
    assert count == 5 and len(lines) == 5
    assert [line["record_id"] for line in lines] == [s.record_id for s in made]  # oldest first
    assert [line["record"] for line in lines] == [s.record for s in made]
    second = lines[1]
    assert second["rating"] == 5 and second["tags"] == ["cats", "橘猫"]
    assert second["file_path"] is None
    verification = second["verification"]
    assert verification["signature"] == "valid" and verification["signer_status"] == "active"
    assert verification["trusted"] is True and verification["problem"] is None
    assert verification["signer_key_id"] == key.key_id
    assert verification["last_check"]["status"] == "verified"
    assert verification["last_check"]["origin"] == "api"
    assert lines[0]["verification"]["last_check"] is None and lines[0]["tags"] == []
    # the search filters apply
    assert export(catalog, policy, steps_min=10)[0] == 3
    assert export(catalog, policy, rating_min=5)[0] == 1
    assert export(catalog, policy, tag="橘猫")[0] == 1
    assert export(catalog, policy, text="橘猫")[0] == 5
    assert export(catalog, policy, text="狗")[0] == 0
    assert export(catalog, policy, text="!!!") == (0, "")
    assert count_matching(catalog, SearchQuery(steps_min=10)) == 3

    # constant memory: records are read in pages of `batch` by id, never the whole table
    pages: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM records" in statement and "LIMIT" in statement and "record_bytes" in statement:
            pages.append(statement)

    event.listen(catalog.engine, "before_cursor_execute", seen)
    written: list[int] = []
    out = io.StringIO()
    count = export_records(
        catalog, SearchQuery(), "jsonl", out, policy, batch=2, progress=written.append
    )
    event.remove(catalog.engine, "before_cursor_execute", seen)
    assert count == 5 and written == [2, 2, 1]
    assert len(pages) == 3  # 2 + 2 + 1 rows
    assert out.getvalue() == text


def test_export_csv(catalog: Catalog, key: SigningKey, policy: KeyRingPolicy) -> None:
    made = [add(catalog, key, f"水彩画, scene {i}", i, cfg=1.5, seconds=2.0) for i in range(3)]
    catalog.add_tags(made[0].record_id, ["a", "b"])
    count, text = export(catalog, policy, "csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert count == 3 and len(rows) == 4
    assert tuple(rows[0]) == CSV_COLUMNS
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert first["record_id"] == made[0].record_id
    assert first["prompt"] == "水彩画, scene 0"
    assert first["tags"] == "a;b" and first["rating"] == ""
    assert first["cfg_scale"] == "1.5" and first["generation_time"] == "2.0"
    assert first["created_at"] == made[0].record["created_at"]
    assert (first["signature"], first["signer_status"], first["trusted"]) == (
        "valid",
        "active",
        "true",
    )
    empty = export(catalog, policy, "csv", model="absent")
    assert empty == (0, ",".join(CSV_COLUMNS) + "\n")
    with pytest.raises(CatalogError, match="unknown export format"):
        export(catalog, policy, "xml")


def test_export_reports_tampered_envelopes_and_records(
    catalog: Catalog, key: SigningKey, policy: KeyRingPolicy
) -> None:
    made = [add(catalog, key, f"prompt {i}", i) for i in range(3)]
    envelope = made[0].envelope.to_dict()
    sig = bytearray(made[0].envelope.signatures[0].sig)
    sig[0] ^= 1
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    changed = made[1].record_bytes.replace(b"prompt 1", b"prompt X")
    with catalog.engine.begin() as conn:
        conn.execute(
            update(records)
            .where(records.c.record_id == made[0].record_id)
            .values(envelope=json.dumps(envelope))
        )
        conn.execute(
            update(records)
            .where(records.c.record_id == made[1].record_id)
            .values(record_bytes=changed)
        )
    lines = [json.loads(line) for line in export(catalog, policy)[1].splitlines()]
    states = [line["verification"] for line in lines]
    assert [s["signature"] for s in states] == ["invalid", "invalid", "valid"]
    assert states[0]["problem"] == "the stored signature does not verify"
    assert states[1]["problem"] == "the stored record bytes differ from the signed payload"
    assert not states[0]["trusted"] and not states[1]["trusted"] and states[2]["trusted"]
    assert lines[1]["record"]["generation"]["prompt"] == "prompt X"  # what the row holds
    with catalog.engine.begin() as conn:
        conn.execute(
            update(records)
            .where(records.c.record_id == made[2].record_id)
            .values(envelope="{not json")
        )
    state = json.loads(export(catalog, policy)[1].splitlines()[2])["verification"]
    assert state["signature"] == "invalid" and "unusable" in state["problem"]
    assert state["signer_status"] == "unknown"


def test_export_signer_status_unknown_active_revoked(
    catalog: Catalog, key: SigningKey, ring: KeyRing, tmp_path: Path
) -> None:
    add(catalog, key, "prompt", 0)
    other = KeyRing.open(tmp_path / "other")
    other.init()
    state = json.loads(export(catalog, KeyRingPolicy(other))[1])["verification"]
    assert state["signature"] == "valid"
    assert (state["signer_status"], state["trusted"]) == ("unknown", False)
    explicit = TrustedKeys([key.public])
    status = json.loads(export(catalog, explicit)[1])["verification"]
    assert (status["signer_status"], status["trusted"]) == ("active", True)
    ring.revoke(key.key_id, reason="test")
    catalog.sync_keys(ring.entries())
    for policy in (KeyRingPolicy(ring), explicit):  # the catalog's key table knows it too
        state = json.loads(export(catalog, policy)[1])["verification"]
        assert state["signature"] == "valid"
        assert (state["signer_status"], state["trusted"]) == ("revoked", False)
        assert state["revoked_at"] == ring.get(key.key_id).revoked_at  # type: ignore[union-attr]
    stranger = json.loads(export(catalog, TrustedKeys([other.signing_key().public]))[1])
    assert stranger["verification"]["signer_status"] == "revoked"  # still revoked in the catalog

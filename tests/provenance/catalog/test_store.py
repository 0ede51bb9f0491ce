"""The catalog store on SQLite and PostgreSQL: search, filters, cursors, look-ups, keys, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from provenance import KeyRing, SigningKey, sign_image
from provenance.catalog.store import (
    Catalog,
    SearchQuery,
    decode_cursor,
    encode_cursor,
)
from provenance.errors import CatalogError
from tests.conftest import attestation, sample_image

PROMPTS = [
    ("一只橘猫坐在窗台上，高清照片", "Z-Image-Turbo", 8, 0.0, 101),
    ("an orange cat on a windowsill, photo", "Z-Image-Turbo", 8, 0.0, 102),
    ("油画风格的山水，远处有一只猫", "Z-Image", 30, 4.0, 103),
    ("cinematic city at night, rain, neon", "Z-Image", 40, 5.0, 104),
    ("少女的肖像，动漫风格，赛璐璐", "Z-Image", 28, 3.5, 105),
    ("a girl reading under a cherry tree, watercolor", "Z-Image-Turbo", 9, 0.0, 106),
]


def _fill(
    catalog: Catalog, key: SigningKey, rows: list[tuple[str, str, int, float, int]]
) -> list[str]:
    ids = []
    for i, (prompt, model, steps, cfg, seed) in enumerate(rows):
        signed = sign_image(
            sample_image(i, (32, 24)),
            attestation(prompt, model=model, steps=steps, cfg_scale=cfg, seed=seed),
            key,
        )
        assert catalog.add_record(signed.catalog_row())
        ids.append(signed.record_id)
    return ids


def _prompts(catalog: Catalog, **kw: object) -> list[str]:
    return [row.prompt for row in catalog.search(SearchQuery(**kw)).rows]  # type: ignore[arg-type]


@pytest.fixture
def filled(catalog: Catalog) -> Catalog:
    _fill(catalog, SigningKey.generate(), PROMPTS)
    return catalog


def test_two_character_chinese_word_inside_a_long_prompt(filled: Catalog) -> None:
    assert _prompts(filled, text="橘猫") == ["一只橘猫坐在窗台上，高清照片"]
    assert _prompts(filled, text="窗台") == ["一只橘猫坐在窗台上，高清照片"]
    assert _prompts(filled, text="高清照片") == ["一只橘猫坐在窗台上，高清照片"]
    assert _prompts(filled, text="猫") == [
        "油画风格的山水，远处有一只猫",
        "一只橘猫坐在窗台上，高清照片",
    ]
    assert _prompts(filled, text="狗") == []


def test_english_words_case_insensitive(filled: Catalog) -> None:
    assert _prompts(filled, text="Cat") == ["an orange cat on a windowsill, photo"]
    assert _prompts(filled, text="watercolor girl") == [
        "a girl reading under a cherry tree, watercolor"
    ]
    assert _prompts(filled, text="cat dog") == []


def test_filters(filled: Catalog) -> None:
    assert len(_prompts(filled, model="Z-Image")) == 3
    assert _prompts(filled, seed=104) == ["cinematic city at night, rain, neon"]
    assert len(_prompts(filled, steps_min=28, steps_max=30)) == 2
    assert len(_prompts(filled, cfg_min=3.5, cfg_max=4.0)) == 2
    assert len(_prompts(filled, width=32, height=24)) == 6
    assert _prompts(filled, text="猫", model="Z-Image") == ["油画风格的山水，远处有一只猫"]
    now = datetime.now(UTC)
    assert len(_prompts(filled, since=now - timedelta(hours=1))) == 6
    assert _prompts(filled, until=now - timedelta(days=1)) == []


def test_signer_rating_and_tag_filters(catalog: Catalog) -> None:
    mine, theirs = SigningKey.generate(), SigningKey.generate()
    first = _fill(catalog, mine, PROMPTS[:2])
    _fill(catalog, theirs, PROMPTS[2:4])
    assert len(_prompts(catalog, signer=mine.key_id[:10])) == 2
    catalog.rate(first[0], 5)
    catalog.rate(first[1], 2)
    assert _prompts(catalog, rating_min=4) == [PROMPTS[0][0]]
    catalog.add_tags(first[1], ["favourite", "cats"])
    assert _prompts(catalog, tag="cats") == [PROMPTS[1][0]]
    assert catalog.tags_of(first[1]) == ["cats", "favourite"]
    with pytest.raises(CatalogError, match="a rating is a whole number from 1 to 5"):
        catalog.rate(first[0], 6)
    with pytest.raises(CatalogError, match="no record nope in the catalog"):
        catalog.rate("nope", 3)


def test_cursor_pagination_stays_correct_while_rows_are_added(catalog: Catalog) -> None:
    key = SigningKey.generate()
    _fill(catalog, key, [(f"cat picture {i}", "m", 8, 0.0, i) for i in range(7)])
    first = catalog.search(SearchQuery(text="cat", limit=3))
    assert [r.prompt for r in first.rows] == ["cat picture 6", "cat picture 5", "cat picture 4"]
    _fill(catalog, key, [(f"cat picture new {i}", "m", 8, 0.0, 100 + i) for i in range(4)])
    seen = [r.prompt for r in first.rows]
    cursor = first.next_cursor
    while cursor:
        page = catalog.search(SearchQuery(text="cat", limit=3, cursor=cursor))
        seen += [r.prompt for r in page.rows]
        cursor = page.next_cursor
    assert seen == [f"cat picture {i}" for i in range(6, -1, -1)]  # no repeats, no gaps


def test_bad_cursor_is_refused() -> None:
    assert decode_cursor(encode_cursor(42)) == 42
    with pytest.raises(CatalogError, match="the cursor is not one this catalog returned"):
        decode_cursor("garbage!!")


def test_pending_rows_are_invisible_until_complete(catalog: Catalog) -> None:
    key = SigningKey.generate()
    signed = sign_image(sample_image(), attestation("pending cat"), key)
    values = signed.catalog_row(file_path="/nowhere.png", state="pending")
    catalog.begin_record(values)
    assert catalog.get(signed.record_id) is None
    assert _prompts(catalog, text="cat") == []
    assert [r.record_id for r in catalog.pending()] == [signed.record_id]
    with pytest.raises(CatalogError, match="is already in the catalog"):
        catalog.begin_record(values)
    catalog.complete_record(signed.record_id, "ab" * 32)
    assert catalog.get(signed.record_id) is not None
    assert _prompts(catalog, text="cat") == ["pending cat"]


def test_lookups_by_pixel_digest_and_perceptual_hash(catalog: Catalog) -> None:
    key = SigningKey.generate()
    ids = _fill(catalog, key, PROMPTS[:3])
    row = catalog.get(ids[1])
    assert row is not None
    assert [r.record_id for r in catalog.by_pixel_digest(row.pixel_digest)] == [ids[1]]
    near = catalog.by_phash(row.phash)
    assert near[0][0].record_id == ids[1] and near[0][1] == 0
    flipped = f"{int(row.phash, 16) ^ 0b101:016x}"  # two bits away
    assert next((r.record_id, d) for r, d in catalog.by_phash(flipped)) == (ids[1], 2)
    far = f"{int(row.phash, 16) ^ 0xFFFFFFFF00000000:016x}"
    assert all(r.record_id != ids[1] for r, _ in catalog.by_phash(far))


def test_keys_and_audit_log_are_stored(catalog: Catalog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from provenance.catalog.store import keys, verifications

    ring = KeyRing.open(tmp_path / "ring")
    entry = ring.init()
    catalog.sync_keys(ring.entries())
    ring.revoke(entry.key_id, reason="lost")
    catalog.sync_keys(ring.entries())
    catalog.log_verification(
        input_digest="0" * 64,
        input_name="x.png",
        origin="test",
        status="verified",
        record_id=None,
        signer_key_id=entry.key_id,
        findings=[{"code": "bytes_match", "message": "ok"}],
    )
    with catalog.engine.connect() as conn:
        key_row = conn.execute(select(keys)).one()
        audit = conn.execute(select(verifications)).one()
    assert (
        key_row.status == "revoked" and key_row.revoked_at and key_row.revocation_reason == "lost"
    )
    assert audit.status == "verified" and audit.input_name == "x.png"


def test_same_results_on_every_engine(catalog: Catalog) -> None:
    """Expected lists are fixed, so both parametrizations must produce exactly these."""
    _fill(catalog, SigningKey.generate(), PROMPTS)
    expected = {
        "照片": ["一只橘猫坐在窗台上，高清照片"],
        "风格": ["少女的肖像，动漫风格，赛璐璐", "油画风格的山水，远处有一只猫"],
        "a": [
            "a girl reading under a cherry tree, watercolor",
            "an orange cat on a windowsill, photo",
        ],
        "rain neon": ["cinematic city at night, rain, neon"],
    }
    for text, prompts in expected.items():
        assert _prompts(catalog, text=text) == prompts, text


def test_sync_never_undoes_a_revocation(catalog: Catalog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from provenance.catalog.store import keys

    ring = KeyRing.open(tmp_path / "ring")
    entry = ring.init()
    stale_copy = KeyRing.open(tmp_path / "ring")  # still sees the key active
    ring.revoke(entry.key_id)
    catalog.sync_keys(ring.entries())
    catalog.sync_keys(stale_copy.entries())
    with catalog.engine.connect() as conn:
        assert conn.execute(select(keys.c.status)).scalar_one() == "revoked"


def test_tags_that_are_equal_once_cut_are_one_tag(catalog: Catalog) -> None:
    (record_id,) = _fill(catalog, SigningKey.generate(), PROMPTS[:1])
    catalog.add_tags(record_id, ["x" * 130 + "a", "x" * 130 + "b", " cats "])
    assert catalog.tags_of(record_id) == ["cats", "x" * 128]


def test_time_windows_when_creation_times_are_out_of_insertion_order(catalog: Catalog) -> None:
    key = SigningKey.generate()
    times = [
        "2026-03-01T10:00:00Z",
        "2025-12-24T08:00:00Z",
        "2026-06-30T23:59:59Z",
        "2026-01-15T00:00:00Z",
        "2025-11-02T12:00:00Z",
    ]
    for i, when in enumerate(times):
        draft = {**attestation(f"cat {i}"), "created_at": when}
        signed = sign_image(sample_image(i, (16, 16)), draft, key)
        catalog.add_record(signed.catalog_row())
    since, until = datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)
    assert _prompts(catalog, since=since, until=until) == ["cat 3", "cat 1", "cat 0"]
    assert _prompts(catalog, text="cat", since=since, until=until, limit=2) == ["cat 3", "cat 1"]
    assert _prompts(catalog, until=datetime(2025, 11, 30, tzinfo=UTC)) == ["cat 4"]
    assert _prompts(catalog, since=datetime(2027, 1, 1, tzinfo=UTC)) == []


def test_relevance_ranking_is_deterministic_and_pages_stay_correct(catalog: Catalog) -> None:
    key = SigningKey.generate()
    rows = [
        ("cat", "m", 8, 0.0, 1),  # every token is the query: score 1
        ("a cat on a mat with a hat", "m", 8, 0.0, 2),  # 1 of 7
        ("cat cat dog", "m", 8, 0.0, 3),  # 2 of 3
        ("dog", "m", 8, 0.0, 4),  # no match
        ("cat dog", "m", 8, 0.0, 5),  # 1 of 2
    ]
    _fill(catalog, key, rows)
    ranked = _prompts(catalog, text="cat", sort="relevance")
    assert ranked == ["cat", "cat cat dog", "cat dog", "a cat on a mat with a hat"]
    first = catalog.search(SearchQuery(text="cat", sort="relevance", limit=2))
    assert [r.prompt for r in first.rows] == ranked[:2]
    _fill(catalog, key, [("cat cat", "m", 8, 0.0, 6)])  # added while paging: ranks first
    rest = catalog.search(
        SearchQuery(text="cat", sort="relevance", limit=2, cursor=first.next_cursor)
    )
    assert [r.prompt for r in rest.rows] == ranked[2:]
    assert rest.next_cursor is None
    with pytest.raises(CatalogError, match="unknown sort 'best'"):
        catalog.search(SearchQuery(text="cat", sort="best"))


def test_pixel_lookups_use_partial_indexes_that_skip_file_bound_imports(
    catalog: Catalog, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Import records bound to file bytes have no pixel digest or bands: the lookups still find
    the records that have them, through indexes that hold only those rows."""
    from PIL import PngImagePlugin
    from sqlalchemy import text

    from provenance.importer import import_files
    from provenance.signing.policy import TrustedKeys

    key = SigningKey.generate()
    ids = _fill(catalog, key, PROMPTS[:2])
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat\nSteps: 20, Seed: 1, Size: 64x48")
    sample_image(seed=9).save(tmp_path / "a.png", pnginfo=info)
    report = import_files(catalog, [tmp_path / "a.png"], key=key, policy=TrustedKeys([key.public]))
    imported = catalog.get(report.imported[0]["record_id"])
    assert imported is not None and imported.pixel_digest is None and imported.phash_0 is None
    row = catalog.get(ids[0])
    assert row is not None
    assert [r.record_id for r in catalog.by_pixel_digest(row.pixel_digest)] == [ids[0]]
    assert catalog.by_phash(row.phash)[0][0].record_id == ids[0]
    with catalog.engine.connect() as conn:
        if catalog.dialect == "sqlite":
            definition = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'ix_records_phash_3'")
            ).scalar()
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    text("EXPLAIN QUERY PLAN SELECT id FROM records WHERE phash_3 = 7")
                )
            )
            assert "ix_records_phash_3" in plan
        else:
            definition = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_records_phash_3'")
            ).scalar()
    assert "phash_3 IS NOT NULL" in str(definition)


def test_bulk_rows_are_stored_exactly_as_single_rows(catalog: Catalog) -> None:
    """``add_records`` (import's bulk insert; on SQLite straight to the driver) stores every
    column as ``add_record`` (SQLAlchemy's insert) does: same values, same stored types, and
    found by search."""
    signed = sign_image(
        sample_image(3, (32, 24)),
        attestation("一只橘猫 in the rain", model="Z-Image", steps=30, cfg_scale=4.5, seed=7),
        SigningKey.generate(),
        created_at="2026-05-01T12:34:56.789012Z",
    )
    row = signed.catalog_row(file_path="/photos/猫.png", file_digest="ab" * 32)
    twin = {**row, "record_id": "00000000-0000-7000-8000-000000000001", "state": "pending"}
    assert catalog.add_record(row)
    catalog.add_records([twin])
    with catalog.engine.connect() as conn:  # the driver's values, no SQLAlchemy conversion
        result = conn.exec_driver_sql("SELECT * FROM records ORDER BY id")
        names = list(result.keys())
        single, bulk = (dict(zip(names, r, strict=True)) for r in result.fetchall())
    for name in names:
        if name in ("id", "record_id"):
            continue
        assert (type(bulk[name]), bulk[name]) == (type(single[name]), single[name]), name
    assert bulk["state"] == "complete" and isinstance(bulk["cfg_scale"], float)
    found = {r.record_id for r in catalog.search(SearchQuery(text="橘猫 rain")).rows}
    assert found == {row["record_id"], twin["record_id"]}

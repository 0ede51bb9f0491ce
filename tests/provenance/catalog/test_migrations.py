"""Migrations: from an empty database and from every earlier revision, with no model drift."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from provenance.catalog.store import (
    Catalog,
    SearchQuery,
    _alembic_config,
    _engine,
    head_revision,
    upgrade_catalog,
)
from provenance.errors import CatalogError


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(_alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_head_revision_is_the_newest_migration_script() -> None:
    script = ScriptDirectory.from_config(_alembic_config())
    assert script.get_current_head() == head_revision()


def test_upgrade_from_empty_then_no_drift(catalog_url: str) -> None:
    before, after = upgrade_catalog(catalog_url)
    assert before is None and after == head_revision()
    engine = _engine(catalog_url)
    try:
        with engine.begin() as conn:
            command.check(_alembic_config(conn))  # raises if models and migrations differ
    finally:
        engine.dispose()
    assert upgrade_catalog(catalog_url) == (head_revision(), head_revision())


def test_upgrade_from_every_earlier_revision(catalog_url: str) -> None:
    revisions = _revisions()
    assert revisions[-1] == head_revision()
    engine = _engine(catalog_url)
    try:
        for start in ["base", *revisions[:-1]]:
            with engine.begin() as conn:
                command.downgrade(_alembic_config(conn), "base")
            if start != "base":
                with engine.begin() as conn:
                    command.upgrade(_alembic_config(conn), start)
            with engine.begin() as conn:
                command.upgrade(_alembic_config(conn), "head")
                command.check(_alembic_config(conn))
    finally:
        engine.dispose()


def test_outdated_catalog_names_the_command_that_upgrades_it(catalog_url: str) -> None:
    older = _revisions()[-2]
    Catalog.open(catalog_url).close()
    engine = _engine(catalog_url)
    try:
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), older)
    finally:
        engine.dispose()
    with pytest.raises(CatalogError, match=f"is at revision {older}, this software needs") as info:
        Catalog.open(catalog_url)
    assert "aigc-prov db upgrade" in info.value.diagnostics()
    assert upgrade_catalog(catalog_url) == (older, head_revision())
    Catalog.open(catalog_url).close()


def test_missing_catalog_is_not_created_when_asked_not_to(catalog_url: str) -> None:
    with pytest.raises(CatalogError, match=r"no catalog at .*; run `aigc-prov db upgrade`"):
        Catalog.open(catalog_url, create=False)


def test_0005_keeps_rows_and_full_text_and_refuses_to_drop_file_bound_imports(
    catalog_url: str,
    make_signed,
    key,
    policy,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """0005 rebuilds ``records`` on SQLite: rows, their full-text index and its triggers must
    survive; going back to 0004 is refused while a row binds its file's bytes alone."""
    from PIL import PngImagePlugin

    from provenance.importer import import_files
    from tests.conftest import sample_image

    with Catalog.open(catalog_url) as catalog:
        catalog.add_record(make_signed(prompt="一只橘猫 before").catalog_row())
    engine = _engine(catalog_url)
    try:
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), "0004")
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
    finally:
        engine.dispose()
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "一只橘猫 imported\nSteps: 20, Seed: 7, Size: 64x64")
    sample_image(size=(64, 64)).save(tmp_path / "a.png", pnginfo=info)
    with Catalog.open(catalog_url) as catalog:
        catalog.add_record(make_signed(prompt="一只橘猫 after", seed=1).catalog_row())
        report = import_files(catalog, [tmp_path / "a.png"], key=key, policy=policy)
        assert len(report.imported) == 1, report.failed
        page = catalog.search(SearchQuery(text="橘猫", limit=10))
        assert sorted(r.prompt for r in page.rows) == [
            "一只橘猫 after",
            "一只橘猫 before",
            "一只橘猫 imported",
        ]
    engine = _engine(catalog_url)
    try:
        with (
            pytest.raises(RuntimeError, match=r"1 import record\(s\) bind their file's bytes"),
            engine.begin() as conn,
        ):
            command.downgrade(_alembic_config(conn), "0004")
    finally:
        engine.dispose()

"""Catalog fixtures: every catalog test runs on SQLite and on PostgreSQL.

* ``catalog_url``: the SQLAlchemy URL of a fresh, empty database, once per engine
  (``[sqlite]``: a file in ``tmp_path``; ``[postgresql]``: a database ``aigc_test_<random>``
  created for the test and dropped after it, whatever the test left connected).
* ``catalog``: that database opened with :meth:`Catalog.open` (which migrates an empty
  database to the newest revision), closed after the test.
* :func:`add_signed`: sign a small image with given facts through the real signing path and
  catalogue it as a complete record.

The PostgreSQL server is ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` (trust auth, as
``scripts/test.sh`` starts it) unless ``AIGC_PROV_TEST_POSTGRES`` names another maintenance
database URL. PostgreSQL cases are skipped, saying why, only when that server cannot be reached,
and fail instead when ``AIGC_PROV_TEST_REQUIRE_POSTGRES=1`` (``scripts/test.sh`` sets it once it
has started the machine's cluster, so that CI never passes with the PostgreSQL half skipped).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from provenance import SignedImage, SigningKey, sign_image
from provenance.catalog.store import Catalog
from tests.conftest import attestation, sample_image

POSTGRES_ADMIN_URL = os.environ.get(
    "AIGC_PROV_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
POSTGRES_REQUIRED = os.environ.get("AIGC_PROV_TEST_REQUIRE_POSTGRES") == "1"
ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine | str]:
    """An AUTOCOMMIT engine on the server's maintenance database, or why there is none."""
    engine = create_engine(
        POSTGRES_ADMIN_URL,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 3},
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        where = make_url(POSTGRES_ADMIN_URL).render_as_string(hide_password=True)
        why = f"PostgreSQL is not reachable at {where}: {str(exc.orig).strip().splitlines()[0]}"
        if POSTGRES_REQUIRED:
            pytest.fail(f"{why} (AIGC_PROV_TEST_REQUIRE_POSTGRES=1)", pytrace=False)
        yield why
        return
    yield engine
    engine.dispose()


@pytest.fixture(params=ENGINES)
def catalog_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin: Engine | str
) -> Iterator[str]:
    """The URL of a fresh, empty database on each engine (not migrated: see ``catalog``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite'}"
        return
    if isinstance(postgres_admin, str):
        pytest.skip(postgres_admin)
    with temporary_database(postgres_admin) as url:
        yield url


@contextmanager
def temporary_database(admin: Engine) -> Iterator[str]:
    """A new, empty PostgreSQL database ``aigc_test_<random>``, dropped afterwards."""
    name = f"aigc_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # end connections a test left open (e.g. an engine it did not dispose) before dropping
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """A migrated, empty catalog on each engine; closed after the test."""
    opened = Catalog.open(catalog_url)
    try:
        yield opened
    finally:
        opened.close()


def add_signed(
    catalog: Catalog,
    key: SigningKey,
    prompt: str,
    n: int = 0,
    *,
    steps: int | None = 8,
    cfg: float | None = 0.0,
    model: str = "Z-Image-Turbo",
    seconds: float | None = None,
    size: tuple[int, int] | None = None,
    created_at: str | None = None,
) -> SignedImage:
    """Sign a small image with these facts and catalogue it as a complete record.

    ``n`` is both the seed and the test image's pattern; ``seconds`` is the generation time,
    ``size`` the (width, height) the record states (default: the 64x48 image's own size).
    """
    facts: dict[str, Any] = {"seed": n, "steps": steps, "cfg_scale": cfg, "model": model}
    if size is not None:
        facts["width"], facts["height"] = size
    draft = attestation(prompt, **facts)
    if seconds is not None:
        draft["performance"] = {"generation_time": seconds, "memory_usage_mb": None}
    signed = sign_image(sample_image(n), draft, key, created_at=created_at)
    assert catalog.add_record(signed.catalog_row())
    return signed

"""Alembic environment for the aigc-provenance catalog.

The database comes, in this order, from a connection handed over by the library
(``config.attributes["connection"]``, as ``aigc-prov db upgrade`` does), from ``sqlalchemy.url``
in the Alembic configuration, or from the project's settings (``AIGC_PROV_CATALOG``, else the
default SQLite catalog under ``AIGC_PROV_HOME``), as the command line resolves it.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from provenance.catalog.models import Base

config = context.config
target_metadata = Base.metadata

#: Made by the migrations for one engine only; not part of the ORM models.
ENGINE_SPECIFIC = ("records_fts", "ix_records_search_", "search_tsv")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name and name.startswith(ENGINE_SPECIFIC))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        include_name=include_name,
        render_as_batch=True,
    )


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from api.settings import catalog_url  # the project's settings, as the CLI reads them

        url = catalog_url()
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
run()

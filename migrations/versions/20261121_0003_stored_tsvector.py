"""PostgreSQL: a stored tsvector column for full-text search (SQLite unchanged)

The GIN index over the expression to_tsvector('simple', search_text) found the matching rows,
but every plan that read rows in id order (newest first, the default) recomputed the tsvector of
each row it checked. A stored generated column is computed once, at insert.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 11:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE records ADD COLUMN search_tsv tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
    )
    op.execute("CREATE INDEX ix_records_search_tsv ON records USING gin (search_tsv)")
    op.execute("DROP INDEX IF EXISTS ix_records_search_text")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_records_search_text ON records "
        "USING gin (to_tsvector('simple', search_text))"
    )
    op.execute("DROP INDEX IF EXISTS ix_records_search_tsv")
    op.execute("ALTER TABLE records DROP COLUMN search_tsv")

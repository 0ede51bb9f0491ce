"""records may leave pixel_digest and phash empty (import records bound to file bytes alone)

Schema version 2 lets an ``import`` record bind the original file by its BLAKE3 digest only, so
that ``aigc-prov import`` need not decode every image. Such rows have no pixel digest and no
perceptual hash: the columns become nullable (NULL bands never match a perceptual look-up).

On SQLite the table is rebuilt (SQLite cannot drop NOT NULL in place); the rebuild drops the
full-text triggers with the old table, so they are made again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHASH_BANDS = 8
_TRIGGERS = (
    "CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN "
    "INSERT INTO records_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN "
    "INSERT INTO records_fts(records_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER records_fts_update AFTER UPDATE OF search_text ON records BEGIN "
    "INSERT INTO records_fts(records_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO records_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
)


def _set_nullable(nullable: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("records", recreate="always" if sqlite else "never") as batch_op:
        batch_op.alter_column("pixel_digest", existing_type=sa.String(length=64), nullable=nullable)
        batch_op.alter_column("phash", existing_type=sa.String(length=16), nullable=nullable)
        for i in range(PHASH_BANDS):
            batch_op.alter_column(f"phash_{i}", existing_type=sa.SmallInteger(), nullable=nullable)
    if sqlite:
        for name in ("records_fts_insert", "records_fts_delete", "records_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in _TRIGGERS:
            op.execute(statement)


def upgrade() -> None:
    _set_nullable(True)


def downgrade() -> None:
    unbound = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM records WHERE pixel_digest IS NULL"))
        .scalar_one()
    )
    if unbound:
        raise RuntimeError(
            f"{unbound} import record(s) bind their file's bytes only (no pixel digest); "
            "revision 0004 cannot hold them: delete them or stay at 0005"
        )
    _set_nullable(False)

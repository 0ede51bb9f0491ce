"""the pixel-digest and perceptual-hash indexes hold only rows that have them (partial indexes)

Import records bound to their file's bytes (revision 0005) leave ``pixel_digest`` and the
``phash_*`` bands empty. Indexing those NULLs cost every import nine index insertions for
nothing; the look-ups (``pixel_digest = ?``, ``phash_i = ?``) imply ``IS NOT NULL`` and use the
partial indexes as they used the full ones.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = [("ix_records_pixel_digest", "pixel_digest")] + [
    (f"ix_records_phash_{i}", f"phash_{i}") for i in range(8)
]


def upgrade() -> None:
    for name, column in _INDEXES:
        op.drop_index(name, table_name="records")
        present = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "records", [column], sqlite_where=present, postgresql_where=present)


def downgrade() -> None:
    for name, column in _INDEXES:
        op.drop_index(name, table_name="records")
        op.create_index(name, "records", [column])

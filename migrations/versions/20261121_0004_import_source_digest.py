"""records remember the file they were imported from (source_digest), indexed

``aigc-prov import`` skips a file whose BLAKE3 digest is already catalogued, so a run can be
repeated or resumed after an interruption without duplicating anything.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 13:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_digest", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_records_source_digest", ["source_digest"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_source_digest")
        batch_op.drop_column("source_digest")

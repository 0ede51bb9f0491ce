"""The catalog's tables (SQLAlchemy 2.0 typed models). Changed only through Alembic migrations.

* ``records``: every signed record, verbatim (the exact signed bytes and the envelope) plus the
  columns people filter on. ``id`` grows with every insert: newest-first order and cursors use it.
  ``state`` is ``pending`` from just before its file is written until the file is complete.
* ``record_tags``: free tags on records.
* ``signing_keys``: the key ring as verifiers saw it (public keys, status, revocation time).
* ``verifications``: the audit log, one row per verification.
* ``schema_meta``: nothing yet; a place for catalog-wide settings.

The full-text index is engine-specific and made by the migrations: an FTS5 table
``records_fts`` kept in step by triggers on SQLite; on PostgreSQL a stored generated column
``search_tsv = to_tsvector('simple', search_text)`` with a GIN index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["PHASH_BANDS", "Base", "KeyRow", "RecordRow", "TagRow", "VerificationRow"]

#: The 64-bit perceptual hash is stored as 8 indexed bytes: two hashes within Hamming distance 7
#: share at least one byte (pigeonhole), so near-duplicate candidates come from index look-ups.
PHASH_BANDS = 8

_BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: an alias of the rowid


def _index_where_present(name: str, column: str) -> Index:
    """An index of the rows where ``column`` is set (partial, on SQLite and PostgreSQL alike):
    import records bound to file bytes leave the pixel columns empty and add nothing to it;
    an equality look-up (``column = ?``) implies the condition, so it still uses the index."""
    present = text(f"{column} IS NOT NULL")
    return Index(name, column, sqlite_where=present, postgresql_where=present)


class Base(DeclarativeBase):
    pass


class RecordRow(Base):
    __tablename__ = "records"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(36), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="complete")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    inserted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    schema_version: Mapped[str] = mapped_column(String(16))
    task: Mapped[str] = mapped_column(String(32))
    model_name: Mapped[str] = mapped_column(String(1024))
    model_variant: Mapped[str | None] = mapped_column(String(1024))
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    steps: Mapped[int | None] = mapped_column(Integer)
    cfg_scale: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sampler: Mapped[str | None] = mapped_column(String(256))
    generation_time: Mapped[float | None] = mapped_column(Float)
    #: None (with ``phash`` and its bands) for an import record bound to the file's bytes alone.
    pixel_digest: Mapped[str | None] = mapped_column(String(64))
    data_digest: Mapped[str] = mapped_column(String(64))
    phash: Mapped[str | None] = mapped_column(String(16))
    phash_0: Mapped[int | None] = mapped_column(SmallInteger)
    phash_1: Mapped[int | None] = mapped_column(SmallInteger)
    phash_2: Mapped[int | None] = mapped_column(SmallInteger)
    phash_3: Mapped[int | None] = mapped_column(SmallInteger)
    phash_4: Mapped[int | None] = mapped_column(SmallInteger)
    phash_5: Mapped[int | None] = mapped_column(SmallInteger)
    phash_6: Mapped[int | None] = mapped_column(SmallInteger)
    phash_7: Mapped[int | None] = mapped_column(SmallInteger)
    signer_key_id: Mapped[str] = mapped_column(String(32))
    parent_record_id: Mapped[str | None] = mapped_column(String(36))
    file_path: Mapped[str | None] = mapped_column(Text)
    file_digest: Mapped[str | None] = mapped_column(String(64))
    #: BLAKE3 of the original file an ``import`` record was made from (``aigc-prov import``).
    source_digest: Mapped[str | None] = mapped_column(String(64))
    record_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    envelope: Mapped[str] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        Index("ix_records_state_id", "state", "id"),
        Index("ix_records_created_at", "created_at"),
        Index("ix_records_model_id", "model_name", "id"),
        Index("ix_records_seed", "seed"),
        Index("ix_records_signer", "signer_key_id"),
        _index_where_present("ix_records_pixel_digest", "pixel_digest"),
        Index("ix_records_parent", "parent_record_id"),
        Index("ix_records_source_digest", "source_digest"),
        *(_index_where_present(f"ix_records_phash_{i}", f"phash_{i}") for i in range(PHASH_BANDS)),
    )


class TagRow(Base):
    __tablename__ = "record_tags"

    record_pk: Mapped[int] = mapped_column(
        _BigId, ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)

    __table_args__ = (Index("ix_record_tags_tag", "tag"),)


class KeyRow(Base):
    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[str] = mapped_column(String(40))
    retired_at: Mapped[str | None] = mapped_column(String(40))
    revoked_at: Mapped[str | None] = mapped_column(String(40))
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(Text)


class VerificationRow(Base):
    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    input_digest: Mapped[str] = mapped_column(String(64))
    input_name: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(36))
    signer_key_id: Mapped[str | None] = mapped_column(String(32))
    findings: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_verifications_checked_at", "checked_at"),
        Index("ix_verifications_record", "record_id", "id"),
    )

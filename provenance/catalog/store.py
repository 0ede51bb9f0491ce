"""The catalog: open, migrate, write records, search, look up by digest or perceptual hash.

SQLite (the default; WAL, busy timeout, write transactions taken with ``BEGIN IMMEDIATE`` so
concurrent writers wait instead of failing) or PostgreSQL (psycopg 3), behind one interface.

Writing a record is two steps around the file write (see :mod:`provenance.finalize`):
``begin_record`` commits a ``pending`` row, the file is written atomically, ``complete_record``
marks the row complete with the file's digest. Searches and look-ups see complete rows only, so a
row never points at a half-written file, and ``fsck`` resolves what a crash left pending.
"""

from __future__ import annotations

import base64
import functools
import heapq
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Row,
    Table,
    and_,
    column,
    create_engine,
    delete,
    event,
    false,
    func,
    insert,
    inspect,
    literal_column,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from provenance.binding import hamming_distance
from provenance.catalog.models import PHASH_BANDS, KeyRow, RecordRow, TagRow, VerificationRow
from provenance.catalog.textsearch import query_tokens, search_text
from provenance.errors import CatalogError
from provenance.signing.keyring import KeyEntry

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD_REVISION",
    "SOFT_MATCH_MAX_DISTANCE",
    "Catalog",
    "SearchPage",
    "SearchQuery",
    "current_revision",
    "head_revision",
    "redact_url",
    "upgrade_catalog",
]

#: Perceptual-hash distance (of 64 bits) under which a file is a ``soft_match`` candidate.
#: Resized and JPEG copies measure 0-4; unrelated images 25-40.
SOFT_MATCH_MAX_DISTANCE = 6
MAX_PAGE = 500

records = cast(Table, RecordRow.__table__)
tags = cast(Table, TagRow.__table__)
keys = cast(Table, KeyRow.__table__)
verifications = cast(Table, VerificationRow.__table__)


#: The newest revision in ``migrations/versions``: a catalog must be at it to be opened. A
#: constant, so that opening a catalog imports no Alembic (a test checks it against the scripts).
HEAD_REVISION = "0006"


def _alembic_config(connection: Connection | None = None) -> Config:
    import sys

    from alembic.config import Config

    # stdout named now: Alembic's default is bound once, when alembic.config is first imported
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(resources.files("migrations")))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision this software needs (:data:`HEAD_REVISION`)."""
    return HEAD_REVISION


def current_revision(conn: Connection) -> str | None:
    """The revision the database behind ``conn`` is at (None: never migrated)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("catalog_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def upgrade_catalog(url: str) -> tuple[str | None, str]:
    """Migrate the catalog at ``url`` to the newest revision; returns (before, after)."""
    engine = _engine(url)
    try:
        from alembic import command

        with engine.connect() as conn:
            before = current_revision(conn)
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
        return before, head_revision()
    except SQLAlchemyError as exc:
        raise CatalogError(f"cannot migrate the catalog: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()


@dataclass(frozen=True)
class SearchQuery:
    """Filters of ``aigc-prov search`` (all optional; combined with AND)."""

    text: str | None = None
    model: str | None = None
    seed: int | None = None
    steps_min: int | None = None
    steps_max: int | None = None
    cfg_min: float | None = None
    cfg_max: float | None = None
    width: int | None = None
    height: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    signer: str | None = None
    rating_min: int | None = None
    tag: str | None = None
    limit: int = 20
    cursor: str | None = None
    #: ``newest`` (insertion order, index-ordered) or ``relevance`` (text queries: the share of
    #: a record's tokens that the query asks for, newest first among equals; reads every match).
    sort: str = "newest"


@dataclass
class SearchPage:
    rows: list[Row[Any]] = field(default_factory=list)
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded))["before"]
    except (ValueError, KeyError, TypeError):
        raise CatalogError("the cursor is not one this catalog returned") from None
    if not isinstance(value, int) or value < 0:
        raise CatalogError("the cursor is not one this catalog returned")
    return value


def encode_relevance_cursor(score: float, last_id: int) -> str:
    raw = json.dumps({"score": score, "before": last_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_relevance_cursor(cursor: str) -> tuple[float, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        doc = json.loads(base64.urlsafe_b64decode(padded))
        score, before = float(doc["score"]), doc["before"]
    except (ValueError, KeyError, TypeError):
        raise CatalogError("the cursor is not one this catalog returned") from None
    if not isinstance(before, int) or before < 0 or not 0.0 <= score <= 1.0:
        raise CatalogError("the cursor is not one this catalog returned")
    return score, before


def relevance(search_text: str, wanted: Sequence[str]) -> float:
    """The share of a record's tokens that the query asks for (0..1), rounded for stable cursors.

    Computed from the stored token string, so every engine ranks alike, and from the record
    alone, so adding records never changes another record's score.
    """
    tokens = search_text.split()
    if not tokens:
        return 0.0
    asked = set(wanted)
    return round(sum(1 for token in tokens if token in asked) / len(tokens), 9)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_time(text_value: str) -> datetime:
    return _utc(datetime.fromisoformat(text_value.replace("Z", "+00:00")))


def phash_bands(phash: str) -> list[int]:
    value = int(phash, 16)
    return [(value >> (8 * (PHASH_BANDS - 1 - i))) & 0xFF for i in range(PHASH_BANDS)]


#: The ``extensions`` key of an import record (see :mod:`provenance.importer`).
IMPORT_EXTENSION = "aigc-provenance.import"


def _source_digest(record: Mapping[str, Any]) -> str | None:
    info = (record.get("extensions") or {}).get(IMPORT_EXTENSION)
    if not isinstance(info, dict):
        return None
    digest = info.get("source_digest")
    value = digest.get("value") if isinstance(digest, dict) else None
    return value if isinstance(value, str) and len(value) == 64 else None


def record_values(
    record: Mapping[str, Any],
    record_bytes: bytes,
    envelope_json: str,
    signer_key_id: str,
    *,
    file_path: str | None,
    state: str,
    file_digest: str | None = None,
) -> dict[str, Any]:
    """The row for one signed record (the filterable columns plus the verbatim bytes)."""
    gen, model, content = record["generation"], record["model"], record["content"]
    values: dict[str, Any] = {
        "record_id": record["record_id"],
        "state": state,
        "created_at": parse_time(record["created_at"]),
        "inserted_at": datetime.now(UTC),
        "schema_version": str(record["schema"]).rsplit(":", 1)[-1],
        "task": record["task"]["type"],
        "model_name": model["name"],
        "model_variant": model.get("variant") or model.get("preset"),
        "prompt": gen["prompt"],
        "negative_prompt": gen["negative_prompt"],
        "search_text": search_text(gen["prompt"]),
        "seed": gen.get("seed"),
        "steps": gen.get("num_inference_steps"),
        "cfg_scale": gen.get("cfg_scale"),
        "width": gen.get("width"),
        "height": gen.get("height"),
        "sampler": gen.get("sampler"),
        "generation_time": record["performance"].get("generation_time"),
        "pixel_digest": (content["pixel_digest"] or {}).get("value"),
        "data_digest": content["data_digest"]["value"],
        "phash": content["phash"],
        "signer_key_id": signer_key_id,
        "parent_record_id": record["task"].get("parent_record_id"),
        "file_path": file_path,
        "file_digest": file_digest,
        "source_digest": _source_digest(record),
        "record_bytes": record_bytes,
        "envelope": envelope_json,
    }
    bands = phash_bands(content["phash"]) if content["phash"] else [None] * PHASH_BANDS
    for i, band in enumerate(bands):
        values[f"phash_{i}"] = band
    return values


@functools.lru_cache(maxsize=8)
def _driver_insert(dialect: Dialect) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """``INSERT INTO records`` (every column but ``id``) as this dialect's driver takes it, and
    for each of its positional parameters the column's name and the conversion its type applies
    here (None: none), so that rows reach the driver's ``executemany`` as SQLAlchemy would
    write them."""
    names = [c.name for c in records.columns if c.name != "id"]
    compiled = insert(records).compile(dialect=dialect, column_keys=names)
    order = compiled.positiontup or []
    converts = {
        c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in records.columns
    }
    return str(compiled), tuple((name, converts[name]) for name in order)


class Catalog:
    """An open catalog. Thread-safe for reads; use one per process."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> Catalog:
        """Open the catalog at ``url``.

        An empty database is created (migrated to the newest revision) when ``create`` is true;
        a catalog at an older revision stops with :class:`CatalogError` naming the command that
        upgrades it.
        """
        engine = _engine(url)
        try:
            with engine.connect() as conn:
                current = current_revision(conn)
                has_tables = inspect(conn).has_table("records")
        except SQLAlchemyError as exc:
            engine.dispose()
            raise CatalogError(
                f"cannot open the catalog {redact_url(url)}: {exc.__class__.__name__}"
                f": {exc.orig if hasattr(exc, 'orig') else exc}"
            ) from None
        head = head_revision()
        if current is None and not has_tables:
            if not create:
                engine.dispose()
                raise CatalogError(f"no catalog at {redact_url(url)}; run `aigc-prov db upgrade`")
            engine.dispose()
            upgrade_catalog(url)
            engine = _engine(url)
        elif current != head:
            engine.dispose()
            err = CatalogError(
                f"the catalog at {redact_url(url)} is at revision {current or 'none'}, "
                f"this software needs {head}"
            )
            err.hint = "Run `aigc-prov db upgrade` (back up the catalog first)."
            raise err
        return cls(engine, url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(catalog_write=True)
            with conn.begin():
                yield conn

    # -- writing ---------------------------------------------------------------------------------

    def begin_record(self, values: dict[str, Any]) -> None:
        """Commit a ``pending`` row (before its file is written)."""
        try:
            with self._write() as conn:
                conn.execute(insert(records).values(**{**values, "state": "pending"}))
        except IntegrityError:
            raise CatalogError(f"record {values['record_id']} is already in the catalog") from None

    def complete_record(self, record_id: str, file_digest: str | None) -> None:
        """Mark a pending row complete once its file is fully written."""
        with self._write() as conn:
            conn.execute(
                update(records)
                .where(records.c.record_id == record_id)
                .values(state="complete", file_digest=file_digest)
            )

    def add_record(self, values: dict[str, Any]) -> bool:
        """Insert a complete row; False if the record is already catalogued."""
        try:
            with self._write() as conn:
                conn.execute(insert(records).values(**{**values, "state": "complete"}))
        except IntegrityError:
            return False
        return True

    def add_records(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many complete rows in one transaction (bulk import; ids must be new).

        On SQLite the rows go straight to the driver's ``executemany``, converted by their
        column types as SQLAlchemy would: its per-row statement handling was about a third of
        the insert's time, and an import's main process spends most of its time here."""
        if not rows:
            return
        with self._write() as conn:
            if self.dialect != "sqlite":
                conn.execute(insert(records), [{**row, "state": "complete"} for row in rows])
                return
            sql, columns = _driver_insert(conn.dialect)
            values = []
            for row in rows:
                complete = {**row, "state": "complete"}
                values.append(
                    tuple(
                        convert(complete.get(name)) if convert else complete.get(name)
                        for name, convert in columns
                    )
                )
            conn.exec_driver_sql(sql, values)

    def forget_record(self, record_id: str) -> None:
        with self._write() as conn:
            conn.execute(delete(records).where(records.c.record_id == record_id))

    def sync_keys(self, entries: Iterable[KeyEntry]) -> None:
        """Store the key ring's public keys, statuses and revocation times."""
        rows = [
            {
                "key_id": e.key_id,
                "public_key": e.public_key.b64(),
                "status": e.status.value,
                "origin": e.origin.value,
                "added_at": e.added_at,
                "retired_at": e.retired_at,
                "revoked_at": e.revoked_at,
                "revocation_reason": e.revocation_reason,
                "label": e.label,
            }
            for e in entries
        ]
        if not rows:
            return
        with self._write() as conn:
            existing = {r.key_id: r for r in conn.execute(select(keys))}
            for row in rows:
                known = existing.get(row["key_id"])
                if known is None:
                    conn.execute(insert(keys).values(**row))
                    continue
                if known.status == "revoked":  # a revocation is never undone by a sync
                    row = {
                        **row,
                        "status": "revoked",
                        "revoked_at": known.revoked_at,
                        "revocation_reason": known.revocation_reason,
                    }
                conn.execute(update(keys).where(keys.c.key_id == row["key_id"]).values(**row))

    def log_verification(
        self,
        *,
        input_digest: str,
        input_name: str,
        origin: str,
        status: str,
        record_id: str | None,
        signer_key_id: str | None,
        findings: Sequence[Mapping[str, str]],
    ) -> None:
        with self._write() as conn:
            conn.execute(
                insert(verifications).values(
                    checked_at=datetime.now(UTC),
                    input_digest=input_digest,
                    input_name=input_name,
                    origin=origin,
                    status=status,
                    record_id=record_id,
                    signer_key_id=signer_key_id,
                    findings=json.dumps(list(findings), ensure_ascii=False),
                )
            )

    def rate(self, record_id: str, rating: int) -> None:
        if not 1 <= rating <= 5:
            raise CatalogError("a rating is a whole number from 1 to 5")
        with self._write() as conn:
            result = conn.execute(
                update(records)
                .where(records.c.record_id == record_id, records.c.state == "complete")
                .values(rating=rating)
            )
            if result.rowcount == 0:
                raise CatalogError(f"no record {record_id} in the catalog")

    def add_tags(self, record_id: str, new_tags: Iterable[str]) -> None:
        row = self.get(record_id)
        if row is None:
            raise CatalogError(f"no record {record_id} in the catalog")
        with self._write() as conn:
            present = set(conn.scalars(select(tags.c.tag).where(tags.c.record_pk == row.id)))
            for tag in dict.fromkeys(t.strip()[:128] for t in new_tags if t.strip()):
                if tag not in present:
                    conn.execute(insert(tags).values(record_pk=row.id, tag=tag))

    # -- reading ---------------------------------------------------------------------------------

    def get(self, record_id: str, *, include_pending: bool = False) -> Row[Any] | None:
        query = select(records).where(records.c.record_id == record_id)
        if not include_pending:
            query = query.where(records.c.state == "complete")
        with self.engine.connect() as conn:
            return conn.execute(query).first()

    def by_pixel_digest(self, digest: str) -> list[Row[Any]]:
        query = (
            select(records)
            .where(records.c.pixel_digest == digest, records.c.state == "complete")
            .order_by(records.c.id.desc())
            .limit(50)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def by_phash(
        self, phash: str, max_distance: int = SOFT_MATCH_MAX_DISTANCE, limit: int = 20
    ) -> list[tuple[Row[Any], int]]:
        """Complete records whose perceptual hash is within ``max_distance`` bits, nearest first."""
        bands = phash_bands(phash)
        columns = [records.c[f"phash_{i}"] for i in range(PHASH_BANDS)]
        query = select(records.c.id, records.c.phash).where(
            or_(*(col == band for col, band in zip(columns, bands, strict=True))),
            records.c.state == "complete",
        )
        with self.engine.connect() as conn:
            near = [
                (row.id, dist)
                for row in conn.execute(query)
                if (dist := hamming_distance(row.phash, phash)) <= max_distance
            ]
            near.sort(key=lambda item: (item[1], -item[0]))
            near = near[:limit]
            if not near:
                return []
            found = {
                r.id: r
                for r in conn.execute(select(records).where(records.c.id.in_([i for i, _ in near])))
            }
        return [(found[i], dist) for i, dist in near]

    def imported_sources(self, digests: Sequence[str]) -> dict[str, Any]:
        """digest -> (record_id, state, file_path) for those of ``digests`` already imported."""
        found: dict[str, Any] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(digests), 500):
                chunk = list(digests[start : start + 500])
                rows = conn.execute(
                    select(
                        RecordRow.source_digest,
                        RecordRow.record_id,
                        RecordRow.state,
                        RecordRow.file_path,
                    ).where(RecordRow.source_digest.in_(chunk))
                )
                for row in rows:
                    found.setdefault(str(row.source_digest), row)
        return found

    def imported_from(self, source_digest: str) -> Any:
        """The record imported from the file with this BLAKE3 digest, if any (any state)."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(RecordRow.record_id, RecordRow.state, RecordRow.file_path)
                .where(RecordRow.source_digest == source_digest)
                .limit(1)
            ).first()

    def pending(self) -> list[Row[Any]]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(records).where(records.c.state == "pending")))

    def complete_rows(self, batch: int = 1000) -> Iterator[Row[Any]]:
        """Every complete row, streamed in id order (constant memory)."""
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = list(
                    conn.execute(
                        select(records)
                        .where(records.c.state == "complete", records.c.id > last)
                        .order_by(records.c.id)
                        .limit(batch)
                    )
                )
            if not rows:
                return
            yield from rows
            last = rows[-1].id

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count()).select_from(records).where(records.c.state == "complete")
                )
                or 0
            )

    def tags_of(self, record_id: str) -> list[str]:
        row = self.get(record_id)
        if row is None:
            return []
        with self.engine.connect() as conn:
            return sorted(conn.scalars(select(tags.c.tag).where(tags.c.record_pk == row.id)))

    # -- search ----------------------------------------------------------------------------------

    def conditions(self, q: SearchQuery) -> list[Any]:
        """The WHERE conditions of ``q`` (filters and text, not the cursor) over ``records``."""
        conds = self._filters(q)
        wanted = query_tokens(q.text) if q.text else []
        if q.text and not wanted:
            conds.append(false())
        elif wanted:
            conds.append(self._text_condition(wanted))
        return conds

    def _filters(self, q: SearchQuery) -> list[Any]:
        c = records.c
        conds: list[Any] = [c.state == "complete"]
        if q.model:
            conds.append(c.model_name == q.model)
        if q.seed is not None:
            conds.append(c.seed == q.seed)
        if q.steps_min is not None:
            conds.append(c.steps >= q.steps_min)
        if q.steps_max is not None:
            conds.append(c.steps <= q.steps_max)
        if q.cfg_min is not None:
            conds.append(c.cfg_scale >= q.cfg_min)
        if q.cfg_max is not None:
            conds.append(c.cfg_scale <= q.cfg_max)
        if q.width is not None:
            conds.append(c.width == q.width)
        if q.height is not None:
            conds.append(c.height == q.height)
        if q.since is not None:
            conds.append(c.created_at >= _utc(q.since))
        if q.until is not None:
            conds.append(c.created_at <= _utc(q.until))
        if q.signer:
            conds.append(c.signer_key_id.startswith(q.signer.lower(), autoescape=True))
        if q.rating_min is not None:
            conds.append(c.rating >= q.rating_min)
        if q.tag:
            conds.append(c.id.in_(select(tags.c.record_pk).where(tags.c.tag == q.tag)))
        return conds

    def search(self, q: SearchQuery) -> SearchPage:
        """One page of complete records matching ``q``, newest first, with the next cursor.

        Pages are keyset-paginated on the insertion id, so rows added while a client pages
        through never shift or repeat what it sees.

        On SQLite a text search is driven by the FTS5 index itself, read newest first
        (``ORDER BY records_fts.rowid DESC``, the cursor a rowid bound FTS5 seeks to) and joined
        to ``records`` by rowid, so a page costs about its own rows however many records match;
        ``id IN (SELECT rowid ... MATCH ...)`` first collected every match.
        """
        limit = max(1, min(q.limit, MAX_PAGE))
        if q.sort not in ("newest", "relevance"):
            raise CatalogError(f"unknown sort {q.sort!r}: use newest or relevance")
        if q.sort == "relevance" and q.text:
            return self._search_by_relevance(q, limit)
        conds = self._filters(q)
        before = decode_cursor(q.cursor) if q.cursor else None
        wanted = query_tokens(q.text) if q.text else []
        if q.text and not wanted:
            return SearchPage()
        source: Any = records
        key: Any = records.c.id
        if wanted and self.dialect == "sqlite":
            source = _fts.join(records, records.c.id == _fts.c.rowid)
            key = _fts.c.rowid  # the same value as records.id
            conds.append(text("records_fts MATCH :match").bindparams(match=_fts_match(wanted)))
        elif wanted:
            conds.append(self._text_condition(wanted))
        if before is not None:
            conds.append(key < before)
        if self.dialect == "sqlite" and (q.since is not None or q.until is not None):
            # A time window implies a range of ids: bounding the scan by it cannot change the
            # rows, and it spares reading every newer row when the window lies in the past.
            # (SQLite's created_at index carries the rowid, so the range costs an index scan;
            # PostgreSQL would visit the table for it, and its planner does well without.)
            window = self._id_range(q.since, q.until)
            if window is None:
                return SearchPage()
            conds.extend((key >= window[0], key <= window[1]))
        query = (
            select(records)
            .select_from(source)
            .where(and_(*conds))
            .order_by(key.desc())
            .limit(limit + 1)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        page = SearchPage(rows=rows[:limit])
        if len(rows) > limit:
            page.next_cursor = encode_cursor(rows[limit - 1].id)
        return page

    def _search_by_relevance(self, q: SearchQuery, limit: int) -> SearchPage:
        """Every match scored (streamed, keeping only the best page), best first.

        The cursor is the last (score, id) shown; a page is the best rows after it, so rows added
        meanwhile never shift or repeat what a reader pages through.
        """
        wanted = query_tokens(q.text or "")
        if not wanted:
            return SearchPage()
        after = decode_relevance_cursor(q.cursor) if q.cursor else None
        query = select(records.c.id, records.c.search_text).where(and_(*self.conditions(q)))
        best: list[tuple[float, int]] = []  # a min-heap of the best limit+1 (score, id)
        with self.engine.connect() as conn:
            streamed = conn.execution_options(stream_results=True, yield_per=5000)
            for row in streamed.execute(query):
                key = (relevance(row.search_text, wanted), row.id)
                if after is not None and key >= after:
                    continue
                if len(best) <= limit:
                    heapq.heappush(best, key)
                elif key > best[0]:
                    heapq.heapreplace(best, key)
        ranked = sorted(best, reverse=True)
        shown = ranked[:limit]
        with self.engine.connect() as conn:
            by_id = {
                r.id: r
                for r in conn.execute(
                    select(records).where(records.c.id.in_([i for _, i in shown]))
                )
            }
        page = SearchPage(rows=[by_id[i] for _, i in shown])
        if len(ranked) > limit:
            page.next_cursor = encode_relevance_cursor(*shown[-1])
        return page

    def _id_range(self, since: datetime | None, until: datetime | None) -> tuple[int, int] | None:
        """The smallest and largest id of rows created within the window (from the created_at
        index alone; pending rows may widen the range, never narrow it)."""
        conds = []
        if since is not None:
            conds.append(records.c.created_at >= _utc(since))
        if until is not None:
            conds.append(records.c.created_at <= _utc(until))
        query = select(func.min(records.c.id), func.max(records.c.id)).where(*conds)
        with self.engine.connect() as conn:
            low, high = conn.execute(query).one()
        return None if low is None else (int(low), int(high))

    def _text_condition(self, wanted: list[str]) -> Any:
        """A WHERE condition: the record holds every token in ``wanted``."""
        if self.dialect == "sqlite":
            fts = text("SELECT rowid FROM records_fts WHERE records_fts MATCH :match").bindparams(
                match=_fts_match(wanted)
            )
            return records.c.id.in_(fts)
        tsquery = func.plainto_tsquery("simple", " ".join(wanted))
        return literal_column("records.search_tsv").op("@@")(tsquery)


#: The SQLite FTS5 index over ``records.search_text`` (made by the migration), as a join source.
_fts = table("records_fts", column("rowid", Integer))


def _fts_match(wanted: list[str]) -> str:
    """An FTS5 query matching rows that hold every token (each a quoted phrase)."""
    return " ".join('"' + token.replace('"', '""') + '"' for token in wanted)


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<catalog>"

"""Catalog benchmark (issue 3): insert rate and search latency at 100k and 1M records.

Run from the repository root::

    .venv/bin/python bench/bench_catalog.py [--sizes 100000 1000000]
        [--engines sqlite postgresql] [--queries 200] [--like-queries 30]

For each engine and size, in one run:

1. a fresh catalog (SQLite: a file in a temporary folder; PostgreSQL: a database
   ``bench_catalog_<N>_<pid>`` created and dropped here), made by ``Catalog.open`` (Alembic);
2. N synthetic records (``bench/_synthetic_records.py``: mixed Chinese/English prompts, the
   real record shape, unsigned) inserted in batches through ``Catalog.add_records``; the insert
   rate counts the ``add_records`` calls only (generation is timed apart);
3. maintenance a real catalog gets anyway: SQLite ``ANALYZE`` and a WAL checkpoint; PostgreSQL
   ``VACUUM ANALYZE records`` (what autovacuum does after a bulk load; it also empties the GIN
   pending list);
4. search latency (p50/p95 over ``--queries`` randomized queries per shape, each through
   ``Catalog.search(SearchQuery(...))``, default limit 20): a two-character Chinese substring, an
   English word, filter-only queries (three kinds), text + filters (three kinds);
5. for the text shapes, on the first ``--like-queries`` of those queries: the same query with
   the text condition replaced by ``prompt LIKE '%term%'`` (``ORDER BY id DESC LIMIT 20``), the
   same LIKE counting every match (``count(*)``: the full scan), and the full-text index
   counting every match, with the number of matches;
6. the catalog's size on disk.

It prints Markdown (stdout; progress on stderr) with a PASS/FAIL per target (issue 3: SQLite at
1M records, p95 <= 50 ms for every query shape and >= 20x faster than the LIKE scan for the
text queries) and exits 0 whatever the targets say: it is a measurement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _synthetic_records as synth  # noqa: E402
from sqlalchemy import and_, event, func, select, text  # noqa: E402

from provenance.catalog.models import RecordRow  # noqa: E402
from provenance.catalog.store import Catalog, SearchQuery  # noqa: E402
from provenance.catalog.textsearch import query_tokens  # noqa: E402

records = RecordRow.__table__

TARGET_N = 1_000_000
TARGET_P95_MS = 50.0
TARGET_SPEEDUP = 20.0
LIMIT = 20

# Query terms. Chinese: two characters that occur inside longer words of the vocabulary (橘猫 in
# 一只橘猫, 油画 in 油画风格, 光线 in 柔和的光线 ...), from very common to rare. English: words
# (cat is also inside "intricate" and "delicate" for LIKE, which the match counts show).
ZH_TERMS = [
    "橘猫", "油画", "少女", "山水", "夜景", "赛璐", "水彩", "电影", "窗台", "樱花", "古风", "机甲",
    "雪山", "灯塔", "熊猫", "狐狸", "光线", "逆光", "薄雾", "霓虹", "细节", "质感", "风格", "汉服",
    "咖啡", "锦鲤", "极光", "萤火", "长城", "鲸鱼", "钓鱼", "版画", "青苔", "回眸", "水墨", "星空",
]  # fmt: skip
EN_TERMS = [
    "cat", "cinematic", "watercolor", "anime", "samurai", "dragon", "lighthouse", "bokeh", "neon",
    "fog", "aurora", "masterpiece", "castle", "fox", "owl", "guitar", "rain", "golden",
    "reflections", "portrait", "robot", "sailboat", "impressionism", "hummingbird", "fireflies",
]  # fmt: skip


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- queries -------------------------------------------------------------------------------


@dataclass
class Shape:
    key: str  # a, b, c, d (issue 3's four shapes)
    name: str
    example: str
    queries: list[SearchQuery]
    text_shape: bool
    stress: bool = False  # beyond the examples: a date window (see BENCHMARKS.md)


def _model_filters(rng: random.Random) -> dict[str, Any]:
    name, _, _, steps, cfgs, _, _ = synth.MODELS[
        rng.choices(range(len(synth.MODELS)), [m[1] for m in synth.MODELS])[0]
    ]
    lo = rng.choice(steps)
    hi = max(lo, rng.choice(steps))
    cfg_lo = rng.choice(cfgs)
    return {
        "model": name,
        "steps_min": lo,
        "steps_max": hi,
        "cfg_min": cfg_lo,
        "cfg_max": cfg_lo + rng.choice([0.0, 0.5, 1.0]),
    }


def _date_window(rng: random.Random, days: int) -> dict[str, Any]:
    """A window of ``days`` days somewhere inside the catalog's year."""
    start = synth.START + dt.timedelta(seconds=rng.uniform(0, synth.YEAR_S - days * 86400))
    return {"since": start, "until": start + dt.timedelta(days=days)}


def build_shapes(seeds: list[int], count: int, seed: int) -> list[Shape]:
    """The query shapes, each with ``count`` randomized queries (deterministic in ``seed``)."""
    rng = random.Random(seed)

    def many(make: Callable[[], SearchQuery]) -> list[SearchQuery]:
        return [make() for _ in range(count)]

    sizes = [(1024, 1024), (768, 1344), (1344, 768), (832, 1216), (1216, 832)]

    def text_size() -> SearchQuery:
        w, h = rng.choice(sizes)
        return SearchQuery(text=rng.choice(ZH_TERMS + EN_TERMS), width=w, height=h)

    def size_date() -> SearchQuery:
        w, h = rng.choice(sizes)
        return SearchQuery(width=w, height=h, **_date_window(rng, 30))

    shapes = [
        Shape("a", "Chinese 2-char substring", "橘猫", many(lambda: SearchQuery(
            text=rng.choice(ZH_TERMS))), True),
        Shape("b", "English word", "cinematic", many(lambda: SearchQuery(
            text=rng.choice(EN_TERMS))), True),
        Shape("c", "filters: model + steps + cfg ranges", "Z-Image-Turbo, steps 8-9, cfg 0-0.5",
              many(lambda: SearchQuery(**_model_filters(rng))), False),
        Shape("c", "filters: seed", "seed=3141592653",
              many(lambda: SearchQuery(seed=rng.choice(seeds))), False),
        Shape("c", "filters: size + 30-day window", "1024x1024, 30 days",
              many(size_date), False, stress=True),
        Shape("d", "text + model + steps + cfg", "油画 + Z-Image, steps 28-40, cfg 3.5-4.5",
              many(lambda: SearchQuery(text=rng.choice(ZH_TERMS + EN_TERMS),
                                       **_model_filters(rng))), True),
        Shape("d", "text + 90-day window", "cat + 90 days",
              many(lambda: SearchQuery(text=rng.choice(ZH_TERMS + EN_TERMS),
                                       **_date_window(rng, 90))), True, stress=True),
        Shape("d", "text + size", "樱花 + 768x1344",
              many(text_size), True),
    ]  # fmt: skip
    return shapes


def describe(q: SearchQuery) -> str:
    parts = []
    if q.text:
        parts.append(q.text)
    if q.model:
        parts.append(q.model)
    if q.steps_min is not None:
        parts.append(f"steps {q.steps_min}-{q.steps_max}")
    if q.cfg_min is not None:
        parts.append(f"cfg {q.cfg_min:g}-{q.cfg_max:g}")
    if q.seed is not None:
        parts.append(f"seed={q.seed}")
    if q.width is not None:
        parts.append(f"{q.width}x{q.height}")
    if q.since is not None:
        assert q.until is not None
        parts.append(f"{q.since:%Y-%m-%d}..{q.until:%Y-%m-%d}")
    return ", ".join(parts)


# --- measuring -----------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[rank - 1]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t0) * 1000, result


@dataclass
class ShapeResult:
    shape: Shape
    search_ms: list[float] = field(default_factory=list)
    rows_returned: list[int] = field(default_factory=list)
    like_limit_ms: list[float] = field(default_factory=list)
    like_count_ms: list[float] = field(default_factory=list)
    index_count_ms: list[float] = field(default_factory=list)
    like_matches: list[int] = field(default_factory=list)
    index_matches: list[int] = field(default_factory=list)
    same_rows: int = 0
    compared: int = 0
    plan: str = ""
    cut: bool = False  # stopped at --budget-s
    like_cut: bool = False  # stopped at --like-budget-s


@dataclass
class RunResult:
    engine: str
    n: int
    insert_s: float = 0.0
    generate_s: float = 0.0
    maintenance: str = ""
    maintenance_s: float = 0.0
    disk_bytes: int = 0
    disk_detail: str = ""
    shapes: list[ShapeResult] = field(default_factory=list)
    note: str = ""


def like_pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def text_predicate(cat: Catalog, term: str) -> Any:
    """The full-text predicate for counting: the index alone, independent of ``search``."""
    return cat._text_condition(query_tokens(term))  # exactly the catalog's own condition


def index_count(cat: Catalog, q: SearchQuery) -> tuple[float, int]:
    assert q.text
    with cat.engine.connect() as conn:
        if cat.dialect == "sqlite" and q == SearchQuery(text=q.text):  # text alone: the index
            match = " ".join('"' + t.replace('"', '""') + '"' for t in query_tokens(q.text))
            stmt: Any = text(
                "SELECT count(*) FROM records_fts WHERE records_fts MATCH :m"
            ).bindparams(m=match)
        else:
            stmt = (
                select(func.count())
                .select_from(records)
                .where(and_(*cat._filters(q), text_predicate(cat, q.text)))
            )
        ms, value = timed(lambda: conn.execute(stmt).scalar_one())
    return ms, int(value)


def like_queries(cat: Catalog, q: SearchQuery) -> tuple[float, list[int], float, int]:
    """(ms, ids) of the LIKE query returning the newest 20, and (ms, count) of the LIKE count."""
    assert q.text
    conds = [*cat._filters(q), records.c.prompt.like(like_pattern(q.text), escape="\\")]
    newest = select(records).where(and_(*conds)).order_by(records.c.id.desc()).limit(LIMIT)
    counting = select(func.count()).select_from(records).where(and_(*conds))
    with cat.engine.connect() as conn:
        ms_limit, rows = timed(lambda: list(conn.execute(newest)))
        ms_count, count = timed(lambda: conn.execute(counting).scalar_one())
    return ms_limit, [r.id for r in rows], ms_count, int(count)


class StatementSpy:
    """Captures the SQL and parameters of the statements an engine runs (for query plans)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.last: tuple[str, Any] | None = None
        event.listen(engine, "before_cursor_execute", self._hook)

    def _hook(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            self.last = (statement, params)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._hook)


def query_plan(cat: Catalog, spy: StatementSpy, q: SearchQuery) -> str:
    spy.last = None
    cat.search(q)
    if spy.last is None:
        return "(no statement)"
    statement, params = spy.last
    raw = cat.engine.raw_connection()
    try:
        cur = raw.cursor()
        if cat.dialect == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, params)
            lines = [f"{'  ' * 0}{row[3]}" for row in cur.fetchall()]
        else:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, params)
            lines = [row[0] for row in cur.fetchall()]
        cur.close()
    finally:
        raw.close()
    return f"-- {describe(q)}\n" + "\n".join(lines)


def measure_shape(
    cat: Catalog, shape: Shape, args: argparse.Namespace, spy: StatementSpy | None
) -> ShapeResult:
    """Search timings for every query of ``shape`` (within ``--budget-s``), then the LIKE and
    index-count references for the first ``--like-queries`` (within ``--like-budget-s``)."""
    res = ShapeResult(shape)
    warm_until = time.perf_counter() + args.budget_s / 10
    for q in shape.queries[: max(3, len(shape.queries) // 10)]:  # warm-up
        cat.search(q)
        if time.perf_counter() > warm_until:
            break
    stop = time.perf_counter() + args.budget_s
    for q in shape.queries:
        ms, page = timed(lambda q=q: cat.search(q))
        res.search_ms.append(ms)
        res.rows_returned.append(len(page.rows))
        if time.perf_counter() > stop:
            res.cut = True
            break
    if shape.text_shape:
        stop = time.perf_counter() + args.like_budget_s
        for q in shape.queries[: min(args.like_queries, len(res.search_ms))]:
            if res.like_limit_ms and time.perf_counter() > stop:
                res.like_cut = True
                break
            ms_limit, like_ids, ms_count, like_count = like_queries(cat, q)
            ms_index, count = index_count(cat, q)
            res.like_limit_ms.append(ms_limit)
            res.like_count_ms.append(ms_count)
            res.index_count_ms.append(ms_index)
            res.like_matches.append(like_count)
            res.index_matches.append(count)
            if like_count == count:  # same semantics for this term: the pages must agree
                res.compared += 1
                ids = [r.id for r in cat.search(q).rows]
                res.same_rows += ids == like_ids
    if spy is not None:  # the plan of the slowest query of the shape
        worst = max(range(len(res.search_ms)), key=lambda i: res.search_ms[i])
        res.plan = query_plan(cat, spy, shape.queries[worst])
    return res


# --- catalogs ------------------------------------------------------------------------------


def pg_admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def sqlite_disk(path: Path) -> tuple[int, str]:
    sizes = {p.name: p.stat().st_size for p in path.parent.glob(path.name + "*")}
    detail = ", ".join(f"{name}: {size / 2**20:,.0f} MiB" for name, size in sorted(sizes.items()))
    return sum(sizes.values()), detail


def pg_disk(cat: Catalog) -> tuple[int, str]:
    with cat.engine.connect() as conn:
        db = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        heap = conn.execute(text("SELECT pg_table_size('records')")).scalar_one()
        idx = conn.execute(text("SELECT pg_indexes_size('records')")).scalar_one()
        gin = conn.execute(text("SELECT pg_relation_size('ix_records_search_tsv')")).scalar_one()
    detail = (
        f"records heap+TOAST {heap / 2**20:,.0f} MiB, its indexes {idx / 2**20:,.0f} MiB "
        f"(GIN full-text {gin / 2**20:,.0f} MiB)"
    )
    return int(db), detail


def run_one(engine: str, n: int, args: argparse.Namespace) -> RunResult:
    result = RunResult(engine, n)
    workdir: Path | None = None
    dbname = f"bench_catalog_{n}_{os.getpid()}"
    if engine == "sqlite":
        workdir = Path(tempfile.mkdtemp(prefix="bench_catalog_", dir=args.workdir))
        path = workdir / "catalog.sqlite"
        url = f"sqlite:///{path}"
    else:
        pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{dbname}"')
        pg_admin(args.pg, f'CREATE DATABASE "{dbname}"')
        url = f"{args.pg.replace('postgresql://', 'postgresql+psycopg://', 1)}/{dbname}"
    cat = Catalog.open(url)
    try:
        log(f"[{engine} {n:,}] inserting")
        t_wall = time.perf_counter()
        last_log = t_wall
        for start in range(0, n, args.batch):
            count = min(args.batch, n - start)
            gc.disable()  # generation makes many small objects; not part of what is measured
            t0 = time.perf_counter()
            rows = synth.rows(start, count, args.seed, span=n)
            result.generate_s += time.perf_counter() - t0
            gc.enable()
            t0 = time.perf_counter()
            cat.add_records(rows)
            result.insert_s += time.perf_counter() - t0
            del rows
            if time.perf_counter() - last_log > 30:
                last_log = time.perf_counter()
                log(
                    f"  {start + count:,} rows, insert {(start + count) / result.insert_s:,.0f}"
                    f" rows/s, {last_log - t_wall:.0f} s"
                )
            if args.max_insert_s and result.insert_s > args.max_insert_s and start + count < n:
                result.note = (
                    f"stopped after {start + count:,} rows: the insert took longer than "
                    f"--max-insert-s {args.max_insert_s:g}"
                )
                result.n = start + count
                break
        log(f"[{engine} {n:,}] maintenance")
        t0 = time.perf_counter()
        with cat.engine.connect() as conn:
            if engine == "sqlite":
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                result.maintenance = "ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)"
            else:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM ANALYZE records")
                result.maintenance = "VACUUM ANALYZE records"
        result.maintenance_s = time.perf_counter() - t0
        if engine == "sqlite":
            result.disk_bytes, result.disk_detail = sqlite_disk(path)
        else:
            result.disk_bytes, result.disk_detail = pg_disk(cat)
        with cat.engine.connect() as conn:
            ids = random.Random(args.seed).sample(range(1, result.n + 1), 400)
            seeds = list(
                conn.execute(select(records.c.seed).where(records.c.id.in_(ids))).scalars()
            )
        shapes = build_shapes(seeds, args.queries, args.seed + n)
        spy = StatementSpy(cat.engine) if args.plans else None
        for shape in shapes:
            log(f"[{engine} {n:,}] {shape.name}")
            result.shapes.append(measure_shape(cat, shape, args, spy))
        if spy is not None:
            spy.close()
    finally:
        cat.close()
        if not args.keep:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        elif workdir is not None:
            log(f"kept {workdir}")
        else:
            log(f"kept database {dbname}")
    return result


# --- report --------------------------------------------------------------------------------


def fmt_ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def machine_info(args: argparse.Namespace) -> list[tuple[str, str]]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    pg_version = "not used"
    if "postgresql" in args.engines:
        import psycopg

        with psycopg.connect(args.pg + "/postgres") as conn:
            row = conn.execute("SELECT version()").fetchone()
            settings = conn.execute(
                "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ', ' "
                "ORDER BY name) FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', "
                "'synchronous_commit', 'max_wal_size', 'effective_cache_size', 'jit', "
                "'max_parallel_workers_per_gather')"
            ).fetchone()
            assert row is not None
            assert settings is not None
            pg_version = f"{row[0].split(' on ')[0]} ({settings[0]})"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "provenance", "migrations"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        commit, dirty = "unknown", ""
    changed = (
        "changed in the working tree: " + dirty.replace("\n", "; ")
        if dirty
        else "provenance/ and migrations/ unchanged"
    )
    con = sqlite3.connect(":memory:")
    fts5 = bool(con.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0])
    con.close()
    return [
        ("CPU", cpu),
        ("cores", f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable by this process)"),
        ("memory", mem),
        ("Python", platform.python_version()),
        ("SQLite", f"{sqlite3.sqlite_version} (FTS5: {'yes' if fts5 else 'no'})"),
        ("PostgreSQL", pg_version),
        ("SQLAlchemy", metadata.version("sqlalchemy")),
        ("psycopg", metadata.version("psycopg")),
        ("command", f"`{' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}`"),
        ("code measured", f"commit {commit}, {changed}"),
        ("date (UTC)", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")),
    ]


def report(results: list[RunResult], args: argparse.Namespace, info: list[tuple[str, str]],
           load: tuple[str, str], gen_rate: float) -> None:  # fmt: skip
    out: list[str] = []
    w = out.append
    w("Machine and software:\n")
    w("| item | value |\n| --- | --- |")
    for k, v in info:
        w(f"| {k} | {v} |")
    w(f"| load average (1/5/15 min) | at start {load[0]}; at end {load[1]} |")
    w("")
    w(
        f"Synthetic rows: generator alone {gen_rate:,.0f} rows/s "
        "(one core, self-checked against `record_values` and the v1 schema)."
    )
    w("")
    w("Insert (`Catalog.add_records`, batches of "
      f"{args.batch:,} rows, one transaction each) and size on disk:\n")  # fmt: skip
    w("| engine | N | insert (rows/s) | insert time (s) | after the insert | time (s) "
      "| disk | detail |")  # fmt: skip
    w("| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |")
    for r in results:
        w(
            f"| {r.engine} | {r.n:,} | {r.n / r.insert_s:,.0f} | {r.insert_s:,.1f} | "
            f"`{r.maintenance}` | {r.maintenance_s:,.1f} | {r.disk_bytes / 2**30:,.2f} GiB | "
            f"{r.disk_detail} |"
        )
    notes = [f"{r.engine} {r.n:,}: {r.note}" for r in results if r.note]
    for note in notes:
        w(f"\n- {note}")
    w("")
    w(
        f"Search latency, ms (`Catalog.search`, limit {LIMIT}, {args.queries} randomized queries "
        "per row, warm cache). LIKE columns: the same query with the text condition replaced by "
        f"`prompt LIKE '%term%'`, on the first {args.like_queries} of those queries: newest "
        f"{LIMIT} (`ORDER BY id DESC LIMIT {LIMIT}`, stops at the {LIMIT}th match) and `count(*)` "
        "(reads every row); index count = the full-text index counting every match. Speed-up = "
        "LIKE p95 / search p95 over the same queries. Queries: how many were timed (and how many "
        "had the LIKE references); * = cut short by the time budget (--budget-s, "
        "--like-budget-s). [stress] = a date-window variant beyond the issue's examples.\n"
    )
    w(
        "| engine | N | shape | example | queries (LIKE) | search p50 | search p95 "
        "| LIKE newest-20 p50 / p95 "
        "| LIKE count(*) p50 / p95 | index count p50 / p95 | matches median (min-max) "
        "| speed-up vs LIKE newest-20 | speed-up vs LIKE count(*) | target |"
    )
    w("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
      "| --- |")  # fmt: skip
    verdicts: list[tuple[str, bool]] = []
    for r in results:
        for s in r.shapes:
            p50, p95 = pct(s.search_ms, 50), pct(s.search_ms, 95)
            shape = f"({s.shape.key}) {s.shape.name}" + (" [stress]" if s.shape.stress else "")
            counted = f"{len(s.search_ms)}{'*' if s.cut else ''}"
            if s.shape.text_shape:
                counted += f" ({len(s.like_limit_ms)}{'*' if s.like_cut else ''})"
            is_target = r.engine == "sqlite" and r.n >= TARGET_N
            ok_latency = p95 <= TARGET_P95_MS
            if s.shape.text_shape and s.like_limit_ms:
                k = len(s.like_limit_ms)
                sp95 = pct(s.search_ms[:k], 95)
                ll = f"{fmt_ms(pct(s.like_limit_ms, 50))} / {fmt_ms(pct(s.like_limit_ms, 95))}"
                lc = f"{fmt_ms(pct(s.like_count_ms, 50))} / {fmt_ms(pct(s.like_count_ms, 95))}"
                ic = f"{fmt_ms(pct(s.index_count_ms, 50))} / {fmt_ms(pct(s.index_count_ms, 95))}"
                m = s.index_matches
                lm = s.like_matches
                matches = f"{statistics.median(m):,.0f} ({min(m):,}-{max(m):,})"
                if lm != m:
                    matches += f"; LIKE {statistics.median(lm):,.0f} ({min(lm):,}-{max(lm):,})"
                su_limit = pct(s.like_limit_ms, 95) / sp95
                su_count = pct(s.like_count_ms, 95) / sp95
                sul, suc = f"{su_limit:,.1f}x", f"{su_count:,.0f}x"
                ok_speed = su_limit >= TARGET_SPEEDUP
                ok_speed_full = su_count >= TARGET_SPEEDUP
            else:
                ll = lc = ic = matches = sul = suc = "n/a"
                ok_speed = ok_speed_full = True
            if is_target:
                parts = [f"p95 <= {TARGET_P95_MS:g} ms {'PASS' if ok_latency else 'FAIL'}"]
                verdicts.append((f"{shape}: p95 {fmt_ms(p95)} ms <= {TARGET_P95_MS:g} ms",
                                 ok_latency))  # fmt: skip
                if s.shape.text_shape:
                    parts.append(f">= 20x LIKE newest-20 {'PASS' if ok_speed else 'FAIL'}")
                    parts.append(f">= 20x LIKE count(*) {'PASS' if ok_speed_full else 'FAIL'}")
                    verdicts.append((f"{shape}: {sul} faster than LIKE newest-20", ok_speed))
                    verdicts.append((f"{shape}: {suc} faster than LIKE count(*)", ok_speed_full))
                target = "; ".join(parts)
            else:
                target = "(no target)"
            w(
                f"| {r.engine} | {r.n:,} | {shape} | {s.shape.example} | {counted} | "
                f"{fmt_ms(p50)} | {fmt_ms(p95)} | {ll} | {lc} | {ic} | {matches} | {sul} | {suc} "
                f"| {target} |"
            )
    w("")
    checks = []
    for r in results:
        for s in r.shapes:
            if s.compared:
                checks.append(f"{r.engine} {r.n:,} {s.shape.name}: {s.same_rows}/{s.compared}")
    if checks:
        w(
            "Same rows as LIKE (queries whose LIKE count equals the index count; search page "
            "equal, in order, to the LIKE newest-20): " + "; ".join(checks) + "."
        )
        w("")
    returned = [
        f"{r.engine} {r.n:,} {s.shape.name}: {statistics.mean(s.rows_returned):.1f}"
        for r in results
        for s in r.shapes
    ]
    w("Mean rows returned per search: " + "; ".join(returned) + ".")
    w("")
    if verdicts:
        w(f"Targets (issue 3, SQLite at {TARGET_N:,} records):\n")
        for label, ok in verdicts:
            w(f"- **{'PASS' if ok else 'FAIL'}**: {label}")
        w("")
    if args.plans:
        w("Query plans of the slowest search of each shape:\n")
        for r in results:
            for s in r.shapes:
                if s.plan:
                    w(f"{r.engine} {r.n:,}, {s.shape.name}:\n")
                    w("```\n" + s.plan + "\n```\n")
    print("\n".join(out), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--engines", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--queries", type=int, default=200, help="queries per shape")
    parser.add_argument(
        "--like-queries", type=int, default=30, help="LIKE reference queries per text shape"
    )
    parser.add_argument("--batch", type=int, default=5000, help="rows per add_records call")
    parser.add_argument("--seed", type=int, default=synth.DEFAULT_SEED)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="server URL")
    parser.add_argument("--workdir", default=None, help="where SQLite catalogs go (temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the catalogs")
    parser.add_argument("--no-plans", dest="plans", action="store_false")
    parser.add_argument(
        "--budget-s", type=float, default=60, help="at most this long timing one query shape"
    )
    parser.add_argument(
        "--like-budget-s",
        type=float,
        default=90,
        help="at most this long on one shape's LIKE and index-count references",
    )
    parser.add_argument(
        "--max-insert-s", type=float, default=0, help="stop inserting after this long (0: never)"
    )
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    args = parser.parse_args()

    info = machine_info(args)
    load_start = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    synth.self_check()
    gc.disable()
    t0 = time.perf_counter()
    synth.rows(0, 20_000, args.seed)
    gen_rate = 20_000 / (time.perf_counter() - t0)
    gc.enable()
    results = []
    for engine in args.engines:
        for n in args.sizes:
            results.append(run_one(engine, n, args))
            log(f"[{engine} {n:,}] done")
    load_end = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    report(results, args, info, (load_start, load_end), gen_rate)
    if args.json:
        raw = [
            {
                "engine": r.engine,
                "n": r.n,
                "insert_s": r.insert_s,
                "generate_s": r.generate_s,
                "maintenance_s": r.maintenance_s,
                "disk_bytes": r.disk_bytes,
                "shapes": [
                    {
                        "name": s.shape.name,
                        "queries": [describe(q) for q in s.shape.queries],
                        "search_ms": s.search_ms,
                        "like_limit_ms": s.like_limit_ms,
                        "like_count_ms": s.like_count_ms,
                        "index_count_ms": s.index_count_ms,
                        "like_matches": s.like_matches,
                        "index_matches": s.index_matches,
                    }
                    for s in r.shapes
                ],
            }
            for r in results
        ]
        args.json.write_text(json.dumps(raw, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

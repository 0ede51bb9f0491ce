"""The catalog as a prompt knowledge base, and the audit export.

Everything here reads complete rows only and never loads a whole catalog into memory:

* :func:`style_frequencies` streams prompts in id-ordered batches and counts style keywords.
* :func:`prompt_templates` groups prompts by a normalised template in two passes over
  ``GROUP BY prompt`` results: a bounded frequent-items sketch picks the candidates, a second
  pass counts them exactly and collects their typical parameters.
* :func:`parameter_stats` lets the database count ``(model, value)`` pairs (``GROUP BY``) and
  keeps value counts per model, not lists: medians and percentiles come from the counts.
* :func:`history` is one ``ORDER BY created_at DESC LIMIT n`` query.
* :func:`export_records` pages by id in bounded batches (constant memory for any catalog size)
  and checks each stored envelope against the caller's trust policy without touching the image
  file.

Style vocabulary: a mapping of a style name to its keywords. A keyword holding a Chinese,
Japanese or Korean character matches as a substring; any other keyword matches as whole words,
case-insensitively (``photo`` matches "A Photo of" but not "photography" or "telephoto"). Both
sides are NFKC-normalised and case-folded first. Users extend the default vocabulary with a TOML
file (:func:`load_vocabulary`)::

    [styles]
    photo = ["snapshot"]             # added to the default "photo" keywords
    "赛博朋克" = ["赛博朋克", "cyberpunk"]  # a new style

The library never reads the environment; the command line decides which file to load.
"""

from __future__ import annotations

import csv
import json
import math
import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO, TypeAlias, TypeVar

from sqlalchemy import Row, func, select

from provenance.catalog.store import Catalog, SearchQuery, keys, records, tags, verifications
from provenance.catalog.textsearch import _CJK, query_tokens
from provenance.errors import CatalogError, EnvelopeError
from provenance.signing.envelope import Envelope
from provenance.signing.policy import TrustPolicy
from provenance.signing.verifier import check_envelope

if TYPE_CHECKING:
    _Row: TypeAlias = Row[*tuple[Any, ...]]  # a row of any width

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_VOCABULARY",
    "EXPORT_BATCH",
    "TEMPLATE_CAPACITY",
    "Distribution",
    "ExportFormat",
    "HistoryItem",
    "ModelParams",
    "PromptTemplate",
    "SizeCount",
    "StyleCount",
    "count_matching",
    "export_records",
    "history",
    "load_vocabulary",
    "merge_vocabulary",
    "normalise_prompt",
    "parameter_stats",
    "prompt_templates",
    "style_frequencies",
]

#: The default style vocabulary: style name -> keywords (Chinese and English).
DEFAULT_VOCABULARY: Final[Mapping[str, tuple[str, ...]]] = {
    "photo": ("高清照片", "写实照片", "photo", "photorealistic", "high-res photo", "hd photo"),
    "oil-painting": ("油画风格", "油画", "oil painting"),
    "anime": ("动漫风格", "动漫", "二次元", "anime"),
    "cel-shading": ("赛璐璐", "cel shading", "cel-shaded", "cel shaded"),
    "watercolor": ("水彩画", "水彩", "watercolor", "watercolour"),
    "photography": ("摄影作品", "摄影", "photography"),
    "cinematic": ("电影质感", "电影感", "cinematic"),
}

#: Rows per page of :func:`export_records` and of the streamed scans.
EXPORT_BATCH: Final = 500
#: Distinct templates the first pass of :func:`prompt_templates` keeps. Below this many distinct
#: templates the ranking is exact; above it, every template used more than
#: ``2 * N / TEMPLATE_CAPACITY`` times (N prompts) is still found. Reported counts are always exact.
TEMPLATE_CAPACITY: Final = 100_000
_COMMON = 5  # most common values reported per distribution

ExportFormat = Literal["jsonl", "csv"]

#: The columns of a CSV export, in order.
CSV_COLUMNS: Final[tuple[str, ...]] = (
    "record_id",
    "created_at",
    "task",
    "model_name",
    "model_variant",
    "seed",
    "steps",
    "cfg_scale",
    "width",
    "height",
    "sampler",
    "generation_time",
    "signer_key_id",
    "rating",
    "tags",
    "parent_record_id",
    "pixel_digest",
    "file_path",
    "file_digest",
    "prompt",
    "negative_prompt",
    "signature",
    "signer_status",
    "trusted",
    "problem",
    "last_verification_status",
    "last_verified_at",
)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StyleCount:
    """How many prompts (of ``total``) use a style, and how many use each of its keywords."""

    style: str
    count: int
    total: int
    keywords: tuple[tuple[str, int], ...]

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "style": self.style,
            "count": self.count,
            "total": self.total,
            "share": round(self.share, 4),
            "keywords": dict(self.keywords),
        }


@dataclass(frozen=True)
class Distribution:
    """A distribution of one parameter: ``count`` values (nulls left out), quantiles and the most
    common values. Quantiles are exact for integers; other values are counted at 4 significant
    digits (``generation_time`` at 3), ``min`` and ``max`` are exact."""

    count: int
    min: float | None = None
    median: float | None = None
    p90: float | None = None
    max: float | None = None
    common: tuple[tuple[float, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "min": self.min,
            "median": self.median,
            "p90": self.p90,
            "max": self.max,
            "common": [{"value": v, "count": n} for v, n in self.common],
        }


@dataclass(frozen=True)
class SizeCount:
    width: int
    height: int
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "count": self.count}


@dataclass(frozen=True)
class ModelParams:
    """Parameter distributions of one model."""

    model: str
    count: int
    steps: Distribution
    cfg_scale: Distribution
    generation_time: Distribution
    sizes: tuple[SizeCount, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "count": self.count,
            "steps": self.steps.to_dict(),
            "cfg_scale": self.cfg_scale.to_dict(),
            "generation_time": self.generation_time.to_dict(),
            "sizes": [s.to_dict() for s in self.sizes],
        }


@dataclass(frozen=True)
class PromptTemplate:
    """Prompts that normalise to the same ``template``, with their typical parameters.

    ``example`` is the exact prompt used most often in the group; ``best_rating`` the highest
    rating any of them has (None: none rated). ``median_steps``/``median_cfg_scale`` are medians,
    ``width``/``height`` the most common size, ``model`` the most common model.
    """

    template: str
    count: int
    example: str
    best_rating: int | None
    median_steps: float | None
    median_cfg_scale: float | None
    width: int | None
    height: int | None
    model: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "count": self.count,
            "example": self.example,
            "best_rating": self.best_rating,
            "median_steps": self.median_steps,
            "median_cfg_scale": self.median_cfg_scale,
            "width": self.width,
            "height": self.height,
            "model": self.model,
        }


@dataclass(frozen=True)
class HistoryItem:
    """One recent generation. ``prompt_head`` is the first 60 characters of the prompt with its
    whitespace collapsed."""

    created_at: datetime
    record_id: str
    prompt_head: str
    steps: int | None
    cfg_scale: float | None
    generation_time: float | None
    model: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "created_at": _iso(self.created_at),
            "record_id": self.record_id,
            "prompt_head": self.prompt_head,
            "steps": self.steps,
            "cfg_scale": self.cfg_scale,
            "generation_time": self.generation_time,
            "model": self.model,
        }


# --- shared helpers -----------------------------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    """UTC, whatever the engine returned (SQLite: naive UTC; PostgreSQL: the session's zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _aware(moment).isoformat().replace("+00:00", "Z")


def _conditions(catalog: Catalog, query: SearchQuery | None) -> list[Any] | None:
    """The WHERE conditions of ``query`` (complete rows only); None when nothing can match."""
    query = query or SearchQuery()
    if query.text and not query_tokens(query.text):
        return None
    return catalog.conditions(query)


def _pages(
    catalog: Catalog, columns: Sequence[Any], conds: Sequence[Any], batch: int
) -> Iterator[list[_Row]]:
    """Matching rows as pages of at most ``batch``, in id order (keyset paging: constant memory,
    and one short read transaction per page). ``columns`` must include ``records.c.id``."""
    if batch < 1:
        raise ValueError("batch must be 1 or more")
    last: int | None = None
    while True:
        stmt = select(*columns).where(*conds)
        if last is not None:
            stmt = stmt.where(records.c.id > last)
        stmt = stmt.order_by(records.c.id).limit(batch)
        with catalog.engine.connect() as conn:
            rows = list(conn.execute(stmt))
        if rows:
            yield rows
        if len(rows) < batch:
            return
        last = rows[-1].id


def _grouped(catalog: Catalog, stmt: Any) -> Iterator[_Row]:
    """Rows of an aggregate query, fetched as the caller iterates (server-side on PostgreSQL)."""
    with catalog.engine.connect() as conn:
        yield from conn.execution_options(yield_per=EXPORT_BATCH).execute(stmt)


def count_matching(catalog: Catalog, query: SearchQuery | None = None) -> int:
    """How many complete records match ``query`` (for progress bars)."""
    conds = _conditions(catalog, query)
    if conds is None:
        return 0
    with catalog.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(records).where(*conds)) or 0)


# --- styles -------------------------------------------------------------------------------------

_HAS_CJK = re.compile(f"[{_CJK}]")
_NOT_LATIN = re.compile(f"[{_CJK}_]+")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class _Keyword:
    text: str  # as the user wrote it (reported)
    folded: str
    words: re.Pattern[str] | None  # None: substring match

    @classmethod
    def of(cls, keyword: str) -> _Keyword:
        folded = _fold(keyword).strip()
        if _HAS_CJK.search(folded):
            return cls(keyword, folded, None)
        body = r"\s+".join(re.escape(part) for part in folded.split())
        return cls(keyword, folded, re.compile(rf"(?<!\w){body}(?!\w)"))

    def found_in(self, folded: str, latin: str) -> bool:
        if self.words is None:
            return self.folded in folded
        return self.words.search(latin) is not None


def merge_vocabulary(
    extra: Mapping[str, Sequence[str]],
    base: Mapping[str, Sequence[str]] = DEFAULT_VOCABULARY,
) -> dict[str, tuple[str, ...]]:
    """``base`` extended by ``extra``: a style in both gets the keywords of both (no repeats)."""
    merged = {name: tuple(words) for name, words in base.items()}
    for name, words in extra.items():
        merged[name] = tuple(dict.fromkeys((*merged.get(name, ()), *words)))
    return merged


def load_vocabulary(path: Path | str) -> dict[str, tuple[str, ...]]:
    """The default vocabulary extended by the ``[styles]`` table of the TOML file at ``path``.

    Each entry is ``name = ["keyword", ...]``; a name already in the default vocabulary gets the
    keywords added. A file without a ``[styles]`` table leaves the default unchanged. Raises
    :class:`CatalogError` for an unreadable file or a malformed table.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            doc = tomllib.load(handle)
    except OSError as exc:
        raise CatalogError(f"cannot read vocabulary file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"vocabulary file {path} is not valid TOML: {exc}") from None
    styles = doc.get("styles", {})
    if not isinstance(styles, dict):
        raise CatalogError(f"vocabulary file {path}: [styles] must be a table")
    extra: dict[str, list[str]] = {}
    for name, words in styles.items():
        if isinstance(words, str):
            words = [words]
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise CatalogError(
                f"vocabulary file {path}: styles.{name} must be a list of non-empty strings"
            )
        extra[name] = [w.strip() for w in words]
    return merge_vocabulary(extra)


def style_frequencies(
    catalog: Catalog,
    query: SearchQuery | None = None,
    vocabulary: Mapping[str, Sequence[str]] | None = None,
    *,
    batch: int = EXPORT_BATCH,
) -> list[StyleCount]:
    """How many prompts of complete records (matching ``query``) use each style.

    A prompt counts once per style however many of its keywords it holds; each keyword's count
    is the number of prompts holding it. Every style of the vocabulary is listed, most used
    first (then by name).
    """
    vocab = DEFAULT_VOCABULARY if vocabulary is None else vocabulary
    styles = {name: [_Keyword.of(w) for w in words if w.strip()] for name, words in vocab.items()}
    style_counts = dict.fromkeys(styles, 0)
    word_counts = {name: [0] * len(words) for name, words in styles.items()}
    total = 0
    conds = _conditions(catalog, query)
    if conds is not None:
        for page in _pages(catalog, [records.c.id, records.c.prompt], conds, batch):
            for row in page:
                total += 1
                folded = _fold(row.prompt)
                latin = _NOT_LATIN.sub(" ", folded)
                for name, words in styles.items():
                    hit = False
                    for i, word in enumerate(words):
                        if word.found_in(folded, latin):
                            word_counts[name][i] += 1
                            hit = True
                    if hit:
                        style_counts[name] += 1
    result = [
        StyleCount(
            style=name,
            count=style_counts[name],
            total=total,
            keywords=tuple((w.text, n) for w, n in zip(words, word_counts[name], strict=True)),
        )
        for name, words in styles.items()
    ]
    result.sort(key=lambda s: (-s.count, s.style))
    return result


# --- prompt templates ---------------------------------------------------------------------------

_QUOTES = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "「": '"', "」": '"', "『": '"', "』": '"'}
)
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SEPARATOR = re.compile(r"\s*[,;.!?|、。，；！？]+\s*")
_SPACE = re.compile(r"\s+")


def normalise_prompt(prompt: str) -> str:
    """The template of a prompt: NFKC, case-folded, numbers as ``#``, clause punctuation
    (``, ; . ! ? |`` and their full-width forms, ``、``, ``。``) as ``", "``, curly quotes and
    dashes unified, whitespace collapsed, separators stripped from both ends.

    ``"A cat, 8K"``, ``"a cat,  8k"`` and ``"A cat，8k。"`` all give ``"a cat, #k"``.
    """
    text = _fold(prompt).translate(_QUOTES)
    text = _DASHES.sub("-", text)
    text = _NUMBER.sub("#", text)
    text = _SEPARATOR.sub(", ", text)
    text = _SPACE.sub(" ", text)
    return text.strip(" ,")


class _FrequentItems:
    """Misra-Gries heavy hitters with at most ``capacity`` counters: when full, the median count
    is taken from every counter and those at or under it are dropped (amortised O(log C))."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.counts: dict[str, int] = {}

    def add(self, item: str, n: int) -> None:
        self.counts[item] = self.counts.get(item, 0) + n
        if len(self.counts) > self.capacity:
            ordered = sorted(self.counts.values())
            cut = ordered[(len(ordered) - 1) // 2]
            self.counts = {k: c - cut for k, c in self.counts.items() if c > cut}

    def top(self, limit: int) -> list[str]:
        return [k for k, _ in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))][:limit]


@dataclass
class _TemplateStats:
    count: int = 0
    best_rating: int | None = None
    prompts: Counter[str] = field(default_factory=Counter)
    steps: _ValueCounts = field(default_factory=lambda: _ValueCounts(None))
    cfg: _ValueCounts = field(default_factory=lambda: _ValueCounts(4))
    sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)


def prompt_templates(
    catalog: Catalog,
    query: SearchQuery | None = None,
    limit: int = 20,
    *,
    capacity: int = TEMPLATE_CAPACITY,
) -> list[PromptTemplate]:
    """The ``limit`` most used prompt templates (see :func:`normalise_prompt`), most used first.

    Two passes over ``GROUP BY prompt`` results, memory bounded by ``capacity`` templates: the
    first finds the candidates, the second counts them exactly and gathers their parameters.
    """
    conds = _conditions(catalog, query)
    if conds is None or limit < 1:
        return []
    c = records.c
    sketch = _FrequentItems(capacity)
    first = select(c.prompt, func.count()).where(*conds).group_by(c.prompt)
    for prompt, n in _grouped(catalog, first):
        sketch.add(normalise_prompt(prompt), int(n))
    wanted: dict[str, _TemplateStats] = {t: _TemplateStats() for t in sketch.top(limit)}
    if not wanted:
        return []
    key_columns = (c.prompt, c.model_name, c.steps, c.cfg_scale, c.width, c.height)
    second = (
        select(*key_columns, func.count().label("n"), func.max(c.rating).label("best"))
        .where(*conds)
        .group_by(*key_columns)
    )
    for row in _grouped(catalog, second):
        stats = wanted.get(normalise_prompt(row.prompt))
        if stats is None:
            continue
        n = int(row.n)
        stats.count += n
        stats.prompts[row.prompt] += n
        if row.best is not None and (stats.best_rating is None or row.best > stats.best_rating):
            stats.best_rating = int(row.best)
        if row.steps is not None:
            stats.steps.add(row.steps, n)
        if row.cfg_scale is not None:
            stats.cfg.add(row.cfg_scale, n)
        if row.width is not None and row.height is not None:
            stats.sizes[(row.width, row.height)] += n
        stats.models[row.model_name] += n
    result = []
    for template, stats in wanted.items():
        if stats.count == 0:  # deleted between the passes
            continue
        size = _most_common(stats.sizes)
        result.append(
            PromptTemplate(
                template=template,
                count=stats.count,
                example=_most_common(stats.prompts) or "",
                best_rating=stats.best_rating,
                median_steps=stats.steps.distribution().median,
                median_cfg_scale=stats.cfg.distribution().median,
                width=size[0] if size else None,
                height=size[1] if size else None,
                model=_most_common(stats.models),
            )
        )
    result.sort(key=lambda t: (-t.count, t.template))
    return result[:limit]


_T = TypeVar("_T", str, tuple[int, int])


def _most_common(counts: Counter[_T]) -> _T | None:
    """The most common item; ties go to the smallest (so results do not depend on row order)."""
    if not counts:
        return None
    best = max(counts.values())
    return min(k for k, n in counts.items() if n == best)


# --- parameter statistics -----------------------------------------------------------------------


class _ValueCounts:
    """Counts of values (not lists): quantiles in memory bounded by the distinct values.

    With ``digits`` set, values are counted rounded to that many significant digits, which bounds
    the distinct values of a continuous measure; ``min`` and ``max`` stay exact.
    """

    def __init__(self, digits: int | None) -> None:
        self.digits = digits
        self.counts: Counter[float] = Counter()
        self.low: float | None = None
        self.high: float | None = None

    def add(self, value: float, n: int = 1) -> None:
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)
        key = float(f"{value:.{self.digits}g}") if self.digits else value
        self.counts[key] += n

    def distribution(self) -> Distribution:
        total = sum(self.counts.values())
        if total == 0:
            return Distribution(0)
        ordered = sorted(self.counts.items())

        def at(rank: int) -> float:  # 1-based rank in the sorted values
            seen = 0
            for value, n in ordered:
                seen += n
                if seen >= rank:
                    return value
            return ordered[-1][0]

        low, high = at((total + 1) // 2), at(total // 2 + 1)
        median = low if low == high else (low + high) / 2
        common = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:_COMMON]
        return Distribution(
            count=total,
            min=self.low,
            median=median,
            p90=at(max(1, math.ceil(0.9 * total))),
            max=self.high,
            common=tuple(common),
        )


def parameter_stats(catalog: Catalog, model: str | None = None) -> list[ModelParams]:
    """Per model (or only ``model``): record count, distributions of steps, guidance and
    generation time, and the most common sizes. Most used model first."""
    c = records.c
    conds: list[Any] = catalog.conditions(SearchQuery(model=model))
    with catalog.engine.connect() as conn:
        per_model = list(
            conn.execute(select(c.model_name, func.count()).where(*conds).group_by(c.model_name))
        )
    measures: dict[str, dict[str, _ValueCounts]] = {
        name: {"steps": _ValueCounts(None), "cfg": _ValueCounts(4), "time": _ValueCounts(3)}
        for name, _ in per_model
    }
    for key, column in (("steps", c.steps), ("cfg", c.cfg_scale), ("time", c.generation_time)):
        stmt = (
            select(c.model_name, column, func.count())
            .where(*conds, column.is_not(None))
            .group_by(c.model_name, column)
        )
        for name, value, n in _grouped(catalog, stmt):
            if name in measures:  # a model first inserted after the count above
                measures[name][key].add(value, int(n))
    sizes: dict[str, Counter[tuple[int, int]]] = {name: Counter() for name, _ in per_model}
    stmt = (
        select(c.model_name, c.width, c.height, func.count())
        .where(*conds, c.width.is_not(None), c.height.is_not(None))
        .group_by(c.model_name, c.width, c.height)
    )
    for name, width, height, n in _grouped(catalog, stmt):
        if name in sizes:
            sizes[name][(width, height)] += int(n)
    result = [
        ModelParams(
            model=name,
            count=int(count),
            steps=measures[name]["steps"].distribution(),
            cfg_scale=measures[name]["cfg"].distribution(),
            generation_time=measures[name]["time"].distribution(),
            sizes=tuple(
                SizeCount(w, h, n)
                for (w, h), n in sorted(sizes[name].items(), key=lambda kv: (-kv[1], kv[0]))[
                    :_COMMON
                ]
            ),
        )
        for name, count in per_model
    ]
    result.sort(key=lambda m: (-m.count, m.model))
    return result


# --- history ------------------------------------------------------------------------------------

PROMPT_HEAD = 60


def history(catalog: Catalog, last: int = 20) -> list[HistoryItem]:
    """The ``last`` most recent generations (by creation time), newest first."""
    if last < 1:
        return []
    c = records.c
    stmt = (
        select(
            c.created_at,
            c.record_id,
            c.prompt,
            c.steps,
            c.cfg_scale,
            c.generation_time,
            c.model_name,
        )
        .where(c.state == "complete")
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(last)
    )
    with catalog.engine.connect() as conn:
        rows = list(conn.execute(stmt))
    return [
        HistoryItem(
            created_at=_aware(row.created_at),
            record_id=row.record_id,
            prompt_head=_SPACE.sub(" ", row.prompt).strip()[:PROMPT_HEAD],
            steps=row.steps,
            cfg_scale=row.cfg_scale,
            generation_time=row.generation_time,
            model=row.model_name,
        )
        for row in rows
    ]


# --- audit export -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _KeyState:
    public_key: str
    status: str
    revoked_at: str | None


def _stored_verification(
    row: _Row,
    policy: TrustPolicy,
    catalog_keys: Mapping[str, _KeyState],
    last_check: _Row | None,
    record: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The verification state of one catalogued record, from its stored envelope.

    ``signature`` is ``valid`` only if the envelope parses, its one signature verifies and its
    payload is exactly the stored record bytes. ``signer_status`` is the trust policy's view of
    the signing key, except that a revocation recorded in the catalog's key table is always
    reported (a revocation known anywhere is never hidden).
    """
    problem: str | None = None
    signature = "invalid"
    key_id: str = row.signer_key_id
    status = "unknown"
    trusted = False
    revoked_at: str | None = None
    public_b64: str | None = None
    try:
        envelope = Envelope.from_json(row.envelope)
        check = check_envelope(envelope, policy)
    except EnvelopeError as exc:
        problem = f"the stored envelope is unusable: {exc}"
    else:
        key_id, public_b64 = check.key_id, check.public_key.b64()
        decision = check.trust or policy.decide(check.public_key)
        status, revoked_at = decision.status, decision.revoked_at
        if not check.valid:
            problem = "the stored signature does not verify"
        elif envelope.payload != bytes(row.record_bytes):
            problem = "the stored record bytes differ from the signed payload"
        else:
            signature = "valid"
            trusted = decision.trusted
            if key_id != row.signer_key_id:
                problem = f"the row names signer {row.signer_key_id}, the envelope {key_id}"
            elif record is not None and record.get("record_id") != row.record_id:
                problem = "the row's record id differs from the signed record's"
    known = catalog_keys.get(key_id)
    if known is not None and known.status == "revoked" and known.public_key == public_b64:
        status, trusted = "revoked", False
        revoked_at = revoked_at or known.revoked_at
    return {
        "signature": signature,
        "signer_key_id": key_id,
        "signer_status": status,
        "trusted": trusted,
        "revoked_at": revoked_at,
        "problem": problem,
        "last_check": None
        if last_check is None
        else {
            "status": last_check.status,
            "checked_at": _iso(last_check.checked_at),
            "origin": last_check.origin,
        },
    }


def _page_context(
    catalog: Catalog, page: Sequence[_Row]
) -> tuple[dict[int, list[str]], dict[str, _KeyState], dict[str, _Row]]:
    """Tags, catalogued keys and the latest audit-log entry of one page of records."""
    ids = [row.id for row in page]
    record_ids = [row.record_id for row in page]
    key_ids = sorted({row.signer_key_id for row in page})
    v = verifications.c
    latest = (
        select(func.max(v.id)).where(v.record_id.in_(record_ids)).group_by(v.record_id)
    ).scalar_subquery()
    page_tags: dict[int, list[str]] = {}
    with catalog.engine.connect() as conn:
        for pk, tag in conn.execute(
            select(tags.c.record_pk, tags.c.tag)
            .where(tags.c.record_pk.in_(ids))
            .order_by(tags.c.record_pk, tags.c.tag)
        ):
            page_tags.setdefault(pk, []).append(tag)
        key_states = {
            r.key_id: _KeyState(r.public_key, r.status, r.revoked_at)
            for r in conn.execute(
                select(keys.c.key_id, keys.c.public_key, keys.c.status, keys.c.revoked_at).where(
                    keys.c.key_id.in_(key_ids)
                )
            )
        }
        checks = {
            r.record_id: r
            for r in conn.execute(
                select(v.record_id, v.status, v.checked_at, v.origin).where(v.id.in_(latest))
            )
        }
    return page_tags, key_states, checks


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def export_records(
    catalog: Catalog,
    query: SearchQuery,
    fmt: ExportFormat,
    out: TextIO,
    policy: TrustPolicy,
    *,
    batch: int = EXPORT_BATCH,
    progress: Callable[[int], object] | None = None,
) -> int:
    """Write every complete record matching ``query`` (its ``limit`` and ``cursor`` are ignored)
    to ``out``, oldest first, with its verification state; returns how many were written.

    ``jsonl``: one object per line with ``record_id``, ``file_path``, ``file_digest``,
    ``rating``, ``tags``, ``verification`` (see below) and ``record`` (the full signed record,
    parsed from the stored bytes). ``csv``: a header of :data:`CSV_COLUMNS`, then one row per
    record (tags joined with ``;``; values verbatim, so treat the file as data, not formulas).

    ``verification``: ``signature`` (``valid``/``invalid``), ``signer_key_id``,
    ``signer_status`` (``active``/``retired``/``revoked``/``unknown``), ``trusted``,
    ``revoked_at``, ``problem`` (why the record cannot be trusted, or null) and ``last_check``
    (the newest audit-log entry for the record: status, time, origin; or null). It comes from the
    stored envelope and the trust policy; the image file is never read.

    Rows are read in pages of ``batch`` by id, so memory stays constant whatever the catalog
    size; ``progress`` is called with the number of records written after each page.
    """
    if fmt not in ("jsonl", "csv"):
        raise CatalogError(f"unknown export format {fmt!r}; use jsonl or csv")
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    conds = _conditions(catalog, query)
    if conds is None:
        return 0
    written = 0
    for page in _pages(catalog, [records], conds, batch):
        page_tags, key_states, checks = _page_context(catalog, page)
        for row in page:
            try:
                record: dict[str, Any] | None = json.loads(row.record_bytes)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                record = None
            state = _stored_verification(row, policy, key_states, checks.get(row.record_id), record)
            row_tags = page_tags.get(row.id, [])
            if writer is None:
                line = {
                    "record_id": row.record_id,
                    "file_path": row.file_path,
                    "file_digest": row.file_digest,
                    "rating": row.rating,
                    "tags": row_tags,
                    "verification": state,
                    "record": record,
                }
                out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            else:
                last = state["last_check"] or {}
                values = {
                    **{name: getattr(row, name, None) for name in CSV_COLUMNS},
                    "created_at": row.created_at,
                    "tags": ";".join(row_tags),
                    "signature": state["signature"],
                    "signer_status": state["signer_status"],
                    "trusted": state["trusted"],
                    "problem": state["problem"],
                    "last_verification_status": last.get("status"),
                    "last_verified_at": last.get("checked_at"),
                }
                writer.writerow([_csv_value(values[name]) for name in CSV_COLUMNS])
            written += 1
        if progress is not None:
            progress(len(page))
    return written

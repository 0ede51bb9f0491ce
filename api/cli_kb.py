"""``aigc-prov kb styles|prompts|params``, ``history``, ``rate`` and ``export``.

The knowledge base and audit export commands over the catalog (see
:mod:`provenance.catalog.knowledge`). :func:`register` adds them to the main parser; the caller
says how to open the catalog and which trust policy an export checks signatures against. Errors
are raised as :class:`~provenance.errors.CatalogError` (the main program prints them and exits 2).

Human output is aligned tables measured in display columns, so Chinese lines up; ``--json``
prints what scripts read. ``export`` writes the data itself (JSON lines or CSV) to standard
output or ``--out FILE``.

:func:`add_filter_arguments` and :func:`query_from_args` are the search filters shared with
``search``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api._text import out as _out
from api.summaries import MOMENT_HINT, parse_moment
from provenance.errors import CatalogError

if TYPE_CHECKING:  # the catalog (SQLAlchemy) is imported by the commands that open it
    from provenance.catalog.knowledge import Distribution
    from provenance.catalog.store import Catalog, SearchQuery
    from provenance.signing.policy import TrustPolicy

    OpenCatalog = Callable[[argparse.Namespace], Catalog]
    PolicyFor = Callable[[argparse.Namespace], TrustPolicy]

__all__ = [
    "VOCABULARY_FILE",
    "add_filter_arguments",
    "cmd_export",
    "cmd_history",
    "cmd_kb_params",
    "cmd_kb_prompts",
    "cmd_kb_styles",
    "cmd_rate",
    "query_from_args",
    "register",
]

#: The vocabulary file ``kb styles`` reads from the data folder when it exists.
VOCABULARY_FILE = "styles.toml"


# --- output helpers -----------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    _out(json.dumps(value, ensure_ascii=False, indent=2))


def _width(text: str) -> int:
    """Display columns of ``text``: wide and full-width characters take two, combining none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _clip(text: str, columns: int) -> str:
    """``text`` cut to at most ``columns`` display columns (with an ellipsis when cut)."""
    if _width(text) <= columns:
        return text
    kept, used = [], 0
    for ch in text:
        w = _width(ch)
        if used + w > columns - 1:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + "…"


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> None:
    """Print an aligned table; columns whose index is in ``right`` are right-aligned. The last
    column is not padded."""
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for line in [list(headers), *[list(r) for r in rows]]:
        cells = []
        for i, cell in enumerate(line):
            pad = " " * (widths[i] - _width(cell))
            if i == len(line) - 1 and i not in right:
                cells.append(cell)
            else:
                cells.append(pad + cell if i in right else cell + pad)
        _out("  ".join(cells).rstrip())


def _num(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:g}{suffix}"


# --- opening the catalog ------------------------------------------------------------------------


@contextlib.contextmanager
def _catalog(args: argparse.Namespace) -> Iterator[Catalog]:
    """The catalog opened by the ``open_catalog`` given to :func:`register`, closed after use."""
    open_catalog: OpenCatalog = args.kb_open_catalog
    catalog = open_catalog(args)
    try:
        yield catalog
    finally:
        catalog.close()


# --- kb styles / prompts / params ---------------------------------------------------------------


def cmd_kb_styles(args: argparse.Namespace) -> int:
    from provenance.catalog.knowledge import load_vocabulary, style_frequencies

    vocabulary = None
    if args.vocabulary:
        vocabulary = load_vocabulary(Path(args.vocabulary))
    elif getattr(args, "home", None) is not None:
        default = Path(args.home) / VOCABULARY_FILE
        if default.is_file():
            vocabulary = load_vocabulary(default)
    with _catalog(args) as catalog:
        counts = style_frequencies(catalog, vocabulary=vocabulary)
    if args.json:
        _print_json([c.to_dict() for c in counts])
        return 0
    total = counts[0].total if counts else 0
    if total == 0:
        _out("no prompts in the catalog yet")
        return 0
    rows = [
        [
            c.style,
            str(c.count),
            f"{100 * c.share:.1f}%",
            ", ".join(f"{word} {n}" for word, n in c.keywords if n) or "-",
        ]
        for c in counts
    ]
    _table(["STYLE", "PROMPTS", "SHARE", "KEYWORDS"], rows, right=(1, 2))
    _out(f"{total} prompt{'s' if total != 1 else ''}")
    return 0


def cmd_kb_prompts(args: argparse.Namespace) -> int:
    from provenance.catalog.knowledge import prompt_templates

    with _catalog(args) as catalog:
        templates = prompt_templates(catalog, limit=args.limit)
    if args.json:
        _print_json([t.to_dict() for t in templates])
        return 0
    if not templates:
        _out("no prompts in the catalog yet")
        return 0
    rows = [
        [
            str(t.count),
            "-" if t.best_rating is None else str(t.best_rating),
            _num(t.median_steps),
            _num(t.median_cfg_scale),
            f"{t.width}x{t.height}" if t.width and t.height else "-",
            _clip(t.model or "-", 24),
            _clip(t.template or "(empty)", 70),
        ]
        for t in templates
    ]
    _table(["COUNT", "BEST", "STEPS", "CFG", "SIZE", "MODEL", "TEMPLATE"], rows, right=(0, 1, 2, 3))
    return 0


def _distribution_row(label: str, d: Distribution, unit: str = "") -> list[str]:
    common = ", ".join(f"{v:g}{unit} ({n})" for v, n in d.common) or "-"
    return [
        label,
        str(d.count),
        _num(d.min, unit),
        _num(d.median, unit),
        _num(d.p90, unit),
        _num(d.max, unit),
        common,
    ]


def cmd_kb_params(args: argparse.Namespace) -> int:
    from provenance.catalog.knowledge import parameter_stats

    with _catalog(args) as catalog:
        stats = parameter_stats(catalog, model=args.model)
    if args.json:
        _print_json([m.to_dict() for m in stats])
        return 0
    if not stats:
        _out(f"no records of model {args.model}" if args.model else "no records in the catalog yet")
        return 0
    for i, m in enumerate(stats):
        if i:
            _out()
        _out(f"{m.model}  ({m.count} record{'s' if m.count != 1 else ''})")
        _table(
            ["", "N", "MIN", "MEDIAN", "P90", "MAX", "MOST COMMON"],
            [
                _distribution_row("  steps", m.steps),
                _distribution_row("  cfg", m.cfg_scale),
                _distribution_row("  time", m.generation_time, "s"),
            ],
            right=(1, 2, 3, 4, 5),
        )
        sizes = ", ".join(f"{s.width}x{s.height} ({s.count})" for s in m.sizes) or "-"
        _out(f"  sizes  {sizes}")
    return 0


# --- history / rate -----------------------------------------------------------------------------


def cmd_history(args: argparse.Namespace) -> int:
    from provenance.catalog.knowledge import history

    with _catalog(args) as catalog:
        items = history(catalog, last=args.last)
    if args.json:
        _print_json([item.to_dict() for item in items])
        return 0
    if not items:
        _out("no generations in the catalog yet")
        return 0
    rows = [
        [
            item.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            item.record_id,
            _num(item.steps),
            _num(item.cfg_scale),
            _num(item.generation_time, "s"),
            _clip(item.model, 24),
            item.prompt_head,
        ]
        for item in items
    ]
    _table(
        ["CREATED (UTC)", "RECORD ID", "STEPS", "CFG", "TIME", "MODEL", "PROMPT"],
        rows,
        right=(2, 3, 4),
    )
    return 0


def cmd_rate(args: argparse.Namespace) -> int:
    with _catalog(args) as catalog:
        catalog.rate(args.record_id, args.rating)
    if args.json:
        _out(json.dumps({"record_id": args.record_id, "rating": args.rating}))
    else:
        _out(f"rated {args.record_id} {args.rating}/5")
    return 0


# --- export -------------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from provenance.catalog.knowledge import count_matching, export_records

    policy_for: PolicyFor = args.kb_policy_for
    policy = policy_for(args)
    query = query_from_args(args)
    with _catalog(args) as catalog:
        if not args.out or args.out == "-":
            export_records(catalog, query, args.format, sys.stdout, policy)
            sys.stdout.flush()
            return 0
        target = Path(args.out)
        partial = target.with_name(f".{target.name}.partial")
        total = count_matching(catalog, query)
        try:
            with (
                partial.open("w", encoding="utf-8", newline="") as handle,
                tqdm(
                    total=total,
                    desc="exporting",
                    unit="record",
                    file=sys.stderr,
                    disable=None,  # only on a terminal
                    leave=False,
                ) as bar,
            ):
                count = export_records(
                    catalog, query, args.format, handle, policy, progress=bar.update
                )
            os.replace(partial, target)
        except OSError as exc:
            raise CatalogError(f"cannot write {target}: {exc.strerror}") from None
        finally:
            partial.unlink(missing_ok=True)
    sys.stderr.write(f"exported {count} record{'s' if count != 1 else ''} to {target}\n")
    return 0


# --- arguments ----------------------------------------------------------------------------------


def _int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(
                f"must be {low} or more" if high is None else f"must be from {low} to {high}"
            )
        return value

    return parse


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _moment(end_of_day: bool) -> Callable[[str], datetime]:
    def parse(text: str) -> datetime:
        try:
            return parse_moment(text, end_of_day=end_of_day)
        except (ValueError, OverflowError):  # OverflowError: past the representable UTC range
            raise argparse.ArgumentTypeError(
                f"not a date or time: {text!r} ({MOMENT_HINT})"
            ) from None

    return parse


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """The filters of ``search`` (all optional, combined with AND)."""
    group = parser.add_argument_group("filters")
    group.add_argument("--model", help="model name, exactly")
    group.add_argument("--seed", type=_int_range(0))
    group.add_argument("--steps-min", type=_int_range(0), metavar="N")
    group.add_argument("--steps-max", type=_int_range(0), metavar="N")
    group.add_argument("--cfg-min", type=_float, metavar="X")
    group.add_argument("--cfg-max", type=_float, metavar="X")
    group.add_argument("--width", type=_int_range(1), metavar="W")
    group.add_argument("--height", type=_int_range(1), metavar="H")
    group.add_argument(
        "--since", type=_moment(False), metavar="DATE", help="created at or after (UTC)"
    )
    group.add_argument(
        "--until",
        type=_moment(True),
        metavar="DATE",
        help="created at or before (UTC; a bare date includes that whole day)",
    )
    group.add_argument("--signer", metavar="KEYID", help="signing key id or a prefix of it")
    group.add_argument("--rating-min", type=_int_range(1, 5), metavar="R")
    group.add_argument("--tag")


def query_from_args(args: argparse.Namespace, text: str | None = None) -> SearchQuery:
    """The :class:`SearchQuery` of the filters added by :func:`add_filter_arguments`."""
    from provenance.catalog.store import SearchQuery

    return SearchQuery(
        text=text if text is not None else getattr(args, "text", None),
        model=args.model,
        seed=args.seed,
        steps_min=args.steps_min,
        steps_max=args.steps_max,
        cfg_min=args.cfg_min,
        cfg_max=args.cfg_max,
        width=args.width,
        height=args.height,
        since=args.since,
        until=args.until,
        signer=args.signer,
        rating_min=args.rating_min,
        tag=args.tag,
    )


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    open_catalog: OpenCatalog,
    policy_for: PolicyFor,
) -> None:
    """Add ``kb``, ``history``, ``rate`` and ``export`` to the main parser's subcommands.

    ``open_catalog(args)`` opens the catalog a command uses (the command closes it);
    ``policy_for(args)`` is the trust policy ``export`` checks stored signatures against (it
    sees the ``--key`` option ``export`` adds, like ``verify``).
    """
    bound = {"kb_open_catalog": open_catalog, "kb_policy_for": policy_for}

    kb = sub.add_parser("kb", help="the prompt knowledge base: styles, prompt templates, params")
    kbsub = kb.add_subparsers(dest="kb_command", required=True, metavar="ACTION")
    p = kbsub.add_parser("styles", help="how often each style keyword appears in prompts")
    p.add_argument(
        "--vocabulary",
        metavar="FILE",
        help=f"TOML file whose [styles] table extends the default vocabulary "
        f"(default: {VOCABULARY_FILE} in the data folder, if present)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kb_styles, **bound)
    p = kbsub.add_parser("prompts", help="the most used prompt templates, with typical parameters")
    p.add_argument("--limit", type=_int_range(1), default=20, metavar="N", help="default: 20")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kb_prompts, **bound)
    p = kbsub.add_parser("params", help="steps, guidance, size and time distributions per model")
    p.add_argument("--model", help="only this model")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kb_params, **bound)

    p = sub.add_parser("history", help="recent generations, newest first")
    p.add_argument("--last", type=_int_range(1), default=20, metavar="N", help="default: 20")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history, **bound)

    p = sub.add_parser("rate", help="rate a catalogued record from 1 to 5")
    p.add_argument("record_id", metavar="RECORD_ID")
    p.add_argument("rating", type=_int_range(1, 5), metavar="RATING", help="1 to 5")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rate, **bound)

    p = sub.add_parser(
        "export",
        help="stream every matching record with its verification state (JSON lines or CSV)",
    )
    p.add_argument("--format", choices=("jsonl", "csv"), required=True)
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output (-)")
    p.add_argument("--text", metavar="TEXT", help="full-text query, as in search")
    p.add_argument(
        "--key",
        action="append",
        metavar="PUBLIC_KEY_FILE",
        help="judge signers by only these public keys instead of the key ring (repeatable)",
    )
    add_filter_arguments(p)
    p.set_defaults(func=cmd_export, **bound)

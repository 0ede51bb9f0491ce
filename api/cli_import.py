"""``aigc-prov import``: bring folders of existing outputs under the catalog (a thin layer over
:mod:`provenance.importer`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api._text import out as _out
from api.cli_generate import Hooks
from provenance.errors import RecordInputError

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["register"]

EXIT_OK, EXIT_FAILED = 0, 1


def cmd_import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from provenance.importer import find_images, import_files

    hooks: Hooks = args.hooks
    folder = Path(args.folder)
    if not folder.is_dir():
        raise RecordInputError(f"{folder} is not a folder")
    paths = find_images(folder, args.recursive)
    copies = Path(args.out) if args.sign else None
    if copies is not None and copies.resolve().is_relative_to(folder.resolve()) and args.recursive:
        paths = [p for p in paths if not p.resolve().is_relative_to(copies.resolve())]
    key = hooks.signing_key(args)
    bar = tqdm(
        total=len(paths),
        desc="importing",
        unit="file",
        file=sys.stderr,
        disable=True if args.json else None,
    )
    with hooks.open_catalog(args) as catalog:
        report = import_files(
            catalog,
            paths,
            key=key,
            policy=hooks.policy(args),
            root=folder,
            sign_copies_to=copies,
            workers=args.workers,
            bind_pixels=args.pixels,
            on_file=lambda _path, _outcome: _tick(bar),
        )
    bar.close()
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
    else:
        _out(
            f"imported {len(report.imported)}, skipped {len(report.skipped)} (already "
            f"catalogued), unreadable {len(report.failed)}"
        )
        for item in report.failed:
            _out(f"  unreadable: {item['file']}: {item['reason']}")
    return EXIT_FAILED if report.failed else EXIT_OK


def _tick(bar: tqdm[Any]) -> None:
    bar.update(1)


def register(sub: Any, hooks: Hooks) -> None:
    text = "bring a folder of existing images (any tool) into the catalog"
    p = sub.add_parser(
        "import",
        help=text,
        description=text + "; files already imported are skipped, so a run can be repeated or "
        "resumed",
        epilog="Exit codes: 0 every file imported or skipped, 1 some files could not be read "
        "(listed), 2 usage error.",
    )
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--recursive", action="store_true", help="also import sub-folders")
    p.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes reading files (default: up to 4, one per core)",
    )
    p.add_argument(
        "--pixels",
        action="store_true",
        help="also decode each image so that its record binds its pixels and perceptual hash "
        "(re-encoded copies are then found by their looks; several times slower); without it "
        "the record binds the file's bytes",
    )
    p.add_argument(
        "--sign",
        action="store_true",
        help="also write a signed PNG copy of each image (a sidecar for files whose "
        "C2PA or NovelAI signature must stay intact) under --out",
    )
    p.add_argument(
        "--out", default="imported", metavar="DIR", help="where --sign writes (default: ./imported)"
    )
    p.add_argument(
        "--json", action="store_true", help="print {imported, skipped, failed} as one JSON object"
    )
    p.set_defaults(func=cmd_import, hooks=hooks)

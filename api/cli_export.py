"""``aigc-prov export-image``: a signed JPEG or WebP copy of one of our signed images (a thin
layer over :mod:`provenance.export`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from api._text import out as _out
from api.cli_generate import Hooks
from provenance.errors import RecordInputError
from provenance.export import DEFAULT_QUALITY, EXPORT_FORMATS, export_image

__all__ = ["register"]

EXIT_OK = 0
_SUFFIX = {"jpeg": ".jpg", "webp": ".webp"}


def _quality(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("must be from 1 to 100")
    return value


def cmd_export_image(args: argparse.Namespace) -> int:
    hooks: Hooks = args.hooks
    fmt: str = args.format
    with hooks.open_catalog(args) as catalog:
        source: str | Path = args.source
        if args.out:
            out = Path(args.out)
        else:
            path = Path(args.source)
            if not path.exists():
                row = catalog.get(args.source)
                if row is None or not row.file_path:
                    raise RecordInputError(
                        f"{args.source} is neither a file nor a catalogued record with a file"
                    )
                path = Path(row.file_path)
            out = path.with_suffix(_SUFFIX[fmt])
        key = hooks.signing_key(args)
        try:
            result = export_image(
                source,
                key,
                out,
                fmt=fmt,
                quality=args.quality,
                policy=hooks.policy(args),
                overwrite=args.overwrite,
                catalog=catalog,
            )
        except FileExistsError as exc:
            raise RecordInputError(f"{exc}; pass --overwrite to replace it") from None
    if args.json:
        doc = {
            "file": str(result.path),
            "sidecar": str(result.sidecar),
            "record_id": result.record_id,
            "parent_record_id": result.parent_record_id,
            "format": fmt,
            "quality": args.quality,
            "record_in_sidecar_only": result.sidecar_only,
            "key_id": key.key_id,
        }
        sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
    else:
        _out(
            f"exported {result.path}  record={result.record_id}  "
            f"parent={result.parent_record_id}  key={key.key_id}"
        )
        if result.sidecar_only:
            _out(
                f"  the record is too large for the file: its full signed form is in "
                f"{result.sidecar} (keep the two together)"
            )
    return EXIT_OK


def register(sub: Any, hooks: Hooks) -> None:
    text = "export a signed image as JPEG or WebP, signed as a new record whose parent it is"
    p = sub.add_parser(
        "export-image",
        help=text,
        description=text + ". The source must verify (valid, trusted signature; unchanged "
        "content); it is never modified. The copy carries EXIF (UserComment infotext, Software) "
        "and XMP (IPTC and TC260 labels, the signed record) and gets a sidecar OUT.json.",
        epilog="Exit codes: 0 exported, 2 usage error, unusable or unverified source.",
    )
    p.add_argument(
        "source",
        metavar="RECORD_ID|FILE",
        help="one of our signed images, or a record id whose file the catalog knows",
    )
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument(
        "--quality",
        type=_quality,
        default=DEFAULT_QUALITY,
        help=f"encoder quality 1-100 (default {DEFAULT_QUALITY})",
    )
    p.add_argument(
        "--out", metavar="FILE", help="default: the source's name with .jpg or .webp, beside it"
    )
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=cmd_export_image, hooks=hooks)

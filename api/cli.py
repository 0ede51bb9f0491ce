"""``aigc-prov``: the command line, a thin layer over the provenance library.

Exit codes: 0 success (for ``verify``: every file verified or verified_reencoded); 1 a file did
not verify; 2 usage error or unusable input (missing file, no key, bad record, wrong passphrase).

Only this layer reads the environment (see :mod:`api.settings`): ``AIGC_PROV_HOME``,
``AIGC_PROV_CATALOG`` and ``AIGC_PROV_KEY_PASSPHRASE``.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from blake3 import blake3

from api._text import printable
from api.cli_export import register as register_export
from api.cli_generate import Hooks, generate_demo
from api.cli_generate import register as register_generate
from api.cli_import import register as register_import
from api.cli_kb import add_filter_arguments, query_from_args, register
from api.cli_serve import register as register_serve
from api.settings import ENV_CATALOG, ENV_HOME, ENV_PASSPHRASE, catalog_url, default_home
from api.summaries import row_summary
from provenance import (
    Attestation,
    KeyRing,
    KeyRingPolicy,
    ProvenanceError,
    PublicKey,
    Status,
    TrustedKeys,
    TrustPolicy,
    __version__,
    draft_from_attestation,
    draft_from_file,
    finalize,
    verify,
)
from provenance.errors import RecordInputError
from provenance.finalize import open_image, sidecar_path
from provenance.inspect import Inspection, inspect, inspect_metadata

if TYPE_CHECKING:  # the catalog (SQLAlchemy) and tqdm are imported where they are used
    from tqdm import tqdm

    from provenance.catalog.store import Catalog

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("aigc_prov")


class UsageError(Exception):
    """A command-line problem that exits with code 2."""


# --- environment, only here -------------------------------------------------------------------


def _passphrase(confirm: bool = False) -> bytes:
    value = os.environ.get(ENV_PASSPHRASE)
    if value:
        return value.encode("utf-8")
    if not sys.stdin.isatty():
        raise UsageError(f"a passphrase is needed: set {ENV_PASSPHRASE} or run in a terminal")
    first = getpass.getpass("Key passphrase: ")
    if confirm and getpass.getpass("Repeat passphrase: ") != first:
        raise UsageError("the two passphrases differ")
    if not first:
        raise UsageError("an empty passphrase is not allowed")
    return first.encode("utf-8")


def _ring(args: argparse.Namespace) -> KeyRing:
    return KeyRing.open(args.home / "keys")


def _signing_key(ring: KeyRing) -> Any:
    return ring.signing_key(_passphrase() if ring.is_encrypted() else None)


def _signing_key_or_new(args: argparse.Namespace) -> Any:
    """The active signing key; on first use a new one is created (as ``keys init`` would)."""
    ring = _ring(args)
    if ring.active_local() is None:
        entry = ring.init()
        print(f"created signing key {entry.key_id} in {ring.directory}", file=sys.stderr)
    return _signing_key(ring)


def _policy(args: argparse.Namespace) -> TrustPolicy:
    keys = getattr(args, "key", None)
    if keys:
        return TrustedKeys(_read_public_key(Path(p)) for p in keys)
    return KeyRingPolicy(_ring(args))


def _read_public_key(path: Path) -> PublicKey:
    try:
        return PublicKey.from_pem(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read public key {path}: {exc.strerror}") from None


def _catalog_url(args: argparse.Namespace) -> str:
    return catalog_url(args.home, args.catalog)


def _open_catalog(args: argparse.Namespace) -> Catalog:
    """The catalog, created (migrated) on first use."""
    from provenance.catalog.store import Catalog

    catalog = Catalog.open(_catalog_url(args))
    ring = KeyRing.open(args.home / "keys")
    catalog.sync_keys(ring.entries())
    return catalog


def _existing_catalog(args: argparse.Namespace) -> Catalog | None:
    """The catalog if there is one (verify and inspect never create one)."""
    url = _catalog_url(args)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return None
    from provenance.catalog.store import Catalog  # SQLAlchemy: only when there is a catalog

    return Catalog.open(url, create=False)


# --- keys ---------------------------------------------------------------------------------------


def cmd_keys_init(args: argparse.Namespace) -> int:
    ring = _ring(args)
    entry = ring.init(_passphrase(confirm=True) if args.encrypt else None, label=args.label)
    print(f"created signing key {entry.key_id} in {ring.directory}")
    return EXIT_OK


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    ring = _ring(args)
    old = ring.active_local()
    entry = ring.rotate(_passphrase(confirm=True) if args.encrypt else None, label=args.label)
    if old is not None:
        print(f"retired {old.key_id}")
    print(f"new active signing key {entry.key_id}")
    return EXIT_OK


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    entry = _ring(args).revoke(args.key_id, reason=args.reason)
    print(f"revoked {entry.key_id} at {entry.revoked_at}")
    return EXIT_OK


def cmd_keys_list(args: argparse.Namespace) -> int:
    entries = _ring(args).entries()
    if args.json:
        print(json.dumps([e.to_json() for e in entries], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not entries:
        print("no keys; create one with `aigc-prov keys init`")
        return EXIT_OK
    print(f"{'KEY ID':32}  {'STATUS':8}  {'ORIGIN':7}  {'ADDED':27}  CHANGED")
    for e in entries:
        changed = (
            (e.revoked_at and f"revoked {e.revoked_at}")
            or (e.retired_at and f"retired {e.retired_at}")
            or ""
        )
        label = f"  ({e.label})" if e.label else ""
        print(
            f"{e.key_id:32}  {e.status.value:8}  {e.origin.value:7}  {e.added_at:27}  "
            f"{changed}{label}"
        )
    return EXIT_OK


def cmd_keys_export(args: argparse.Namespace) -> int:
    ring = _ring(args)
    entry = ring.find(args.key_id) if args.key_id else ring.active_local()
    if entry is None:
        raise UsageError("no active signing key to export; create one with `aigc-prov keys init`")
    pem = entry.public_key.to_pem()
    if args.out:
        Path(args.out).write_bytes(pem)
        print(f"wrote public key {entry.key_id} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(pem.decode("ascii"))
    return EXIT_OK


def cmd_keys_trust(args: argparse.Namespace) -> int:
    public = _read_public_key(Path(args.public_key_file))
    entry = _ring(args).trust(public, label=args.label)
    print(f"trusted key {entry.key_id}")
    return EXIT_OK


# --- sign -------------------------------------------------------------------------------------


def cmd_sign(args: argparse.Namespace) -> int:
    image_path = Path(args.image)
    if args.record:
        if args.prompt is not None:
            raise UsageError("give either --prompt (and facts) or --record, not both")
        draft = draft_from_file(Path(args.record))
    elif args.prompt is not None:
        draft = draft_from_attestation(
            Attestation(
                prompt=args.prompt,
                negative_prompt=args.negative_prompt or "",
                seed=args.seed,
                steps=args.steps,
                cfg_scale=args.cfg,
                model=args.model or "unknown",
                sampler=args.sampler,
            )
        )
    else:
        raise UsageError("say how the image was made: --prompt TEXT [...] or --record RECORD.json")
    out = Path(args.out) if args.out else image_path.with_name(f"{image_path.stem}.signed.png")
    if out.resolve() == image_path.resolve():
        raise UsageError("the output would replace the original; choose another --out")
    if args.record and sidecar_path(out).resolve() == Path(args.record).resolve():
        raise UsageError("the new sidecar would replace the --record file; choose another --out")
    if out.suffix.lower() != ".png":
        raise UsageError(
            f"signed images are PNG files; use an --out ending in .png, not {out.name}"
        )
    ring = _ring(args)
    key = _signing_key(ring)
    image = open_image(image_path)
    with _open_catalog(args) as catalog:
        try:
            result = finalize(
                image,
                draft,
                key,
                out,
                producer=args.producer,
                overwrite=args.overwrite,
                catalog=catalog,
            )
        except FileExistsError as exc:
            raise UsageError(f"{exc}; pass --overwrite to replace it") from None
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(result.path),
                    "sidecar": str(result.sidecar),
                    "record_id": result.record_id,
                    "key_id": key.key_id,
                }
            )
        )
    else:
        print(f"signed {result.path}  record={result.record_id}  key={key.key_id}")
    return EXIT_OK


# --- verify / inspect ---------------------------------------------------------------------------


@contextmanager
def _progress(items: Sequence[str], what: str) -> Iterator[tqdm[str]]:
    from tqdm import tqdm

    bar = tqdm(
        items,
        desc=what,
        unit="file",
        file=sys.stderr,
        disable=None if len(items) > 1 else True,
        leave=False,
    )
    try:
        yield bar
    finally:
        bar.close()


def _emit(bar: tqdm[str], line: str) -> None:
    if bar.disable:
        print(line)
    else:
        bar.write(line, file=sys.stdout)


def _file_digest(path: str) -> str:
    digest = blake3()
    with open(path, "rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def cmd_verify(args: argparse.Namespace) -> int:
    policy = _policy(args)
    catalog = None if args.no_catalog else _existing_catalog(args)
    try:
        return _verify_files(args, policy, catalog)
    finally:
        if catalog is not None:
            catalog.close()


def _verify_files(args: argparse.Namespace, policy: TrustPolicy, catalog: Catalog | None) -> int:
    exit_code = EXIT_OK
    with _progress(args.files, "verifying") as bar:
        for name in bar:
            try:
                report = verify(name, policy=policy, force_pixels=args.pixels, catalog=catalog)
                if catalog is not None:  # the audit log: every verification
                    catalog.log_verification(
                        input_digest=report.input_digest or _file_digest(name),
                        input_name=name,
                        origin="cli",
                        status=report.status.value,
                        record_id=report.record_id,
                        signer_key_id=report.signer.key_id if report.signer else None,
                        findings=[f.to_dict() for f in report.findings],
                    )
            except OSError as exc:
                _emit(
                    bar,
                    json.dumps(
                        {"file": name, "status": "error", "message": f"cannot read: {exc.strerror}"}
                    )
                    if args.json
                    else f"ERROR {name}: cannot read: {exc.strerror}",
                )
                exit_code = EXIT_USAGE
                continue
            if not report.status.passed and exit_code == EXIT_OK:
                exit_code = EXIT_FAILED
            if args.json:
                _emit(bar, json.dumps(report.to_dict(), ensure_ascii=False))
            else:
                _emit(bar, _verify_line(report))
    return exit_code


def _verify_line(report: Any) -> str:
    status: Status = report.status
    head = "OK  " if status.passed else "FAIL"
    failures = [f.message for f in report.findings if f.kind == "failure"]
    signer = f"  signer={report.signer.key_id} ({report.signer.status})" if report.signer else ""
    rid = f"  record={report.record_id}" if report.record_id else ""
    why = f"  -- {failures[0]}" if failures else ""
    notes = [f.message for f in report.findings if f.code == "container_changed"]
    if notes:
        why = f"  -- {notes[0]}"
    return printable(f"{head} {status.value:19} {report.source}{rid}{signer}{why}")


def cmd_inspect(args: argparse.Namespace) -> int:
    policy = None if args.metadata_only else _policy(args)
    exit_code = EXIT_OK
    with _progress(args.files, "inspecting") as bar:
        for name in bar:
            try:
                found = inspect_metadata(name) if policy is None else inspect(name, policy=policy)
            except OSError as exc:
                _emit(bar, f"ERROR {name}: cannot read: {exc.strerror}")
                exit_code = EXIT_USAGE
                continue
            if args.json:
                _emit(bar, json.dumps(found.to_dict(), ensure_ascii=False))
            else:
                _emit(bar, _inspect_text(found))
    return exit_code


def _inspect_text(found: Inspection) -> str:
    lines = [found.source]
    report = found.report
    if found.width:
        color = f" {found.color}" if found.color else ""
        lines.append(f"  image: {found.container} {found.width}x{found.height}{color}")
    elif found.container:
        lines.append(f"  image: {found.container}")
    if found.read_error:
        lines.append(f"  unreadable: {found.read_error}")
    view = found.extraction
    if view is not None and view.tool.get("name"):
        version = f" {view.tool['version']}" if view.tool.get("version") else ""
        lines.append(f"  tool: {view.tool['name']}{version}")
        for key, value in view.generation.items():
            if value is not None:
                shown = str(value).replace("\n", "\n      ")
                lines.append(f"  {key}: {shown}")
    if view is not None:
        for mark in view.labels:
            lines.append(f"  label [{mark.scheme}] at {mark.location}: {mark.value}")
    for text in found.texts:
        value = text["text"]
        if text["keyword"] == "AIGCProvenance":
            value = f"<signed envelope, {len(value)} characters>"
        elif text["keyword"] == "XML:com.adobe.xmp":
            value = f"<XMP packet, {len(value)} characters>"
        where = " (after image data)" if text["after_idat"] else ""
        shown = value.replace("\n", "\n      ")
        lines.append(f"  {text['keyword']} [{text['chunk']}]{where}: {shown}")
    if found.xmp is not None:
        for attr, label in (
            ("digital_source_type", "DigitalSourceType"),
            ("aigc_raw", "TC260:AIGC"),
            ("creator_tool", "CreatorTool"),
            ("create_date", "CreateDate"),
            ("record_id", "RecordID"),
        ):
            value = getattr(found.xmp, attr)
            if value is not None:
                lines.append(f"  XMP {label}: {value}")
    if found.xmp_error:
        lines.append(f"  XMP unreadable: {found.xmp_error}")
    other = {
        k: v
        for k, v in found.chunk_counts.items()
        if k not in ("IHDR", "IDAT", "IEND", "tEXt", "zTXt", "iTXt")
    }
    if other:
        lines.append("  other chunks: " + ", ".join(f"{k} x{v}" for k, v in sorted(other.items())))
    if report is None:  # --metadata-only: what each location holds, instead of the chunk list
        raw = dict(view.raw) if view is not None else {}
        problems = raw.pop("problems", [])
        for location, value in raw.items():
            shown = str(value).replace("\n", "\n      ")
            lines.append(f"  {location}: {shown}")
        lines += [f"  problem: {sentence}" for sentence in problems]
        return printable("\n".join(lines))
    lines.append(f"  verification: {report.status.value} ({report.status.describe()})")
    lines += [f"    [{f.code}] {f.message}" for f in report.findings]
    if report.record is not None:
        body = json.dumps(report.record, ensure_ascii=False, indent=2).replace("\n", "\n    ")
        lines.append(f"  signed record:\n    {body}")
    return printable("\n".join(lines))


# --- catalog: db, search, fsck -------------------------------------------------------------------


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from provenance.catalog.store import upgrade_catalog

    before, after = upgrade_catalog(_catalog_url(args))
    if before == after:
        print(f"catalog already at revision {after}")
    else:
        print(f"catalog upgraded from revision {before or '(empty)'} to {after}")
    return EXIT_OK


def cmd_db_status(args: argparse.Namespace) -> int:
    from provenance.catalog.store import Catalog, redact_url

    with Catalog.open(_catalog_url(args), create=False) as catalog:
        info = {
            "url": redact_url(catalog.url),
            "dialect": catalog.dialect,
            "records": catalog.count(),
        }
    if args.json:
        print(json.dumps(info))
    else:
        print(f"{info['url']} ({info['dialect']}): {info['records']} records")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    with _open_catalog(args) as catalog:
        query = query_from_args(args, args.text)
        page = catalog.search(replace(query, limit=args.limit, cursor=args.cursor, sort=args.sort))
    if args.json:
        print(
            json.dumps(
                {"results": [row_summary(r) for r in page.rows], "next_cursor": page.next_cursor},
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    for row in page.rows:
        when = row.created_at.strftime("%Y-%m-%d %H:%M") if row.created_at else ""
        head = row.prompt.replace("\n", " ")[:60]
        print(
            printable(
                f"{row.record_id}  {when}  {row.model_name[:24]:24}  seed={row.seed}  "
                f"steps={row.steps}  cfg={row.cfg_scale}  {head}"
            )
        )
    if not page.rows:
        print("no matching records")
    if page.next_cursor:
        print(f"more: --cursor {page.next_cursor}", file=sys.stderr)
    return EXIT_OK


def cmd_tag(args: argparse.Namespace) -> int:
    with _open_catalog(args) as catalog:
        catalog.add_tags(args.record_id, args.tags)
        tags = catalog.tags_of(args.record_id)
    if args.json:
        print(json.dumps({"record_id": args.record_id, "tags": tags}, ensure_ascii=False))
    else:
        print(printable(f"{args.record_id}: {', '.join(tags)}"))
    return EXIT_OK


def cmd_fsck(args: argparse.Namespace) -> int:
    from provenance.catalog.fsck import fsck

    with _open_catalog(args) as catalog:
        result = fsck(
            catalog,
            policy=_policy(args),
            folders=[Path(f) for f in args.folders],
            repair=not args.no_repair,
        )
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        verb = "would be" if args.no_repair else "were"
        print(f"checked {result.checked} records")
        for label, items in (
            ("completed", result.completed),
            ("dropped", result.dropped),
            ("imported", result.imported),
        ):
            if items:
                print(f"{len(items)} {label} ({verb} repaired): " + ", ".join(items[:10]))
        for record_id, file in result.missing:
            print(f"MISSING {record_id}: {file}")
        for record_id, file in result.changed:
            print(f"CHANGED {record_id}: {file}")
        for file, why in result.skipped:
            print(f"SKIPPED {file}: {why}")
        print("consistent" if result.consistent else "inconsistent: files are missing or changed")
    return EXIT_OK if result.consistent else EXIT_FAILED


# --- demo: the README's main job -----------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    written: list[Path] = []
    code = generate_demo(args, written)
    if code != EXIT_OK:
        return code
    ring = _ring(args)
    with _open_catalog(args) as catalog:
        reports = [verify(path, policy=KeyRingPolicy(ring), catalog=catalog) for path in written]
    for report in reports:
        print(_verify_line(report))
    return EXIT_OK if all(r.status.passed for r in reports) else EXIT_FAILED


# --- parser ---------------------------------------------------------------------------------------


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aigc-prov",
        description="Sign AI-generated images with provenance records and verify them.",
        epilog="Exit codes: 0 success, 1 a file did not verify, 2 usage error or unusable input.",
    )
    parser.add_argument("--version", action="version", version=f"aigc-prov {__version__}")
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help=f"data folder (default: ${ENV_HOME} or ~/.local/share/aigc-provenance)",
    )
    parser.add_argument(
        "--catalog",
        metavar="URL",
        help=f"catalog URL (default: ${ENV_CATALOG} or SQLite <home>/catalog.sqlite)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keys = sub.add_parser("keys", help="manage signing keys and trusted public keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p = ksub.add_parser("init", help="create the first signing key")
    p.add_argument(
        "--encrypt",
        action="store_true",
        help=f"encrypt the private key with a passphrase (${ENV_PASSPHRASE} or prompt)",
    )
    p.add_argument("--label")
    p.set_defaults(func=cmd_keys_init)
    p = ksub.add_parser("list", help="list keys with their status")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_keys_list)
    p = ksub.add_parser("rotate", help="make a new active key; the old one is retired")
    p.add_argument("--encrypt", action="store_true")
    p.add_argument("--label")
    p.set_defaults(func=cmd_keys_rotate)
    p = ksub.add_parser("revoke", help="revoke a key: its signatures then report revoked_key")
    p.add_argument("key_id", metavar="KEYID", help="key id or a unique prefix (8+ hex digits)")
    p.add_argument("--reason")
    p.set_defaults(func=cmd_keys_revoke)
    p = ksub.add_parser("export", help="print a public key (PEM) to give to verifiers")
    p.add_argument("key_id", metavar="KEYID", nargs="?", help="default: the active key")
    p.add_argument("--out", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_keys_export)
    p = ksub.add_parser("trust", help="trust another signer's exported public key")
    p.add_argument("public_key_file", metavar="PUBLIC_KEY_FILE")
    p.add_argument("--label")
    p.set_defaults(func=cmd_keys_trust)

    p = sub.add_parser("sign", help="attest an image made elsewhere: write a signed PNG copy")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--prompt")
    p.add_argument("--negative-prompt")
    p.add_argument("--seed", type=_non_negative_int)
    p.add_argument("--steps", type=_positive_int)
    p.add_argument("--cfg", type=_non_negative_float, help="guidance scale as passed to the model")
    p.add_argument("--model")
    p.add_argument("--sampler")
    p.add_argument(
        "--record",
        metavar="RECORD.json",
        help="take the facts from a record or sidecar (ours or the Z-Image-Turbo WebUI's)",
    )
    p.add_argument("--producer", help="GB 45438 ContentProducer (default: aigc-prov:<key id>)")
    p.add_argument("--out", metavar="FILE", help="default: IMAGE's name with .signed.png")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sign)

    for name, func, text in (
        ("verify", cmd_verify, "verify images: one line (or JSON object) per file"),
        ("inspect", cmd_inspect, "show everything embedded and the verification result"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("files", metavar="FILE", nargs="+")
        p.add_argument("--json", action="store_true", help="one JSON object per line")
        p.add_argument(
            "--key",
            action="append",
            metavar="PUBLIC_KEY_FILE",
            help="trust only these public keys instead of the key ring (repeatable)",
        )
        if name == "inspect":
            p.add_argument(
                "--metadata-only",
                action="store_true",
                help="only what the metadata says (tool, generation, labels, raw), not verified: "
                "reads a PNG's metadata chunks and skips its image data, like exiftool",
            )
        if name == "verify":
            p.add_argument(
                "--no-catalog",
                action="store_true",
                help="do not use the catalog (no look-up, no audit log entry)",
            )
            p.add_argument(
                "--pixels",
                action="store_true",
                help="also check decoded pixels when the fast digest matches",
            )
        p.set_defaults(func=func)

    db = sub.add_parser("db", help="catalog database: migrate, status")
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    p = dsub.add_parser("upgrade", help="create or migrate the catalog to the newest revision")
    p.set_defaults(func=cmd_db_upgrade)
    p = dsub.add_parser("status", help="where the catalog is and how many records it holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_db_status)

    p = sub.add_parser("search", help="search the catalog (newest first, cursor pagination)")
    p.add_argument("text", metavar="TEXT", nargs="?", help="words or Chinese text in the prompt")
    add_filter_arguments(p)
    p.add_argument("--limit", type=_positive_int, default=20, help="results per page (max 500)")
    p.add_argument("--cursor", help="continue after a previous page (printed as 'more:')")
    p.add_argument(
        "--sort",
        choices=("newest", "relevance"),
        default="newest",
        help="newest first (default), or by relevance for a text query (reads every match)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("tag", help="add tags to a catalogued record (filter with --tag)")
    p.add_argument("record_id", metavar="RECORD_ID")
    p.add_argument("tags", metavar="TAG", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tag)

    p = sub.add_parser("fsck", help="check the catalog against its files; repair interruptions")
    p.add_argument(
        "folders",
        metavar="DIR",
        nargs="*",
        help="also import signed PNGs under these folders that have no catalog row",
    )
    p.add_argument("--no-repair", action="store_true", help="report only")
    p.add_argument(
        "--key",
        action="append",
        metavar="PUBLIC_KEY_FILE",
        help="trust only these keys when importing (default: the key ring)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fsck)

    register(sub, _open_catalog, _policy)
    generate_hooks = Hooks(
        signing_key=_signing_key_or_new,
        open_catalog=_open_catalog,
        existing_catalog=_existing_catalog,
        policy=_policy,
    )
    register_generate(sub, generate_hooks)
    register_import(sub, generate_hooks)
    register_export(sub, generate_hooks)
    register_serve(sub)

    p = sub.add_parser(
        "demo",
        help="generate one image with the default (test) model, sign it and verify it",
    )
    p.add_argument("--out", default="out", help="output folder (default: ./out)")
    p.set_defaults(func=cmd_demo, hooks=generate_hooks)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for stream in (sys.stdout, sys.stderr):  # odd text in a file must never crash the output
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.home is None:
        args.home = default_home()
    try:
        code: int = args.func(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ProvenanceError, RecordInputError) as exc:
        print(f"error: {exc.diagnostics()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())

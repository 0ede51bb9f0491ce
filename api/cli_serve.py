"""``aigc-prov serve``: run the HTTP service with uvicorn; ``--hash-token`` / ``--new-token``
make the token hashes its settings hold.

The service is configured by ``AIGC_PROV_*`` variables (see :mod:`api.service.settings`);
``--home`` and ``--catalog`` are passed on to it as ``AIGC_PROV_HOME`` and ``AIGC_PROV_CATALOG``,
so every worker serves the same data folder and catalog. An empty catalog is created (migrated)
once, before the workers start; a catalog at an older revision stops the command with the
``db upgrade`` hint.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys

from api.service.tokens import hash_token
from api.settings import ENV_CATALOG, ENV_HOME

__all__ = ["register"]

EXIT_OK, EXIT_USAGE = 0, 2

APP_FACTORY = "api.service.app:app_from_env"


def _read_token() -> str:
    if sys.stdin.isatty():
        token = getpass.getpass("Token to hash: ")
    else:
        token = sys.stdin.readline().rstrip("\r\n")
    return token


def cmd_serve(args: argparse.Namespace) -> int:
    if args.hash_token:
        token = _read_token()
        if not token:
            print("error: the token is empty; give it on standard input", file=sys.stderr)
            return EXIT_USAGE
        print(hash_token(token))
        return EXIT_OK
    if args.new_token:
        token = secrets.token_urlsafe(32)
        print(f"token: {token}")
        print(f"hash:  {hash_token(token)}")
        print(
            "keep the token secret; give the service its hash, e.g. "
            "AIGC_PROV_TOKEN_HASHES=<hash>[,<hash>...]",
            file=sys.stderr,
        )
        return EXIT_OK
    try:
        import uvicorn  # noqa: F401 - only checking that the server extra is installed

        from api.service.settings import ServiceSettings
    except ImportError:
        print(
            "error: the service needs the server extra: pip install 'aigc-provenance[server]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from pydantic import ValidationError

    from provenance.catalog.store import Catalog, redact_url
    from provenance.signing.keyring import KeyRing

    os.environ[ENV_HOME] = str(args.home)
    if args.catalog:
        os.environ[ENV_CATALOG] = args.catalog
    try:
        settings = ServiceSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"AIGC_PROV_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        print(f"error: the service's settings are invalid: {problems}", file=sys.stderr)
        return EXIT_USAGE
    with Catalog.open(settings.catalog_url) as catalog:  # an empty catalog is migrated once here
        catalog.sync_keys(KeyRing.open(settings.keys_dir).entries())
    if not settings.token_hashes:
        print(
            "note: no AIGC_PROV_TOKEN_HASHES set: rating, generation and the audit log are "
            "refused (make one with `aigc-prov serve --new-token`)",
            file=sys.stderr,
        )
    print(
        f"serving http://{args.host}:{args.port} with {args.workers} worker(s); "
        f"catalog {redact_url(settings.catalog_url)}",
        file=sys.stderr,
    )
    _run_uvicorn(args.host, args.port, args.workers, args.log_level)
    return EXIT_OK


def _run_uvicorn(host: str, port: int, workers: int, log_level: str) -> None:
    """uvicorn with the app factory. With several workers uvicorn binds the shared socket with
    protocol 0, and asyncio then never sets TCP_NODELAY on its connections: every answer on a
    kept-alive connection waited ~40 ms for the client's delayed ACK (uvicorn issue 3149). The
    socket is re-made here with IPPROTO_TCP."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers, log_level=log_level
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    bound = config.bind_socket()
    sock = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    Multiprocess(config, sockets=[sock]).run()


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("must be from 1 to 64")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 to 65535")
    return value


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the main parser's subcommands."""
    p = sub.add_parser(
        "serve",
        help="run the HTTP service (verify uploads, search, knowledge base, web page)",
        description="Run the HTTP service with uvicorn. Settings come from AIGC_PROV_* "
        "variables (see the README); --home and --catalog are passed on to every worker.",
        epilog="Exit codes: 0 the server stopped (Ctrl-C or SIGTERM), 2 invalid settings, the "
        "server extra missing, or a catalog that needs `aigc-prov db upgrade`.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    p.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="worker processes (default 1; they share nothing but the catalog and the key ring)",
    )
    p.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
        help="uvicorn's log level (default info)",
    )
    p.add_argument(
        "--hash-token",
        action="store_true",
        help="read a token on standard input, print its SHA-256 for AIGC_PROV_TOKEN_HASHES, exit",
    )
    p.add_argument(
        "--new-token",
        action="store_true",
        help="print a new random token and its hash, exit",
    )
    p.set_defaults(func=cmd_serve)

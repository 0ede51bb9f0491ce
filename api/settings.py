"""Settings read from the environment: only the CLI, the service and migrations/env.py use them.

* ``AIGC_PROV_HOME``: data folder (default ``$XDG_DATA_HOME/aigc-provenance``, else
  ``~/.local/share/aigc-provenance``). Keys live in ``<home>/keys``, the default catalog in
  ``<home>/catalog.sqlite``.
* ``AIGC_PROV_CATALOG``: a SQLAlchemy URL naming another catalog
  (``postgresql+psycopg://user@host/db`` or ``sqlite:///path``).
* ``AIGC_PROV_KEY_PASSPHRASE``: passphrase of an encrypted signing key.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_CATALOG", "ENV_HOME", "ENV_PASSPHRASE", "catalog_url", "default_home"]

ENV_HOME = "AIGC_PROV_HOME"
ENV_CATALOG = "AIGC_PROV_CATALOG"
ENV_PASSPHRASE = "AIGC_PROV_KEY_PASSPHRASE"  # noqa: S105 - a variable name, not a secret


def default_home() -> Path:
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "aigc-provenance"


def catalog_url(home: Path | None = None, explicit: str | None = None) -> str:
    """The catalog URL: ``explicit``, else ``AIGC_PROV_CATALOG``, else SQLite in the home."""
    if explicit:
        return explicit
    if os.environ.get(ENV_CATALOG):
        return os.environ[ENV_CATALOG]
    return f"sqlite:///{(home or default_home()) / 'catalog.sqlite'}"

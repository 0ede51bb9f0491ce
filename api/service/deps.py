"""The service's dependencies (FastAPI ``Annotated`` style): settings, catalog, trust policy, auth.

Nothing here is per-process state that another worker would need to see: the catalog is a
connection pool onto the shared database, opened on first use (so the service starts, and
``/readyz`` says why it is not ready, while the database is down); the key ring is re-read
whenever its file changes on disk, so a revocation made with ``aigc-prov keys revoke`` is
seen by the next request of every worker.

Auth: bearer tokens are compared by their SHA-256 against ``settings.token_hashes`` with
:func:`hmac.compare_digest` (every stored hash is compared, whatever matched first). A missing
token is 401 ``token_missing``, a wrong one 401 ``token_invalid``; both carry
``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.service.errors import ApiError
from api.service.settings import ServiceSettings
from api.service.tokens import hash_token, token_matches
from provenance.catalog.store import Catalog
from provenance.signing.keyring import KeyRing
from provenance.signing.policy import KeyRingPolicy, TrustPolicy

__all__ = [
    "CatalogDep",
    "CatalogHolder",
    "KeyRingDep",
    "KeyRingHolder",
    "PolicyDep",
    "SettingsDep",
    "TokenRequired",
    "get_catalog",
    "get_keyring",
    "get_policy",
    "get_settings",
    "hash_token",
    "require_token",
]


class CatalogHolder:
    """The catalog, opened on first use (never created: ``aigc-prov db upgrade`` does that)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()

    @property
    def opened(self) -> Catalog | None:
        """The catalog if it is open already (never blocks)."""
        return self._catalog

    def get(self) -> Catalog:
        """The open catalog (opening it blocks: call it from a worker thread). Raises
        :class:`~provenance.errors.CatalogError` (503) if there is none yet, it is at another
        revision, or the database does not answer."""
        catalog = self._catalog
        if catalog is not None:
            return catalog
        with self._lock:
            if self._catalog is None:
                opened = Catalog.open(self._settings.catalog_url, create=False)
                ring = KeyRing.open(self._settings.keys_dir)
                opened.sync_keys(ring.entries())  # the catalog's key table, as the CLI keeps it
                self._catalog = opened
            return self._catalog

    def close(self) -> None:
        with self._lock:
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None


class KeyRingHolder:
    """The key ring, re-read when ``keyring.json`` changes (size or modification time)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stamp: tuple[int, int] | None = None
        self._ring: KeyRing | None = None
        self._lock = threading.Lock()

    def _current_stamp(self) -> tuple[int, int] | None:
        try:
            info = (self.directory / "keyring.json").stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def get(self) -> KeyRing:
        """The key ring as it is on disk now (one ``stat``; re-read only after a change)."""
        stamp = self._current_stamp()
        with self._lock:
            if self._ring is None or stamp != self._stamp:
                self._ring = KeyRing.open(self.directory)
                self._stamp = stamp
            return self._ring


async def get_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]


async def get_catalog(request: Request) -> Catalog:
    holder: CatalogHolder = request.app.state.catalog
    opened = holder.opened
    if opened is not None:  # the common case: no thread hop
        return opened
    return await anyio.to_thread.run_sync(holder.get)


CatalogDep = Annotated[Catalog, Depends(get_catalog)]


async def get_keyring(request: Request) -> KeyRing:
    holder: KeyRingHolder = request.app.state.keyring
    return holder.get()


KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]


async def get_policy(ring: KeyRingDep) -> TrustPolicy:
    """The trust policy every verification uses: the service's key ring (never "any key")."""
    return KeyRingPolicy(ring)


PolicyDep = Annotated[TrustPolicy, Depends(get_policy)]

_bearer = HTTPBearer(
    auto_error=False,
    description="A token whose SHA-256 is in AIGC_PROV_TOKEN_HASHES.",
)


async def require_token(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request unless it carries one of the configured bearer tokens."""
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "token_missing",
            "this needs a bearer token: send the header Authorization: Bearer <token>",
            headers={"WWW-Authenticate": 'Bearer realm="aigc-prov"'},
        )
    if not token_matches(credentials.credentials, settings.token_hashes):
        raise ApiError(
            401,
            "token_invalid",
            "the bearer token is not one this service accepts",
            headers={"WWW-Authenticate": 'Bearer realm="aigc-prov", error="invalid_token"'},
        )


#: Add to a route's (or router's) ``dependencies=`` to require a token.
TokenRequired = Depends(require_token)

"""The FastAPI application: :func:`create_app` from settings, :func:`app_from_env` for uvicorn.

``uvicorn --factory api.service.app:app_from_env`` (what ``aigc-prov serve`` runs) reads the
settings from the environment (see :mod:`api.service.settings`).

Routes (details in the OpenAPI document at ``/openapi.json``, browsable at ``/docs``):

=======  ====================================  =========================================
GET      /healthz, /readyz                     liveness; readiness (catalog at head)
POST     /v1/verify                            verify an upload (audit-logged)
GET      /v1/records[/{id}[/image|/thumbnail|/lineage]]   search and records
GET      /v1/keys                              public keys with status and validity
GET      /v1/kb/styles|prompts|params, /v1/history        the knowledge base
POST     /v1/records/{id}/rating               token
POST     /v1/generate                          token
GET      /v1/audit                             token
GET      /                                     the web page (``api/service/static``)
=======  ====================================  =========================================
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.service.deps import CatalogHolder, KeyRingHolder, TokenRequired
from api.service.errors import ERROR_RESPONSES, ApiError, install_error_handlers, responses
from api.service.limits import BodyLimit, RequestTimeout, WorkSlots
from api.service.routers import audit, generate, health, kb, keys, records, verify
from api.service.settings import ServiceSettings
from api.service.upload import FRAMING_BYTES
from provenance import __version__

__all__ = ["STATIC_DIR", "app_from_env", "create_app"]

log = logging.getLogger("aigc_prov.service")

#: The web page's files (written by the page's own change; served when present).
STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """\
Verify AI-generated images and browse the provenance catalog of **aigc-provenance**.

* `POST /v1/verify` returns the same report as `aigc-prov verify --json`.
* Reads (`GET /v1/...`) are open unless the service is configured with
  `AIGC_PROV_READS_REQUIRE_TOKEN=true`; rating, generation and the audit log always need a
  bearer token (`Authorization: Bearer <token>`).
* Every error is `{"code": "...", "message": "..."}`.
"""


def create_app(settings: ServiceSettings) -> FastAPI:
    """A new application serving the catalog and key ring named by ``settings``."""
    catalog = CatalogHolder(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        catalog.close()

    app = FastAPI(
        title="aigc-provenance",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.catalog = catalog
    app.state.keyring = KeyRingHolder(settings.keys_dir)
    app.state.generation = generate.Generation(settings)
    app.state.verify_slots = WorkSlots(settings.verify_concurrency)

    install_error_handlers(app)

    reads = APIRouter()
    reads.include_router(verify.router)
    reads.include_router(records.read_router)
    reads.include_router(keys.router)
    reads.include_router(kb.router)
    writes = APIRouter()
    writes.include_router(records.write_router)
    writes.include_router(generate.router)
    writes.include_router(audit.router)

    app.include_router(health.router)
    if settings.reads_require_token:
        app.include_router(reads, dependencies=[TokenRequired], responses=responses(401))
    else:
        app.include_router(reads)
    app.include_router(writes)

    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        page = STATIC_DIR / "index.html"
        if not page.is_file():
            raise ApiError(404, "not_found", "the web page is not installed; see /docs")
        return FileResponse(page, media_type="text/html; charset=utf-8")

    # added innermost first: the body limit, then the time limit, then CORS around all of
    # them (so that 413 and timeout answers carry the CORS headers a browser needs to read them)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes + FRAMING_BYTES)
    app.add_middleware(
        RequestTimeout, timeout_s=settings.request_timeout_s, exempt=("/v1/generate",)
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["X-Next-Cursor", "Retry-After", "ETag"],
        )
    return app


def app_from_env() -> FastAPI:
    """The app configured from the environment (``AIGC_PROV_*``): uvicorn's factory."""
    return create_app(ServiceSettings())

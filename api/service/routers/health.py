"""``/healthz`` (the process answers) and ``/readyz`` (the catalog answers, at the newest
migration)."""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError

from api.service.deps import CatalogHolder
from api.service.errors import error_response, responses
from api.service.models import Health
from provenance.catalog.store import head_revision
from provenance.errors import CatalogError

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Health,
    summary="The catalog answers and is at the newest migration",
    responses=responses(503),
)
def readyz(request: Request) -> Any:
    holder: CatalogHolder = request.app.state.catalog
    try:
        catalog = holder.get()
        with catalog.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except (CatalogError, SQLAlchemyError) as exc:
        message = str(exc) if isinstance(exc, CatalogError) else "the catalog does not answer"
        return error_response(503, "not_ready", f"Not ready: {message}.")
    head = head_revision()
    if current != head:
        return error_response(
            503,
            "not_ready",
            f"Not ready: the catalog is at revision {current or 'none'}, this software needs "
            f"{head}; run `aigc-prov db upgrade`.",
        )
    return {"status": "ready", "revision": current}

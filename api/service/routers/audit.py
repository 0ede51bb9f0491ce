"""``GET /v1/audit``: the verification log (token required), newest first, a page at a time.

``format=json`` (default) gives ``{"entries": [...], "next_cursor": ...}``; ``ndjson`` one entry
per line and ``csv`` a header and one row per entry, each with the next page's cursor in the
``X-Next-Cursor`` header (absent on the last page).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from api.service.deps import CatalogDep, TokenRequired
from api.service.errors import ApiError, responses
from api.service.models import AuditPage
from api.summaries import MOMENT_HINT, parse_moment
from provenance.catalog.store import Catalog, decode_cursor, encode_cursor, verifications
from provenance.errors import CatalogError

__all__ = ["AUDIT_COLUMNS", "audit_page", "router"]

router = APIRouter(tags=["audit"])

#: The columns of the CSV form, in order.
AUDIT_COLUMNS = (
    "id",
    "checked_at",
    "input_digest",
    "input_name",
    "origin",
    "status",
    "record_id",
    "signer_key_id",
    "findings",
)


def _iso(moment: datetime) -> str:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def _findings(text: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def audit_page(
    catalog: Catalog, *, since: datetime | None, limit: int, before: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the audit log, newest first, and the id to continue before (or None)."""
    v = verifications.c
    query = select(verifications)
    if since is not None:
        query = query.where(v.checked_at >= since)
    if before is not None:
        query = query.where(v.id < before)
    query = query.order_by(v.id.desc()).limit(limit + 1)
    with catalog.engine.connect() as conn:
        rows = list(conn.execute(query))
    entries = [
        {
            "id": row.id,
            "checked_at": _iso(row.checked_at),
            "input_digest": row.input_digest,
            "input_name": row.input_name,
            "origin": row.origin,
            "status": row.status,
            "record_id": row.record_id,
            "signer_key_id": row.signer_key_id,
            "findings": _findings(row.findings),
        }
        for row in rows[:limit]
    ]
    more = rows[limit - 1].id if len(rows) > limit else None
    return entries, more


_AUDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The entries: JSON, NDJSON or CSV as format= asks.",
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
    **responses(401),
}


@router.get(
    "/v1/audit",
    response_model=AuditPage,
    summary="The verification log, newest first (token required)",
    dependencies=[TokenRequired],
    responses=_AUDIT_RESPONSES,
)
def audit_log(
    catalog: CatalogDep,
    since: Annotated[
        str | None,
        Query(max_length=64, pattern=r"^[^\x00]*$", description="only entries at or after"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=512, pattern=r"^[^\x00]*$")] = None,
    format: Literal["json", "ndjson", "csv"] = "json",
) -> Response:
    moment = None
    if since is not None:
        try:
            moment = parse_moment(since)
        except (ValueError, OverflowError):
            raise ApiError(
                422,
                "bad_date",
                f"the parameter since is not a date or time: {since!r} ({MOMENT_HINT})",
            ) from None
    before = None
    if cursor is not None:
        try:
            before = decode_cursor(cursor)
        except CatalogError:
            raise ApiError(
                422, "bad_cursor", "the cursor is not one this log returned; start without it"
            ) from None
    entries, more = audit_page(catalog, since=moment, limit=limit, before=before)
    next_cursor = encode_cursor(more) if more is not None else None
    if format == "json":
        return JSONResponse({"entries": entries, "next_cursor": next_cursor})
    headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
    if format == "ndjson":
        body = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
        return Response(body, media_type="application/x-ndjson", headers=headers)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    for entry in entries:
        row = {**entry, "findings": json.dumps(entry["findings"], ensure_ascii=False)}
        writer.writerow(["" if row[c] is None else row[c] for c in AUDIT_COLUMNS])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

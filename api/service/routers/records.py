"""``/v1/records``: search (the CLI's filters, cursor pagination), one record, its image, its
thumbnail, its lineage; and ``POST /v1/records/{id}/rating`` (token required).

The image and the thumbnail are served only while the catalogued file is still the file that
was written: its BLAKE3 digest must equal the catalog's ``file_digest`` (404 ``file_missing``
when it is gone, 409 ``file_changed`` when it differs, 409 ``file_unverified`` when the catalog
holds no digest to compare with). The bytes served are those that were hashed (one open file).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from blake3 import blake3
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from PIL import Image
from sqlalchemy import Row

from api.service.deps import CatalogDep, KeyRingDep, PolicyDep, SettingsDep, TokenRequired
from api.service.errors import ApiError, responses
from api.service.images import PixelLimitError, media_type, thumbnail
from api.service.models import (
    LineageModel,
    RatingBody,
    RatingResult,
    RecordDetail,
    SearchPage,
)
from api.service.settings import ServiceSettings
from api.summaries import MOMENT_HINT, parse_moment, row_summary
from generator.lineage import lineage
from provenance.catalog.store import (
    SearchQuery,
    decode_cursor,
    decode_relevance_cursor,
)
from provenance.errors import CatalogError, EnvelopeError
from provenance.signing.envelope import Envelope
from provenance.signing.keyring import KeyRing
from provenance.signing.policy import TrustPolicy
from provenance.signing.verifier import check_envelope

__all__ = ["read_router", "summary", "write_router"]

read_router = APIRouter(tags=["records"])
write_router = APIRouter(tags=["records"])

#: Text without NUL characters (no database stores them).
NO_NUL = r"^[^\x00]*$"
#: How long browsers may keep an image or thumbnail before asking again (the ETag decides).
CACHE_SECONDS = 3600

RecordId = Annotated[
    str,
    Path(
        description="the record id (a UUID)",
        min_length=1,
        max_length=36,
        pattern=r"^[0-9A-Fa-f-]+$",
    ),
]


def _record_not_found(record_id: str) -> ApiError:
    return ApiError(404, "record_not_found", f"there is no record {record_id} in the catalog")


def summary(request: Request, row: Any) -> dict[str, Any]:
    """``aigc-prov search --json``'s object for ``row`` plus its image and thumbnail URLs."""
    base = f"{request.scope.get('root_path', '')}/v1/records/{row.record_id}"
    return {**row_summary(row), "image_url": f"{base}/image", "thumbnail_url": f"{base}/thumbnail"}


def _moment(name: str, text: str | None, end_of_day: bool) -> Any:
    if text is None:
        return None
    try:
        return parse_moment(text, end_of_day=end_of_day)
    except (ValueError, OverflowError):
        raise ApiError(
            422, "bad_date", f"the parameter {name} is not a date or time: {text!r} ({MOMENT_HINT})"
        ) from None


def _check_cursor(query: SearchQuery) -> None:
    if query.cursor is None:
        return
    try:
        if query.sort == "relevance" and query.text:
            decode_relevance_cursor(query.cursor)
        else:
            decode_cursor(query.cursor)
    except CatalogError:
        raise ApiError(
            422,
            "bad_cursor",
            "the cursor is not one this search returned; start again without cursor",
        ) from None


Text = Annotated[str | None, Query(max_length=1024, pattern=NO_NUL)]
Count = Annotated[int | None, Query(ge=0, le=2**31 - 1)]
Side = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Guidance = Annotated[float | None, Query(ge=0, le=1e9, allow_inf_nan=False)]
Moment = Annotated[
    str | None,
    Query(max_length=64, pattern=NO_NUL, description="a date or time, e.g. 2026-05-01 (UTC)"),
]


@read_router.get(
    "/v1/records",
    response_model=SearchPage,
    summary="Search the catalog: prompt text (Chinese or English) and filters, newest first",
)
def search_records(
    request: Request,
    catalog: CatalogDep,
    q: Annotated[
        str | None, Query(max_length=1000, pattern=NO_NUL, description="words in the prompt")
    ] = None,
    model: Text = None,
    seed: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    steps_min: Count = None,
    steps_max: Count = None,
    cfg_min: Guidance = None,
    cfg_max: Guidance = None,
    width: Side = None,
    height: Side = None,
    since: Moment = None,
    until: Moment = None,
    signer: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="key id or a prefix")
    ] = None,
    rating_min: Annotated[int | None, Query(ge=1, le=5)] = None,
    tag: Annotated[str | None, Query(max_length=128, pattern=NO_NUL)] = None,
    sort: Literal["newest", "relevance"] = "newest",
    limit: Annotated[int, Query(ge=1, le=100)] = 24,
    cursor: Annotated[
        str | None, Query(max_length=512, pattern=NO_NUL, description="from next_cursor")
    ] = None,
) -> JSONResponse:
    """Results as ``aigc-prov search --json`` gives them, each with its image and thumbnail
    URLs; ``next_cursor`` continues (null on the last page)."""
    query = SearchQuery(
        text=q,
        model=model,
        seed=seed,
        steps_min=steps_min,
        steps_max=steps_max,
        cfg_min=cfg_min,
        cfg_max=cfg_max,
        width=width,
        height=height,
        since=_moment("since", since, False),
        until=_moment("until", until, True),
        signer=signer,
        rating_min=rating_min,
        tag=tag,
    )
    query = replace(query, limit=limit, cursor=cursor, sort=sort)
    _check_cursor(query)
    page = catalog.search(query)
    return JSONResponse(
        {
            "results": [summary(request, row) for row in page.rows],
            "next_cursor": page.next_cursor,
        }
    )


def _signer_state(row: Row[Any], policy: TrustPolicy, ring: KeyRing) -> dict[str, Any]:
    """The stored envelope's signature checked against the trust policy."""
    state: dict[str, Any] = {
        "key_id": row.signer_key_id,
        "status": "unknown",
        "trusted": False,
        "revoked_at": None,
        "label": None,
        "origin": None,
        "signature": "invalid",
        "problem": None,
    }
    try:
        envelope = Envelope.from_json(row.envelope)
        check = check_envelope(envelope, policy)
    except EnvelopeError as exc:
        state["problem"] = f"the stored envelope is unusable: {exc}"
        return state
    state["key_id"] = check.key_id
    decision = check.trust or policy.decide(check.public_key)
    state.update(status=decision.status, revoked_at=decision.revoked_at, label=decision.label)
    entry = ring.get(check.key_id)
    if entry is not None and entry.public_key == check.public_key:
        state["origin"] = entry.origin.value
    if not check.valid:
        state["problem"] = "the stored signature does not verify"
    elif envelope.payload != bytes(row.record_bytes):
        state["problem"] = "the stored record bytes differ from the signed payload"
    else:
        state["signature"] = "valid"
        state["trusted"] = decision.trusted
    return state


@read_router.get(
    "/v1/records/{record_id}",
    response_model=RecordDetail,
    summary="One record: summary, the signed record, its signer's state, tags",
    responses=responses(404),
)
def get_record(
    request: Request,
    record_id: RecordId,
    catalog: CatalogDep,
    policy: PolicyDep,
    ring: KeyRingDep,
) -> JSONResponse:
    row = catalog.get(record_id)
    if row is None:
        raise _record_not_found(record_id)
    return JSONResponse(
        {
            "summary": summary(request, row),
            "record": json.loads(bytes(row.record_bytes)),
            "signer": _signer_state(row, policy, ring),
            "tags": catalog.tags_of(record_id),
        }
    )


def _read_checked(row: Row[Any], max_bytes: int) -> bytes:
    """The catalogued file's bytes, read once (at most ``max_bytes``) and checked against the
    catalog's digest: what is served is exactly what was checked, and no file stays open."""
    if not row.file_path:
        raise ApiError(404, "file_missing", f"record {row.record_id} has no file in the catalog")
    if not row.file_digest:
        raise ApiError(
            409,
            "file_unverified",
            f"the catalog holds no digest for the file of record {row.record_id}, so it "
            "cannot show that the file is unchanged; run `aigc-prov fsck`",
        )
    try:
        with open(row.file_path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError:
        raise ApiError(
            404, "file_missing", f"the file of record {row.record_id} is no longer there"
        ) from None
    if len(data) > max_bytes:
        raise ApiError(413, "too_large", f"the image file is larger than {max_bytes} bytes")
    if blake3(data).hexdigest() != row.file_digest:
        raise ApiError(
            409,
            "file_changed",
            f"the file of record {row.record_id} changed since it was catalogued",
        )
    return data


def _cache_headers(settings: ServiceSettings, etag: str) -> dict[str, str]:
    scope = "private" if settings.reads_require_token else "public"
    return {
        "ETag": etag,
        "Cache-Control": f"{scope}, max-age={CACHE_SECONDS}",
        "X-Content-Type-Options": "nosniff",
    }


def _not_modified(request: Request, etag: str, headers: dict[str, str]) -> Response | None:
    wanted = request.headers.get("if-none-match")
    if wanted and etag in [tag.strip() for tag in wanted.split(",")]:
        return Response(status_code=304, headers=headers)
    return None


_IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The image file, byte for byte as catalogued.",
        "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **responses(304, 404, 409),
}


@read_router.get(
    "/v1/records/{record_id}/image",
    summary="The catalogued image file, if it is still the file that was written",
    response_class=Response,
    responses=_IMAGE_RESPONSES,
)
def get_image(
    request: Request, record_id: RecordId, catalog: CatalogDep, settings: SettingsDep
) -> Response:
    row = catalog.get(record_id)
    if row is None:
        raise _record_not_found(record_id)
    headers = _cache_headers(settings, f'"{row.file_digest}"')
    cached = _not_modified(request, headers["ETag"], headers)
    if cached is not None:
        return cached
    data = _read_checked(row, settings.limits.max_file_bytes)
    name = FilePath(row.file_path).name.encode("ascii", "replace").decode().replace('"', "_")
    headers["Content-Disposition"] = f'inline; filename="{name}"'
    return Response(content=data, media_type=media_type(data[:16]), headers=headers)


_THUMB_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A WebP (or PNG) thumbnail at most 256 pixels on its long side.",
        "content": {
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    **responses(304, 404, 409, 413),
}


@read_router.get(
    "/v1/records/{record_id}/thumbnail",
    summary="A small WebP of the catalogued image (long side at most 256 px)",
    response_class=Response,
    responses=_THUMB_RESPONSES,
)
def get_thumbnail(
    request: Request, record_id: RecordId, catalog: CatalogDep, settings: SettingsDep
) -> Response:
    row = catalog.get(record_id)
    if row is None:
        raise _record_not_found(record_id)
    headers = _cache_headers(settings, f'"{row.file_digest}-thumbnail"')
    cached = _not_modified(request, headers["ETag"], headers)
    if cached is not None:
        return cached
    data = _read_checked(row, settings.limits.max_file_bytes)
    try:  # thumbnail() refuses an image over the pixel limit before decoding it
        body, kind = thumbnail(data, settings.max_pixels)
    except (PixelLimitError, Image.DecompressionBombError) as exc:
        raise ApiError(413, "too_many_pixels", f"{exc} (AIGC_PROV_MAX_PIXELS)") from None
    except Exception as exc:  # an undecodable catalogued file: a conflict, not a crash
        raise ApiError(
            409,
            "file_unreadable",
            f"the file of record {record_id} cannot be decoded ({type(exc).__name__})",
        ) from None
    return Response(content=body, media_type=kind, headers=headers)


@read_router.get(
    "/v1/records/{record_id}/lineage",
    response_model=LineageModel,
    summary="The chain of edits behind a record, every link's pixels checked",
    responses=responses(404),
)
def get_lineage(record_id: RecordId, catalog: CatalogDep) -> JSONResponse:
    steps = lineage(catalog, record_id)
    if not steps or not steps[0].found:
        raise _record_not_found(record_id)
    return JSONResponse(
        {"steps": [step.to_dict() for step in steps], "ok": not any(s.note for s in steps)}
    )


@write_router.post(
    "/v1/records/{record_id}/rating",
    response_model=RatingResult,
    summary="Rate a record from 1 to 5 (token required)",
    dependencies=[TokenRequired],
    responses=responses(401, 404),
)
def rate_record(record_id: RecordId, body: RatingBody, catalog: CatalogDep) -> dict[str, Any]:
    """As ``aigc-prov rate RECORD_ID N --json``."""
    try:
        catalog.rate(record_id, body.rating)
    except CatalogError:  # the only refusal left once the rating is in range: no such record
        raise _record_not_found(record_id) from None
    return {"record_id": record_id, "rating": body.rating}

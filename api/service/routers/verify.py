"""``POST /v1/verify``: verify an uploaded image; the report is ``aigc-prov verify --json``'s.

The upload is streamed and kept in memory up to the size limit (:mod:`api.service.upload`; the
body limit middleware has already refused larger declared bodies), its pixel count is read
from the header and refused over the limit (413 ``too_many_pixels``) before any decoder runs,
and the verification itself runs in a worker thread against the service's key ring and
catalog, with no network access. Every verification
is written to the catalog's audit log with origin ``api``.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import anyio.to_thread
from blake3 import blake3
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.service.deps import CatalogDep, PolicyDep, SettingsDep
from api.service.errors import ApiError, responses
from api.service.images import image_size
from api.service.models import ReportModel
from api.service.settings import ServiceSettings
from api.service.upload import read_file_field
from provenance.catalog.store import Catalog
from provenance.signing.policy import TrustPolicy
from provenance.verify import verify

__all__ = ["router", "verify_bytes"]

log = logging.getLogger("aigc_prov.service")

router = APIRouter(tags=["verify"])

#: Longest file name kept in a report and the audit log.
MAX_NAME = 255


def _upload_name(filename: str | None) -> str:
    """The name a report gives the upload: its base name, printable, at most 255 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch if ch.isprintable() else "\ufffd" for ch in name)[:MAX_NAME]
    return name or "upload"


def verify_bytes(
    data: bytes | bytearray,
    name: str,
    settings: ServiceSettings,
    policy: TrustPolicy,
    catalog: Catalog,
) -> dict[str, Any]:
    """Verify ``data`` and log it (runs in a worker thread); 413 ``too_many_pixels`` first."""
    size = image_size(data)
    if size is not None and size[0] * size[1] > settings.max_pixels:
        raise ApiError(
            413,
            "too_many_pixels",
            f"the image is {size[0]}x{size[1]} = {size[0] * size[1]} pixels, over the limit of "
            f"{settings.max_pixels} (AIGC_PROV_MAX_PIXELS)",
        )
    report = verify(data, policy=policy, limits=settings.limits, name=name, catalog=catalog)
    catalog.log_verification(
        input_digest=report.input_digest or blake3(data).hexdigest(),
        input_name=name,
        origin="api",
        status=report.status.value,
        record_id=report.record_id,
        signer_key_id=report.signer.key_id if report.signer else None,
        findings=[f.to_dict() for f in report.findings],
    )
    log.debug("verified an upload: %s", report.status.value)
    return report.to_dict()


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the image to verify (PNG, JPEG, WebP, ...)",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/v1/verify",
    response_model=ReportModel,
    summary="Verify an image: signature, signer, content binding, readable metadata",
    responses=responses(413),
    openapi_extra=_UPLOAD_BODY,
)
async def verify_upload(
    request: Request,
    settings: SettingsDep,
    policy: PolicyDep,
    catalog: CatalogDep,
) -> JSONResponse:
    """The same report as ``aigc-prov verify --json`` for the multipart field ``file``. A file
    that is not an image is a report too (``malformed``); an empty upload is 422
    ``empty_upload``."""
    upload = await read_file_field(request, "file", settings.max_upload_bytes)
    if not upload.data:
        raise ApiError(422, "empty_upload", "the uploaded file is empty; choose an image")
    work = functools.partial(
        verify_bytes, upload.data, _upload_name(upload.filename), settings, policy, catalog
    )
    # abandon_on_cancel: a request that times out answers at once; the thread finishes alone
    limiter = request.app.state.verify_slots.limiter()
    report = await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=limiter)
    return JSONResponse(report)

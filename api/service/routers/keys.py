"""``GET /v1/keys``: the public keys the service trusts, with status and validity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.service.deps import KeyRingDep
from api.service.models import KeyModel

__all__ = ["router"]

router = APIRouter(tags=["keys"])


@router.get(
    "/v1/keys",
    response_model=list[KeyModel],
    summary="Public keys of the key ring: status, origin, added/retired/revoked times",
)
def list_keys(ring: KeyRingDep) -> JSONResponse:
    """As ``aigc-prov keys list --json``, plus each key as PEM. A key is valid for signing from
    ``added_at`` until ``retired_at`` (its earlier signatures stay valid); a revoked key's
    signatures are never accepted."""
    keys: list[dict[str, Any]] = []
    for entry in ring.entries():
        item = entry.to_json()
        item["public_key_pem"] = entry.public_key.to_pem().decode("ascii")
        keys.append(item)
    return JSONResponse(keys)

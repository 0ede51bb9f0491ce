"""``POST /v1/generate`` (token required): run the configured model once, sign and catalogue the
image, return its record.

The request is checked completely by :mod:`generator.request` before torch is imported (422
``invalid_generation_request``); the generator is imported on first use, so the service starts
without torch. One generation runs at a time per process: a request arriving meanwhile gets
429 ``busy`` with ``Retry-After``. The model stays loaded after its first use (a cache, not
state: any worker can serve any request). Hugging Face's offline mode is switched on first:
the service never downloads a model.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.cli_generate import _hub_cache
from api.service.deps import CatalogDep, KeyRingDep, SettingsDep, TokenRequired
from api.service.errors import ApiError, responses
from api.service.models import GenerateBody, GenerateResult
from api.service.settings import ServiceSettings
from generator.errors import GenerationRequestError
from generator.presets import ModelSource, resolve_model
from generator.request import (
    CheckedRequest,
    GenerationRequest,
    check_device,
    check_output_folder,
    check_request,
)
from provenance.catalog.store import Catalog
from provenance.signing.keys import SigningKey

if TYPE_CHECKING:
    from generator.engine import LoadedModel

__all__ = ["RETRY_AFTER_S", "Generation", "router"]

router = APIRouter(tags=["generate"])

#: Seconds a client is asked to wait when a generation is already running.
RETRY_AFTER_S = 5


class Generation:
    """The one-at-a-time lock and the loaded model of this process."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self._model: LoadedModel | None = None

    def source(self) -> ModelSource:
        """The configured model, resolved (nothing loaded); 503 when it is not usable here."""
        try:
            check_device(self.settings.device)
            return resolve_model(self.settings.model, hub_cache=_hub_cache(), allow_download=False)
        except GenerationRequestError as exc:
            raise ApiError(
                503, "model_unavailable", f"the configured model cannot be used: {exc}"
            ) from None

    def model(self, source: ModelSource) -> LoadedModel:
        """The loaded model (loaded on first use; call with :attr:`lock` held)."""
        if self._model is None or self._model.source != source:
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            os.environ["HF_HUB_OFFLINE"] = "1"  # read when huggingface_hub is first imported
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            from generator.engine import load_model

            self._model = load_model(
                source,
                device=self.settings.device,
                digest_cache=self.settings.home / "cache" / "weights-sha256.json",
                allow_download=False,
            )
        return self._model

    def run(
        self, source: ModelSource, checked: CheckedRequest, key: SigningKey, catalog: Catalog
    ) -> dict[str, Any]:
        """Generate, sign, write and catalogue one image (in a worker thread, lock held)."""
        from generator.produce import produce

        out_dir = self.settings.generated_dir
        try:
            check_output_folder(out_dir)
        except GenerationRequestError as exc:
            raise ApiError(503, "output_unavailable", str(exc)) from None
        model = self.model(source)
        made = list(produce(model, checked, key, out_dir, catalog=catalog))
        result = made[0].result
        return {"record_id": result.record_id, "record": result.record}


def _signing_key(settings: ServiceSettings, ring: Any) -> SigningKey:
    secret = settings.key_passphrase
    passphrase = secret.get_secret_value().encode("utf-8") if secret is not None else None
    key: SigningKey = ring.signing_key(passphrase if ring.is_encrypted() else None)
    return key


@router.post(
    "/v1/generate",
    response_model=GenerateResult,
    status_code=201,
    summary="Generate one image with the configured model; returns its signed record",
    dependencies=[TokenRequired],
    responses=responses(401, 429),
)
async def generate(
    body: GenerateBody,
    request: Request,
    settings: SettingsDep,
    catalog: CatalogDep,
    ring: KeyRingDep,
) -> JSONResponse:
    """The image is written to the output folder, catalogued and signed like
    ``aigc-prov generate``'s; fetch it from ``image_url``."""
    generation: Generation = request.app.state.generation
    source = generation.source()
    checked = check_request(
        GenerationRequest(
            prompt=body.prompt,
            negative_prompt=body.negative_prompt,
            seed=body.seed,
            num_inference_steps=body.num_inference_steps,
            guidance_scale=body.guidance_scale,
            width=body.width,
            height=body.height,
        ),
        source,
    )
    key = _signing_key(settings, ring)  # a missing or locked key fails before any work
    if not generation.lock.acquire(blocking=False):
        raise ApiError(
            429,
            "busy",
            "a generation is already running in this process; retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    try:
        made = await anyio.to_thread.run_sync(generation.run, source, checked, key, catalog)
    finally:
        generation.lock.release()
    record = made["record"]
    base = f"{request.scope.get('root_path', '')}/v1/records/{made['record_id']}"
    return JSONResponse(
        {
            "record_id": made["record_id"],
            "seed": record["generation"]["seed"],
            "image_url": f"{base}/image",
            "thumbnail_url": f"{base}/thumbnail",
            "record": record,
        },
        status_code=201,
        headers={"Location": base},
    )

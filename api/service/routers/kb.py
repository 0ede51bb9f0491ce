"""The knowledge base: ``/v1/kb/styles``, ``/v1/kb/prompts``, ``/v1/kb/params``, ``/v1/history``:
the same JSON as ``aigc-prov kb styles|prompts|params --json`` and ``history --json``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.cli_kb import VOCABULARY_FILE
from api.service.deps import CatalogDep, SettingsDep
from api.service.models import (
    HistoryItemModel,
    ModelParamsModel,
    PromptTemplateModel,
    StyleCountModel,
)
from provenance.catalog.knowledge import (
    history,
    load_vocabulary,
    parameter_stats,
    prompt_templates,
    style_frequencies,
)

__all__ = ["router"]

router = APIRouter(tags=["knowledge base"])


@router.get(
    "/v1/kb/styles",
    response_model=list[StyleCountModel],
    summary="How often each style keyword appears in prompts",
)
def kb_styles(catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """The default vocabulary, extended by ``<home>/styles.toml`` when it exists."""
    path = settings.home / VOCABULARY_FILE
    vocabulary = load_vocabulary(path) if path.is_file() else None
    counts = style_frequencies(catalog, vocabulary=vocabulary)
    return JSONResponse([c.to_dict() for c in counts])


@router.get(
    "/v1/kb/prompts",
    response_model=list[PromptTemplateModel],
    summary="The most used prompt templates, with typical parameters",
)
def kb_prompts(
    catalog: CatalogDep, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> JSONResponse:
    return JSONResponse([t.to_dict() for t in prompt_templates(catalog, limit=limit)])


@router.get(
    "/v1/kb/params",
    response_model=list[ModelParamsModel],
    summary="Steps, guidance, time and size distributions per model",
)
def kb_params(
    catalog: CatalogDep,
    model: Annotated[str | None, Query(max_length=1024, pattern=r"^[^\x00]*$")] = None,
) -> JSONResponse:
    return JSONResponse([m.to_dict() for m in parameter_stats(catalog, model=model)])


@router.get(
    "/v1/history",
    response_model=list[HistoryItemModel],
    summary="Recent generations, newest first",
)
def recent_history(
    catalog: CatalogDep, last: Annotated[int, Query(ge=1, le=1000)] = 20
) -> JSONResponse:
    return JSONResponse([item.to_dict() for item in history(catalog, last=last)])

"""Pydantic models of the service's request and response bodies (they make the OpenAPI document).

Responses are built by the library's own ``to_dict()`` methods (the same JSON the CLI prints);
these models describe them, and the schemathesis test holds the two together.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from generator.request import MAX_SEED
from provenance.report import Status

__all__ = [
    "AuditEntry",
    "AuditPage",
    "Distribution",
    "FindingModel",
    "GenerateBody",
    "GenerateResult",
    "Health",
    "HistoryItemModel",
    "KeyModel",
    "LineageModel",
    "LineageStepModel",
    "ModelParamsModel",
    "PromptTemplateModel",
    "RatingBody",
    "RatingResult",
    "RecordDetail",
    "RecordSummary",
    "ReportModel",
    "SearchPage",
    "SignerModel",
    "SignerState",
    "StyleCountModel",
]

StatusName = Literal[tuple(s.value for s in Status)]  # type: ignore[valid-type]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- verification ---------------------------------------------------------------------------


class FindingModel(_Open):
    code: str = Field(description="stable finding code, e.g. bytes_match, content_altered")
    kind: Literal["success", "info", "failure"]
    message: str = Field(description="one sentence")


class SignerModel(_Open):
    key_id: str
    status: str = Field(description="active, retired, revoked or unknown")
    trusted: bool
    revoked_at: str | None
    label: str | None


class ReportModel(_Open):
    """One verification: the same object as a line of ``aigc-prov verify --json``."""

    file: str = Field(description="the uploaded file's name")
    status: StatusName  # type: ignore[valid-type]
    findings: list[FindingModel]
    signer: SignerModel | None
    record_id: str | None
    candidates: list[dict[str, Any]] = Field(
        description="catalogued records a stripped copy matches: record_id, distance, exact"
    )
    schema_version: str | None
    container: str | None
    checked_at: str | None
    tool_version: str


# --- records --------------------------------------------------------------------------------


class RecordSummary(_Open):
    """One record as ``aigc-prov search --json`` shows it, plus where to fetch its pixels."""

    record_id: str
    task: str
    created_at: str | None
    prompt: str
    model: str
    seed: int | None
    steps: int | None
    cfg_scale: float | None
    width: int | None
    height: int | None
    rating: int | None
    signer_key_id: str
    file: str | None
    image_url: str
    thumbnail_url: str


class SearchPage(BaseModel):
    results: list[RecordSummary]
    next_cursor: str | None = Field(description="pass as cursor= for the next page; null: last")


class SignerState(_Open):
    """The stored signature checked against the service's trust policy."""

    key_id: str
    status: str = Field(description="active, retired, revoked or unknown")
    trusted: bool
    revoked_at: str | None
    label: str | None
    origin: str | None = Field(description="local or trusted; null for an unknown key")
    signature: Literal["valid", "invalid"]
    problem: str | None


class RecordDetail(BaseModel):
    summary: RecordSummary
    record: dict[str, Any] = Field(description="the signed record, exactly as signed")
    signer: SignerState
    tags: list[str]


class LineageStepModel(_Open):
    record_id: str
    found: bool
    task: str | None
    prompt: str | None
    created_at: str | None
    file: str | None
    input_digest: str | None
    parent_record_id: str | None
    pixel_digest: str | None
    note: str | None = Field(description="why the chain cannot be trusted at this step, if so")


class LineageModel(BaseModel):
    steps: list[LineageStepModel] = Field(description="the record first, then its ancestors")
    ok: bool = Field(description="false when a link does not hold (pixels differ, or a cycle)")


class RatingBody(BaseModel):
    rating: int = Field(ge=1, le=5, description="1 to 5")


class RatingResult(BaseModel):
    record_id: str
    rating: int


# --- keys -----------------------------------------------------------------------------------


class KeyModel(_Open):
    key_id: str
    public_key: str = Field(description="raw Ed25519 public key, base64")
    public_key_pem: str = Field(description="the same key as PEM (for `aigc-prov keys trust`)")
    status: Literal["active", "retired", "revoked"]
    origin: Literal["local", "trusted"]
    added_at: str
    retired_at: str | None
    revoked_at: str | None
    revocation_reason: str | None
    label: str | None


# --- knowledge base -------------------------------------------------------------------------


class StyleCountModel(_Open):
    style: str
    count: int
    total: int
    share: float
    keywords: dict[str, int]


class PromptTemplateModel(_Open):
    template: str
    count: int
    example: str
    best_rating: int | None
    median_steps: float | None
    median_cfg_scale: float | None
    width: int | None
    height: int | None
    model: str | None


class _Common(BaseModel):
    value: float
    count: int


class Distribution(_Open):
    count: int
    min: float | None
    median: float | None
    p90: float | None
    max: float | None
    common: list[_Common]


class _Size(BaseModel):
    width: int
    height: int
    count: int


class ModelParamsModel(_Open):
    model: str
    count: int
    steps: Distribution
    cfg_scale: Distribution
    generation_time: Distribution
    sizes: list[_Size]


class HistoryItemModel(_Open):
    created_at: str
    record_id: str
    prompt_head: str
    steps: int | None
    cfg_scale: float | None
    generation_time: float | None
    model: str


# --- audit log ------------------------------------------------------------------------------


class AuditEntry(BaseModel):
    id: int
    checked_at: str
    input_digest: str = Field(description="BLAKE3 of the verified bytes")
    input_name: str
    origin: str = Field(description="cli, api, ...")
    status: str
    record_id: str | None
    signer_key_id: str | None
    findings: list[dict[str, Any]]


class AuditPage(BaseModel):
    entries: list[AuditEntry] = Field(description="newest first")
    next_cursor: str | None


# --- generation -----------------------------------------------------------------------------


class GenerateBody(BaseModel):
    """A generation request in diffusers' argument names; null means the model's default."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=100_000)
    negative_prompt: str = Field(default="", max_length=100_000)
    width: int | None = Field(default=None, ge=16, le=4096, description="a multiple of 16")
    height: int | None = Field(default=None, ge=16, le=4096, description="a multiple of 16")
    num_inference_steps: int | None = Field(default=None, ge=1, le=1000)
    guidance_scale: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    seed: int = Field(default=-1, ge=-1, le=MAX_SEED, description="-1 draws one")


class GenerateResult(BaseModel):
    record_id: str
    seed: int | None = Field(description="the seed actually used")
    image_url: str
    thumbnail_url: str
    record: dict[str, Any] = Field(description="the signed record")


# --- health ---------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok", "ready"]
    revision: str | None = None

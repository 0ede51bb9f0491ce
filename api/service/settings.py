"""The service's settings, read from the environment (prefix ``AIGC_PROV_``) by pydantic-settings.

``AIGC_PROV_HOME`` and ``AIGC_PROV_CATALOG`` mean what they mean to the command line, so the
service and ``aigc-prov`` share one data folder, key ring and catalog. Lists
(``AIGC_PROV_TOKEN_HASHES``, ``AIGC_PROV_CORS_ORIGINS``) are comma-separated.

Only the service reads these (:func:`api.service.app.app_from_env`); :func:`create_app` takes a
:class:`ServiceSettings` object, which tests build directly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.settings import default_home
from provenance.extract.png import Limits

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "ENV_PREFIX", "ServiceSettings"]

ENV_PREFIX = "AIGC_PROV_"
#: 50 MiB.
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class ServiceSettings(BaseSettings):
    """Everything the HTTP service is configured with (see the README's service section)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    #: Data folder: key ring in ``<home>/keys``, default catalog ``<home>/catalog.sqlite``.
    home: Path = Field(default_factory=default_home)
    #: SQLAlchemy URL of the catalog; default SQLite in the home.
    catalog: str | None = None
    #: SHA-256 (hex) of each accepted bearer token; ``aigc-prov serve --hash-token`` makes one.
    token_hashes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Whether every ``GET /v1/...`` needs a token too (writes and the audit log always do).
    reads_require_token: bool = False
    #: Origins allowed to call the API from a browser; empty: no CORS headers at all.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Largest accepted upload (request body), in bytes.
    max_upload_bytes: int = Field(default=DEFAULT_MAX_UPLOAD_BYTES, ge=1)
    #: Largest image (width x height) the service decodes or verifies.
    max_pixels: int = Field(default=Limits().max_pixels, ge=1)
    #: Longest a request may take (generation excepted), in seconds.
    request_timeout_s: float = Field(default=60.0, gt=0)
    #: Verifications one worker process runs at once; more uploads wait their turn. Bounds the
    #: memory of decoded images (up to ``max_pixels`` each) and, as verification holds Python's
    #: GIL for most of its time, more would only slow each other down.
    verify_concurrency: int = Field(default=2, ge=1, le=64)
    #: The model ``POST /v1/generate`` runs: a preset, a local diffusers folder or a cached hub id.
    model: str = "tiny-z-image"
    #: Where generated images are written; default ``<home>/generated``.
    output_dir: Path | None = None
    #: Device for generation (``cpu``, ``cuda``, ``mps``); default: the best available.
    device: str | None = None
    #: Passphrase of an encrypted signing key (the same variable the CLI reads).
    key_passphrase: SecretStr | None = None

    @field_validator("token_hashes", mode="before")
    @classmethod
    def _token_hashes(cls, value: Any) -> Any:
        value = _split_commas(value)
        if not isinstance(value, list):
            return value
        hashes = [str(item).strip().lower() for item in value]
        for item in hashes:
            if not _SHA256_HEX.match(item):
                raise ValueError(
                    "each token hash is 64 hex digits (SHA-256 of the token); make one with "
                    "`aigc-prov serve --hash-token`"
                )
        return hashes

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        return _split_commas(value)

    @property
    def catalog_url(self) -> str:
        return self.catalog or f"sqlite:///{self.home / 'catalog.sqlite'}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def generated_dir(self) -> Path:
        return self.output_dir or self.home / "generated"

    @property
    def limits(self) -> Limits:
        """The verifier's safety limits, with this service's pixel limit."""
        return Limits(max_pixels=self.max_pixels)

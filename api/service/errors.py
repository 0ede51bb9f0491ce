"""Every error the service returns has one JSON shape: ``{"code": "...", "message": "..."}``.

``code`` is stable and machine-readable; ``message`` is one sentence for a person. Handlers
cover our own :class:`ApiError`, Starlette/FastAPI ``HTTPException`` (unknown routes: 404
``not_found``; wrong method: 405 ``method_not_allowed``), request validation (422
``invalid_request``), the :class:`~provenance.errors.ProvenanceError` hierarchy, database
failures (503 ``catalog_unavailable``) and, last, anything unexpected (500 ``internal_error``,
logged with its traceback, never shown). User input must never reach the last one.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from generator.errors import GenerationRequestError, ModelLoadError
from provenance.errors import (
    CatalogError,
    ProvenanceError,
    RecordInputError,
    SigningKeyError,
)

__all__ = [
    "ERROR_RESPONSES",
    "ApiError",
    "ErrorBody",
    "error_response",
    "install_error_handlers",
    "responses",
]

log = logging.getLogger("aigc_prov.service")


class ErrorBody(BaseModel):
    """The body of every error response."""

    code: str = Field(description="stable machine-readable error code", examples=["not_found"])
    message: str = Field(description="one sentence saying what went wrong and what to do")


class ApiError(StarletteHTTPException):
    """An error with our code and message (raise it from routes and dependencies)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code
        self.message = message


#: The code of an ``HTTPException`` raised by FastAPI/Starlette itself, by status.
_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "busy",
    503: "unavailable",
}

#: What each status means, for the OpenAPI document.
_DESCRIPTIONS = {
    304: "Not modified (the ETag given in If-None-Match still holds).",
    400: "Bad request.",
    401: "A bearer token is missing (token_missing) or wrong (token_invalid).",
    404: "Not found.",
    409: "Conflict: the catalogued file changed since it was written.",
    413: "Too large: the upload (too_large) or the image's pixel count (too_many_pixels).",
    422: "The request's parameters or body are invalid.",
    429: "Busy: one generation runs at a time per process; retry after Retry-After seconds.",
    503: "The catalog, key or model is unavailable, or the request timed out (timeout).",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries with the error body for these statuses."""
    return {
        status: {"description": _DESCRIPTIONS[status]}
        if status == 304
        else {"model": ErrorBody, "description": _DESCRIPTIONS.get(status, "Error.")}
        for status in statuses
    }


#: What any route may answer besides its own statuses (validation, catalog down, timeout).
ERROR_RESPONSES = responses(422, 503)


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status_code, content={"code": code, "message": message}, headers=headers
    )


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    if not text:
        return "The request failed."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.code, _sentence(exc.message), headers)
    code = _DEFAULT_CODES.get(exc.status_code, f"http_{exc.status_code}")
    detail = str(exc.detail or "")
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is no {request.url.path} here; see /docs for the API"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, code, _sentence(detail or code), headers)


def _location(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    where = ".".join(parts)
    return where or "the request"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors()[:5]:
        where = _location(error.get("loc", ()))
        kind = error.get("loc", ("",))[0]
        what = "field" if kind == "body" else "parameter"
        problems.append(f"{what} {where}: {error.get('msg', 'invalid')}")
    message = "; ".join(problems) or "the request is invalid"
    return error_response(422, "invalid_request", _sentence(message))


async def _provenance_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProvenanceError)
    text = str(exc)
    if exc.hint:  # what to do next, as the CLI's diagnostics() says it
        text = f"{text.rstrip('.')}. {exc.hint}"
    message = _sentence(text)
    if isinstance(exc, GenerationRequestError):
        return error_response(422, "invalid_generation_request", message)
    if isinstance(exc, RecordInputError):
        return error_response(422, "invalid_input", message)
    if isinstance(exc, CatalogError):
        log.warning("catalog error: %s", exc)
        return error_response(503, "catalog_unavailable", message)
    if isinstance(exc, SigningKeyError):
        log.warning("signing key unavailable: %s", exc)
        return error_response(503, "signing_key_unavailable", message)
    if isinstance(exc, ModelLoadError):
        log.warning("model unavailable: %s", exc)
        return error_response(503, "model_unavailable", message)
    log.warning("provenance error: %s", type(exc).__name__)
    return error_response(503, "unavailable", message)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("catalog query failed: %s", type(exc).__name__, exc_info=exc)
    return error_response(
        503, "catalog_unavailable", "The catalog did not answer; try again shortly."
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        500, "internal_error", "An unexpected error occurred; it has been logged."
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ProvenanceError, _provenance_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _unexpected)

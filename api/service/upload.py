"""Reading one file field of a ``multipart/form-data`` upload, streamed and capped.

The body is parsed as it arrives (python-multipart) and only the first part named ``field`` is
kept, in memory, up to ``limit`` bytes: one more byte is 413 ``too_large``. Nothing is spooled
to disk and no worker thread is involved, which keeps a verification request to one thread hop
(the verification itself). Other parts are skipped without being stored; a body with more than
:data:`MAX_PARTS` parts, oversized part headers or a broken structure is 422
``invalid_request``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

from api.service.errors import ApiError

__all__ = ["MAX_HEADER_BYTES", "MAX_PARTS", "Upload", "read_file_field"]

#: Parts a body may hold (the file and a few form fields at most).
MAX_PARTS = 16
#: Bytes of headers one part may carry.
MAX_HEADER_BYTES = 16 * 1024


@dataclass
class Upload:
    """The uploaded file: its name as the client gave it (or None) and its bytes."""

    filename: str | None
    data: bytes


@dataclass
class _State:
    wanted: bytes
    limit: int
    parts: int = 0
    header_bytes: int = 0
    header_name: bytes = b""
    header_value: bytes = b""
    disposition: bytes = b""
    keeping: bool = False
    found: bool = False
    filename: str | None = None
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    ended: bool = False


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"the file is larger than the limit of {limit} bytes (AIGC_PROV_MAX_UPLOAD_BYTES)",
    )


def _callbacks(state: _State) -> dict[str, object]:
    def on_part_begin() -> None:
        state.parts += 1
        if state.parts > MAX_PARTS:
            raise _invalid(f"the form has more than {MAX_PARTS} parts")
        state.header_bytes = 0
        state.disposition = b""
        state.keeping = False

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_bytes += end - start
        if state.header_bytes > MAX_HEADER_BYTES:
            raise _invalid("a part of the form has oversized headers")
        state.header_name += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_bytes += end - start
        if state.header_bytes > MAX_HEADER_BYTES:
            raise _invalid("a part of the form has oversized headers")
        state.header_value += data[start:end]

    def on_header_end() -> None:
        if state.header_name.strip().lower() == b"content-disposition":
            state.disposition = state.header_value
        state.header_name = b""
        state.header_value = b""

    def on_headers_finished() -> None:
        _, options = parse_options_header(state.disposition)
        if options.get(b"name") == state.wanted and not state.found:
            state.found = state.keeping = True
            name = options.get(b"filename")
            state.filename = None if name is None else name.decode("utf-8", "replace")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if not state.keeping:
            return
        state.size += end - start
        if state.size > state.limit:
            raise _too_large(state.limit)
        state.chunks.append(data[start:end])

    def on_part_end() -> None:
        state.keeping = False

    def on_end() -> None:
        state.ended = True

    return {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
        "on_end": on_end,
    }


async def read_file_field(request: Request, field: str, limit: int) -> Upload:
    """The first part named ``field`` of the request's multipart body (at most ``limit`` bytes).

    Raises :class:`ApiError`: 422 ``invalid_request`` for a body that is not multipart or has no
    such part, 413 ``too_large`` past the limit.
    """
    kind, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise _invalid(f"send the image as multipart/form-data with a field named {field}")
    state = _State(wanted=field.encode("utf-8"), limit=limit)
    parser = MultipartParser(boundary, _callbacks(state))  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        raise _invalid("the multipart body is malformed") from None
    if not state.ended:
        raise _invalid("the multipart body ends before its closing boundary")
    if not state.found:
        raise _invalid(f"field {field}: Field required")
    return Upload(state.filename, b"".join(state.chunks))

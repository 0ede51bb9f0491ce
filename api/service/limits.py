"""Request limits as plain ASGI middleware: body size and request time.

* :class:`BodyLimit`: a request whose ``Content-Length`` is over the limit is refused with 413
  ``too_large`` before a byte of its body is read; a body sent without a length (chunked) is
  counted as it streams and refused as soon as it passes the limit, so it is never held whole.
* :class:`RequestTimeout`: a request still running after ``timeout_s`` gets 503 ``timeout``
  (when its response has not started yet). Work in a worker thread that was started with
  ``abandon_on_cancel`` (verification) is left to finish in the background; its result is
  dropped.
* :class:`WorkSlots`: at most N of one kind of work (verification) at a time in a process;
  requests beyond that wait in the event loop, holding no thread.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Collection

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.service.errors import ApiError, error_response

__all__ = ["BodyLimit", "RequestTimeout", "WorkSlots"]


def _too_large(limit: int) -> str:
    return (
        f"the request body is larger than the limit of {limit} bytes (AIGC_PROV_MAX_UPLOAD_BYTES)"
    )


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (413 ``too_large``)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    response = error_response(
                        400, "bad_request", "The Content-Length header is not a number."
                    )
                    await response(scope, receive, send)
                    return
                if declared > self.max_bytes:
                    response = error_response(413, "too_large", _too_large(self.max_bytes) + ".")
                    await response(scope, receive, send)
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ApiError(413, "too_large", _too_large(self.max_bytes))
            return message

        await self.app(scope, limited, send)


class RequestTimeout:
    """Answer 503 ``timeout`` when a request takes longer than ``timeout_s`` seconds."""

    def __init__(self, app: ASGIApp, timeout_s: float, exempt: Collection[str] = ()) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with anyio.move_on_after(self.timeout_s) as scope_timer:
            await self.app(scope, receive, watched)
        if scope_timer.cancelled_caught and not started:
            response = error_response(
                503,
                "timeout",
                f"The request took longer than {self.timeout_s:g} seconds "
                "(AIGC_PROV_REQUEST_TIMEOUT_S); try again, or with a smaller input.",
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)


class WorkSlots:
    """A capacity limiter of ``total`` slots for worker-thread work, one per event loop (an
    anyio limiter belongs to the loop it was made in; a server has one, tests make several)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._limiters: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, anyio.CapacityLimiter
        ] = weakref.WeakKeyDictionary()

    def limiter(self) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(self.total)
        return limiter

"""Every HTTP request is bounded before the app sees it: its size, the time its body takes,
and, for the native API, who sends it and how deep its JSON nests.

One 50 MB form body to ``/`` took the server to 2.5 GB and stalled every call for 11 s; the
native API parsed a body before it knew the caller. This middleware, outside every other part
of the app (the trigger shortcuts included), reads the body itself before the app does:

- a ``Content-Length`` over ``max_body_bytes`` is refused at once (413), nothing read;
- otherwise the body is counted as it streams (chunked, or a Content-Length that lies) and
  refused (413) as soon as the count passes the cap, nothing more read;
- a body that has not fully arrived ``body_timeout_s`` after the request's head is refused
  (408): a client trickling its body holds a connection no longer than that;
- a call of the native API (``/api/v1/...``) is authenticated from its headers first: no
  body of an unknown caller is read or parsed (401); its JSON body is refused (400, field
  ``body``) when it nests deeper than ``MAX_JSON_DEPTH``.

A refusal comes in the envelope of the face the call came through (``refuse``). What the client
still sends of a refused body is read and discarded by the server, without being kept, so that
the client can read the answer (closing at once would reset the connection under it), and
within the deadline of the next request's head (api/connections.py): a body that never ends is
cut off with its connection. A body too slow is answered 408 and its connection closed. The app
gets the body, whole, from a replayed first ``receive``.

Starlette's own ``RequestBodyLimitMiddleware`` counts bytes too, but answers in plain text,
only when the app reads, and neither times out nor authenticates first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tickwork.domain.bounded_json import too_deep
from tickwork.domain.errors import InvalidParameter, PayloadTooLarge, RequestTimeout, TickworkError
from tickwork.domain.limits import MAX_JSON_DEPTH

__all__ = ["BodyLimits", "RequestLimitMiddleware"]

Refuse = Callable[[Request, TickworkError], Response]
Authenticate = Callable[[Request], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_body_bytes: int = 1024 * 1024
    body_timeout_s: float = 30.0
    max_json_depth: int = MAX_JSON_DEPTH


class RequestLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limits: BodyLimits,
        refuse: Refuse,
        authenticate: Authenticate,
        authenticated_prefix: str = "/api/v1/",
    ) -> None:
        self.app = app
        self.limits = limits
        self._refuse = refuse
        self._authenticate = authenticate
        self._prefix = authenticated_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if _declared_length(scope) > self.limits.max_body_bytes:
                raise self._too_large()
            native = scope["path"].startswith(self._prefix)
            if native:
                await self._authenticate(Request(scope))
            body = await self._read_body(receive)
            if body is None:
                return  # the client went away before its body arrived: no one to answer
            if native and body and too_deep(body, self.limits.max_json_depth):
                raise InvalidParameter(
                    f"body: the JSON is nested deeper than {self.limits.max_json_depth} levels "
                    "of arrays and objects",
                    field="body",
                )
        except TickworkError as exc:
            response = self._refuse(Request(scope), exc)
            if isinstance(exc, RequestTimeout):
                response.headers["connection"] = "close"  # the rest would come as slowly
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes | None:
        # One timer for the whole body, which cancels this task when it fires: the trigger
        # path pays a timer handle (~2 µs), where asyncio.timeout cost ~10 µs a request.
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        timer = loop.call_at(loop.time() + self.limits.body_timeout_s, expire)
        try:
            return await self._read_chunks(receive)
        except asyncio.CancelledError:
            if not expired:
                raise
            task.uncancel()
            raise RequestTimeout(
                f"the request body did not arrive within {self.limits.body_timeout_s:g} s",
                field="body",
            ) from None
        finally:
            timer.cancel()

    async def _read_chunks(self, receive: Receive) -> bytes | None:
        cap = self.limits.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise self._too_large()
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the request body is larger than {self.limits.max_body_bytes} bytes, the most this "
            "server accepts (setting max_body_bytes, TICKWORK_MAX_BODY_BYTES)",
            field="body",
        )


def _declared_length(scope: Scope) -> int:
    """The Content-Length the client declared; 0 when it gave none (or one that is not a
    number, which the server's HTTP parser refuses before the app runs)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the whole body first, then whatever the server says next
    (a disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed

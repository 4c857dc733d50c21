"""The calls made most often, served straight by their handlers.

A trigger (``POST /api/v1/jobs/{id}/run``, or a SchedulerX RPC on ``/``) went through
FastAPI's exception middleware, its exit-stack middleware, the router, the included router
and the route's own wrappers before its handler ran: about a sixth of the server's CPU per
run at a thousand triggers a second. This middleware, inside the app's outer ones (errors,
body limit), hands those calls to the same handlers their routes have, and answers their
errors with the app's own exception handlers (the native envelope, the SchedulerX one); every
other call goes down the stack as before.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Shortcut:
    methods: frozenset[str]
    path: re.Pattern[str]  # named groups are the path parameters
    handler: Handler


class ShortcutMiddleware:
    def __init__(self, app: ASGIApp, shortcuts: Sequence[Shortcut]) -> None:
        self.app = app
        self._shortcuts = tuple(shortcuts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for shortcut in self._shortcuts:
                if scope["method"] in shortcut.methods:
                    match = shortcut.path.fullmatch(scope["path"])
                    if match is not None:
                        scope["path_params"] = match.groupdict()
                        await _serve(shortcut.handler, scope, receive, send)
                        return
        await self.app(scope, receive, send)


async def _serve(handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive, send)
    try:
        response = await handler(request)
    except Exception as exc:
        answer = _handler_for(request, exc)
        if answer is None:
            raise  # the outer error middleware answers it (500) and logs it
        response = await answer(request, exc)
    await response(scope, receive, send)


def _handler_for(
    request: Request, exc: Exception
) -> Callable[[Request, Exception], Awaitable[Response]] | None:
    """The app's exception handler for ``exc`` (by its class, nearest first), as Starlette's
    exception middleware chooses it; None for one left to the outer error middleware."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            found: Callable[[Request, Exception], Awaitable[Response]] = handlers[cls]
            return found
    return None

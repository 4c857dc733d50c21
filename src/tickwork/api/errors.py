"""The native API's error envelope: ``{"error": {"code", "message", "field"}}``.

Every TickworkError maps to its HTTP status; a request that does not match the declared shape
is an InvalidParameter naming the field; anything else is a 500 whose details stay in the log.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from tickwork.domain.errors import RETRY_AFTER_S, TickworkError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}


def _field_of(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) if parts else "body"


def error_response(exc: TickworkError) -> JSONResponse:
    """A tickwork error in the native envelope, with its status (and, for a refusal for
    the moment, 503, when to try again)."""
    headers: dict[str, str] | None = None
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="tickwork"'}
    elif exc.status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(
        error_body(exc.code, exc.message, exc.field), status_code=exc.status, headers=headers
    )


def _allowed_methods(request: Request) -> str:
    """Every method some route of the path answers (the router names only those of the
    first route it tried, and each method of a path is a route of its own)."""
    path = request.scope["path"]
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TickworkError)
    async def domain_error(request: Request, exc: TickworkError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid"}
        if first.get("type") == "json_invalid":  # its loc is the character's position
            field = "body"
            ctx = first.get("ctx")
            reason = ctx.get("error", "") if isinstance(ctx, dict) else ""
            message = f"body: the JSON is malformed ({reason} at character {first['loc'][-1]})"
        else:
            field = _field_of(tuple(first.get("loc", ())))
            message = f"{field}: {first.get('msg', 'invalid value')}"
        return JSONResponse(error_body("InvalidParameter", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HttpError")
        if exc.status_code == 400:  # FastAPI could not read the body (a 5,000-digit number)
            return JSONResponse(
                error_body("InvalidParameter", f"body: {exc.detail}", "body"), status_code=400
            )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("InternalError", "internal error; the server log has the details"),
            status_code=500,
        )

"""The OpenAPI document of the native API states what it refuses and why.

FastAPI describes each route's parameters, body and success; this adds, for every route, the
4xx answers it can give in the native error envelope (``{"error": {code, message, field}}``,
api/errors.py), and the request limits (api/limits.py, api/connections.py) in the document's
description. The bounds of each number and string are in its schema (api/native/bounds.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tickwork.domain.limits import INT64_MAX, INT64_MIN, MAX_JSON_DEPTH
from tickwork.settings import Settings

__all__ = ["describe_limits"]

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string", "description": "stable, e.g. InvalidParameter"},
                "message": {"type": "string", "description": "for people; names the field"},
                "field": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "description": "the field or parameter at fault, when there is one",
                },
            },
        }
    },
}

_WHY = {
    "400": "A value breaks a rule (the message names the field), or the JSON body nests "
    f"deeper than {MAX_JSON_DEPTH} levels.",
    "401": "No access key, or a wrong one (HTTP Basic: key id and secret).",
    "403": "The access key has no right to this call.",
    "404": "What the path names does not exist.",
    "408": "The request body did not arrive in time.",
    "409": "The call conflicts with what is stored (exists already, wrong state).",
    "413": "The request body is larger than the server accepts.",
    "422": "A parameter or a field of the body does not have the declared type or bounds.",
}
_WRITES = frozenset({"post", "put", "patch", "delete"})


def describe_limits(app: FastAPI, settings: Settings) -> None:
    """Make ``app.openapi()`` state the refusals and limits (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=f"{app.description}\n\n{_limits_text(settings)}",
                routes=app.routes,
            )
            _add_refusals(spec)
            _exact_int64_bounds(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _limits_text(settings: Settings) -> str:
    return (
        "**Limits.** A request body larger than "
        f"{settings.max_body_bytes:,} bytes is refused with 413 before it is read past that "
        "(`max_body_bytes`, `TICKWORK_MAX_BODY_BYTES`); one that has not arrived within "
        f"{settings.body_timeout_s:g} s of the request's head gets 408 (`body_timeout_s`). "
        f"A JSON body nested deeper than {MAX_JSON_DEPTH} levels is refused with 400. A request "
        f"head (line and headers) must arrive within {settings.header_timeout_s:g} s "
        "(`header_timeout_s`) and stay under 64 KiB (else 408 or 431, and the connection is "
        f"closed); an idle connection is closed after {settings.keep_alive_s:g} s "
        "(`keep_alive_s`). Calls under `/api/v1` are authenticated before their body is read. "
        "Integers are 64-bit; ids are 1 and up."
    )


def _add_refusals(spec: dict[str, Any]) -> None:
    spec.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    schemas = spec["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)  # FastAPI's own 422 body, which this API never sends
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _refusals(path, method):
                responses[status] = {
                    "description": _WHY[status],
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }


def _refusals(path: str, method: str) -> list[str]:
    codes = ["408", "413"]  # any call may send a body: each is bounded
    if path == "/healthz":
        return codes
    codes += ["401", "422"]
    if path.startswith("/api/v1/"):
        codes += ["400", "403", "404"]
        if method in _WRITES:
            codes.append("409")
    return sorted(codes)


def _exact_int64_bounds(spec: Any) -> None:
    """FastAPI's OpenAPI model keeps ``minimum``/``maximum`` as floats, and 2**63 - 1 as a
    float is 2**63: a client generating values from the document would send one past the
    bound. Put the exact integers back."""
    if isinstance(spec, dict):
        for key, bound in (("maximum", INT64_MAX), ("minimum", INT64_MIN)):
            value = spec.get(key)
            if isinstance(value, float) and abs(value) >= 2.0**63:
                spec[key] = bound
            elif isinstance(value, float) and value.is_integer():
                spec[key] = int(value)
        for value in spec.values():
            _exact_int64_bounds(value)
    elif isinstance(spec, list):
        for item in spec:
            _exact_int64_bounds(item)

"""A response of the native API into its JSON or text, or into ``ApiError``: from the error
envelope (docs/native-api.md), from a framework error outside it, or from a failed transport."""

from __future__ import annotations

import httpx

from tickwork.client.encoding import JSON
from tickwork.client.errors import ApiError, ServerUnreachable

__all__ = ["decode_json", "decode_text", "transport_error"]


def decode_json(response: httpx.Response) -> JSON:
    """The JSON of a success, or ``ApiError`` from the error envelope."""
    if response.status_code >= 400:
        raise _error_from(response)
    if response.status_code == 204 or not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        raise ApiError(
            response.status_code,
            "InvalidResponse",
            f"the server sent no JSON: {_excerpt(response)}",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(response.status_code, "InvalidResponse", "the server sent no JSON object")
    return data


def decode_text(response: httpx.Response) -> str:
    """The text of a success (``/metrics``), or ``ApiError``."""
    if response.status_code >= 400:
        raise _error_from(response)
    return response.text


def transport_error(url: str, exc: httpx.TransportError) -> ApiError:
    """``ServerUnreachable`` when nothing answers at ``url``, else a transport ``ApiError``."""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return ServerUnreachable(url, reason)
    return ApiError(0, "TransportError", f"request to tickwork at {url} failed: {reason}")


def _error_from(response: httpx.Response) -> ApiError:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        field = error.get("field")
        return ApiError(
            status,
            str(error.get("code") or f"HTTP{status}"),
            str(error.get("message") or response.reason_phrase),
            field if isinstance(field, str) else None,
        )
    if isinstance(data, dict) and "detail" in data:  # a framework error outside the envelope
        return ApiError(status, f"HTTP{status}", f"{response.reason_phrase}: {data['detail']}")
    return ApiError(status, f"HTTP{status}", f"{response.reason_phrase}: {_excerpt(response)}")


def _excerpt(response: httpx.Response) -> str:
    text = response.text.strip()
    return text[:200] + ("..." if len(text) > 200 else "") if text else "(empty body)"

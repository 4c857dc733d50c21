"""The two clients of the native API: ``AsyncClient`` over httpx's async client and ``Client``
over its sync one. Each only sends a request and decodes the answer; the operations themselves
come from ``Operations``.
"""

from __future__ import annotations

from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self

import httpx

from tickwork.client.encoding import JSON, Params
from tickwork.client.operations import Operations
from tickwork.client.responses import decode_json, decode_text, transport_error
from tickwork.domain.errors import InvalidParameter

__all__ = ["DEFAULT_TIMEOUT_S", "AsyncClient", "Client"]

DEFAULT_TIMEOUT_S = 30.0


def _http_options(url: str, key_id: str, secret: str, timeout: float) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise InvalidParameter(f"url: {url!r} must start with http:// or https://", field="url")
    return {
        "base_url": url.rstrip("/"),
        "auth": httpx.BasicAuth(key_id, secret),
        "timeout": timeout,
        "headers": {"Accept": "application/json"},
    }


class AsyncClient(Operations[Coroutine[Any, Any, JSON], Coroutine[Any, Any, str]]):
    """Async client: ``await client.get_job(1)``; use ``async with`` or ``aclose()``."""

    def __init__(
        self, url: str, key_id: str, secret: str, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(**_http_options(url, key_id, secret, timeout))

    async def _json(
        self, method: str, path: str, *, params: Params | None = None, body: JSON | None = None
    ) -> JSON:
        return decode_json(await self._send(method, path, params, body))

    async def _plain(self, path: str) -> str:
        return decode_text(await self._send("GET", path, None, None))

    async def _send(
        self, method: str, path: str, params: Params | None, body: JSON | None
    ) -> httpx.Response:
        try:
            return await self._http.request(
                method, path, params=tuple(params) if params else None, json=body
            )
        except httpx.TransportError as exc:
            raise transport_error(self.url, exc) from None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Client(Operations[JSON, str]):
    """Blocking client with the same operations as ``AsyncClient``."""

    def __init__(
        self, url: str, key_id: str, secret: str, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(**_http_options(url, key_id, secret, timeout))

    def _json(
        self, method: str, path: str, *, params: Params | None = None, body: JSON | None = None
    ) -> JSON:
        return decode_json(self._send(method, path, params, body))

    def _plain(self, path: str) -> str:
        return decode_text(self._send("GET", path, None, None))

    def _send(
        self, method: str, path: str, params: Params | None, body: JSON | None
    ) -> httpx.Response:
        try:
            return self._http.request(
                method, path, params=tuple(params) if params else None, json=body
            )
        except httpx.TransportError as exc:
            raise transport_error(self.url, exc) from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

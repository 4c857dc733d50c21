"""HTTP jobs: the content is the HttpAttribute JSON; the job's parameters are the form body.

``{"url": "http://host/path", "method": "POST", "timeout": 15, "respKey": "code",
"respValue": "200"}``. A run succeeds on a 2xx answer whose JSON ``respKey`` (when set) equals
``respValue``, compared as strings. Its result is the response body (first 1000 characters).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from tickwork import __version__
from tickwork.domain import bounded_json
from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter, TickworkError
from tickwork.domain.http_attribute import (
    BODY_METHODS,
    DEFAULT_TIMEOUT_S,
    HTTP_METHODS,
    HttpAttribute,
    json_text,
    parse_http_attribute,
)
from tickwork.worker.abc import RunOutcome
from tickwork.worker.executors.base import Execution, clip, failed

__all__ = [
    "BODY_METHODS",
    "DEFAULT_TIMEOUT_S",
    "HTTP_METHODS",
    "MAX_BODY_BYTES",
    "HttpAttribute",
    "HttpExecution",
    "json_text",
    "parse_http_attribute",
]

MAX_BODY_BYTES = 1024 * 1024
"""At most this much of a response is read."""


def _lookup(document: Any, key: str) -> tuple[bool, Any]:
    """``key`` at the top of a JSON object, else as a dotted path (``data.code``)."""
    if isinstance(document, dict) and key in document:
        return True, document[key]
    node = document
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


class HttpExecution(Execution):
    def _form(self) -> list[tuple[str, str]]:
        # Instance parameters, when given, stand in for the job's for this run.
        raw = self.request.instance_parameters or self.request.job_parameters
        return parse_qsl(raw.strip(), keep_blank_values=True)

    async def run(self) -> RunOutcome:
        try:
            attribute = parse_http_attribute(self.request.content)
        except TickworkError as exc:
            return failed(exc.message)
        sink = self.env.sink
        form = self._form()
        headers = {"User-Agent": f"tickwork/{__version__}", **dict(attribute.headers)}
        if attribute.cookie:
            headers["Cookie"] = attribute.cookie
        content: bytes | None = None
        url = httpx.URL(attribute.url)
        if attribute.method in BODY_METHODS:
            content = urlencode(form).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif form:  # added to the URL's own query
            url = url.copy_merge_params(httpx.QueryParams(tuple(form)))
        request = self.env.http.build_request(
            attribute.method,
            url,
            content=content,
            headers=headers,
            timeout=attribute.timeout,
        )
        sink.log(f"{request.method} {request.url}")
        try:
            response = await self.env.http.send(request, stream=True)
            try:
                body = await _read_limited(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            return failed(f"no answer from {attribute.url} within {attribute.timeout:g} s")
        except httpx.HTTPError as exc:
            return failed(f"request to {attribute.url} failed: {type(exc).__name__}: {exc}")
        text = body.decode(response.encoding or "utf-8", errors="replace")
        sink.log(f"HTTP {response.status_code} {response.reason_phrase} ({len(body)} bytes)")
        if not response.is_success:
            return failed(f"HTTP {response.status_code}: {text}")
        if attribute.resp_key:
            problem = _check_resp_key(attribute, text)
            if problem:
                sink.log(problem)
                return failed(f"{problem}: {text}")
        return RunOutcome(InstanceStatus.SUCCESS, clip(text))


async def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break
    return b"".join(chunks)[:MAX_BODY_BYTES]


def _check_resp_key(attribute: HttpAttribute, text: str) -> str:
    """Empty when the response's respKey equals respValue, else what is wrong."""
    key = attribute.resp_key
    try:
        document = bounded_json.loads(text, field="response")
    except json.JSONDecodeError:
        return f"respKey {key!r}: the response is not JSON"
    except InvalidParameter as exc:
        return f"respKey {key!r}: the {exc.message}"
    found, value = _lookup(document, key)
    if not found:
        return f"respKey {key!r} is not in the response"
    actual = json_text(value)
    if actual != attribute.resp_value:
        return f"respKey {key!r} is {actual!r}, expected {attribute.resp_value!r}"
    return ""

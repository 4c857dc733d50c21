"""HTTP jobs: the content is the HttpAttribute JSON; the job's parameters are the form body.

``{"url": "http://host/path", "method": "POST", "timeout": 15, "respKey": "code",
"respValue": "200"}``. A run succeeds on a 2xx answer whose JSON ``respKey`` (when set) equals
``respValue``, compared as strings. Its result is the response body (first 1000 characters).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from tickwork import __version__
from tickwork.domain import bounded_json
from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter, TickworkError
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

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
DEFAULT_TIMEOUT_S = 15.0
MAX_TIMEOUT_S = 86_400.0
MAX_BODY_BYTES = 1024 * 1024
"""At most this much of a response is read."""

_EXAMPLE = '{"url": "http://host/path", "method": "GET", "timeout": 15}'


@dataclass(slots=True, frozen=True)
class HttpAttribute:
    url: str
    method: str = "GET"
    timeout: float = DEFAULT_TIMEOUT_S
    resp_key: str = ""
    resp_value: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    cookie: str = ""


def json_text(value: Any) -> str:
    """A JSON value as the string it is compared as: ``true``, ``200``, ``ok``, ``null``."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _invalid(message: str) -> InvalidParameter:
    return InvalidParameter(f"content: {message}", field="content")


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise _invalid(f"{key} must be a string, got {type(value).__name__}")
    return json_text(value)


def _timeout(data: dict[str, Any]) -> float:
    raw = data.get("timeout")
    if raw is None or raw == "":
        return DEFAULT_TIMEOUT_S
    try:
        if isinstance(raw, bool):
            raise ValueError(raw)
        timeout = float(raw)
    except (TypeError, ValueError):
        raise _invalid(f"timeout must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(timeout) or not 0 < timeout <= MAX_TIMEOUT_S:
        raise _invalid(f"timeout must be between 0 and {MAX_TIMEOUT_S:g} seconds, got {raw!r}")
    return timeout


def _headers(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    raw = data.get("headers")
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise _invalid("headers must be an object of strings")
    return tuple((str(k), v) for k, v in raw.items())


def parse_http_attribute(content: str) -> HttpAttribute:
    """Parse and check an http job's content; raises InvalidParameter(field="content")."""
    if not content or not content.strip():
        raise _invalid(f"an http job needs the HttpAttribute JSON, e.g. {_EXAMPLE}")
    try:
        data = bounded_json.loads(content, field="content")
    except json.JSONDecodeError as exc:
        raise _invalid(f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(data, dict):
        raise _invalid(f"must be a JSON object, e.g. {_EXAMPLE}")
    url = data.get("url")
    if not isinstance(url, str) or not url.strip():
        raise _invalid("url is missing")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise _invalid(f"url must be an absolute http:// or https:// URL, got {url!r}")
    method = data.get("method") or "GET"
    if not isinstance(method, str) or method.strip().upper() not in HTTP_METHODS:
        raise _invalid(f"method must be one of {', '.join(sorted(HTTP_METHODS))}, got {method!r}")
    return HttpAttribute(
        url=url,
        method=method.strip().upper(),
        timeout=_timeout(data),
        resp_key=_text(data, "respKey"),
        resp_value=_text(data, "respValue"),
        headers=_headers(data),
        cookie=_text(data, "cookie"),
    )


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

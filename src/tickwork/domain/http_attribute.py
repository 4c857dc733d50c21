"""An http job's content: the HttpAttribute JSON (url, method, timeout, respKey, respValue,
headers, cookie), parsed and checked once, by the services when a job is stored and by the
executor when it runs.

``{"url": "http://host/path", "method": "POST", "timeout": 15, "respKey": "code",
"respValue": "200"}``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tickwork.domain import bounded_json
from tickwork.domain.errors import InvalidParameter

__all__ = [
    "BODY_METHODS",
    "DEFAULT_TIMEOUT_S",
    "HTTP_METHODS",
    "HttpAttribute",
    "json_text",
    "parse_http_attribute",
]

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
DEFAULT_TIMEOUT_S = 15.0
MAX_TIMEOUT_S = 86_400.0

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

"""Instants on the native wire: ISO-8601 UTC with milliseconds."""

from __future__ import annotations

import time
from datetime import datetime
from functools import lru_cache

from tickwork.domain.errors import InvalidParameter


def to_iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}{millis:03d}Z"


@lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.`` of a second: the instants of a burst of answers share a few."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(seconds))


def from_datetime(value: datetime | None, field: str) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidParameter(
            f"{field} must carry a UTC offset (e.g. 2026-11-21T04:30:00Z), got a naive time",
            field=field,
        )
    return round(value.timestamp() * 1000)


def parse_iso(text: str, field: str) -> int:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidParameter(
            f"{field} {text!r} is not an ISO-8601 instant", field=field
        ) from None
    result = from_datetime(value, field)
    assert result is not None
    return result

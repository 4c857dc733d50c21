"""Arguments of a client call in the API's wire form: instants as ISO-8601 UTC, query pairs,
JSON bodies without the unset fields, and path segments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from tickwork.domain.errors import InvalidParameter

__all__ = [
    "JSON",
    "Instant",
    "Params",
    "format_instant",
    "json_body",
    "path_segment",
    "query_params",
]

JSON = dict[str, Any]
Params = list[tuple[str, str]]
Instant = str | datetime | int
"""An ISO-8601 string, an aware datetime, or epoch milliseconds."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_instant(value: Instant, field: str) -> str:
    """An instant as the API's ISO-8601 UTC form; a naive datetime is refused."""
    if isinstance(value, bool):
        raise InvalidParameter(f"{field}: expected an instant, got {value!r}", field=field)
    if isinstance(value, int):
        moment = _EPOCH + timedelta(milliseconds=value)
    elif isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidParameter(
                f"{field}: {value!r} is not an ISO-8601 date and time", field=field
            ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidParameter(
            f"{field}: {value!s} has no time zone; add Z or an offset such as +08:00", field=field
        )
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def path_segment(value: str | int) -> str:
    """One path segment, escaped so that a ``/`` in a name stays inside it."""
    return quote(str(value), safe="")


def query_params(**values: str | int | bool | Sequence[str] | None) -> Params:
    """Query pairs without the None values; a sequence repeats its key."""
    pairs: Params = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        elif isinstance(value, str | int):
            pairs.append((key, str(value)))
        else:
            pairs.extend((key, str(item)) for item in value)
    return pairs


def json_body(**values: Any) -> JSON:
    """A request body without the None values, so the server applies its defaults."""
    return {key: value for key, value in values.items() if value is not None}

"""Time zones: parsing names, and wall-clock <-> UTC the way Java's GregorianCalendar does it.

Java (and so Quartz) resolves a wall-clock time that does not exist (a DST gap) with the offset
in force before the gap, which lands it after the gap, and a wall-clock time that happens twice
(a DST overlap) with the offset in force after the overlap, the later of the two instants. Both
are "the smaller of the two candidate offsets", which is what :meth:`ZoneRules.wall_to_utc` does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tickwork.domain.errors import InvalidParameter

__all__ = ["ZoneRules", "days_from_civil", "civil_from_days", "parse_timezone", "zone_rules"]

MS_PER_DAY = 86_400_000
_MIN_YEAR = 2
_MAX_YEAR = 9998

# GMT+8, GMT+08:00, GMT-3:30, GMT+0830, UTC+8 (Java's custom time zone ids, plus a UTC prefix).
_OFFSET_RE = re.compile(r"(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, any day)."""
    y = year - (1 if month <= 2 else 0)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month 1..12, day) of a day count since 1970-01-01."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if month <= 2 else 0), month, day


@lru_cache(maxsize=512)
def parse_timezone(name: str) -> tzinfo:
    """A job's time zone: an IANA name, ``UTC``/``GMT``, or ``GMT+8``-style offsets; "" is UTC."""
    text = name.strip()
    if text == "" or text.upper() in ("UTC", "GMT", "Z", "UT"):
        return UTC
    match = _OFFSET_RE.fullmatch(text)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 23 or minutes > 59:
            raise InvalidParameter(
                f"invalid timezone {name!r}: offset hours must be 0..23 and minutes 0..59",
                field="timezone",
            )
        delta = timedelta(hours=hours, minutes=minutes)
        if delta == timedelta(0):
            return UTC
        return timezone(-delta if sign == "-" else delta, f"GMT{sign}{hours:02d}:{minutes:02d}")
    if text.startswith("/") or ".." in text or "\\" in text:
        raise InvalidParameter(f"invalid timezone {name!r}", field="timezone")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidParameter(
            f"unknown timezone {name!r}: use an IANA name (Asia/Shanghai), UTC or GMT+8",
            field="timezone",
        ) from None


class ZoneRules:
    """UTC offsets of one zone, in milliseconds, with Java's rules for gaps and overlaps."""

    __slots__ = ("_zone", "_fixed", "_utc_hours", "_wall_hours")

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        fixed = zone.utcoffset(None) if not isinstance(zone, ZoneInfo) else None
        self._fixed: int | None = None if fixed is None else int(fixed.total_seconds() * 1000)
        # Per hour: the offset when it is the same at the hour's first and last second (no
        # transition inside; zones change offset at most once an hour), else None.
        self._utc_hours: dict[int, int | None] = {}
        self._wall_hours: dict[int, int | None] = {}

    @property
    def fixed_offset_ms(self) -> int | None:
        return self._fixed

    def offset_at(self, utc_ms: int) -> int:
        """The zone's offset at a UTC instant."""
        if self._fixed is not None:
            return self._fixed
        hour = utc_ms // _MS_PER_HOUR
        cached = self._utc_hours.get(hour, _MISSING)
        if cached is _MISSING:
            first = self._offset_at(hour * _MS_PER_HOUR)
            cached = first if first == self._offset_at(hour * _MS_PER_HOUR + 3_599_000) else None
            _remember(self._utc_hours, hour, cached)
        return self._offset_at(utc_ms) if cached is None else cached

    def _offset_at(self, utc_ms: int) -> int:
        seconds = _clamp_seconds(utc_ms // 1000)
        offset = datetime.fromtimestamp(seconds, self._zone).utcoffset()
        return 0 if offset is None else int(offset.total_seconds()) * 1000

    def wall_to_utc(self, wall_ms: int) -> int:
        """The UTC instant of a wall-clock time (ms since the epoch, as if UTC), Java's way."""
        if self._fixed is not None:
            return wall_ms - self._fixed
        hour = wall_ms // _MS_PER_HOUR
        cached = self._wall_hours.get(hour, _MISSING)
        if cached is _MISSING:
            start = hour * _MS_PER_HOUR
            first = start - self._wall_to_utc(start)
            last = start + 3_599_000 - self._wall_to_utc(start + 3_599_000)
            cached = first if first == last else None
            _remember(self._wall_hours, hour, cached)
        return self._wall_to_utc(wall_ms) if cached is None else wall_ms - cached

    def _wall_to_utc(self, wall_ms: int) -> int:
        days, rest = divmod(wall_ms, MS_PER_DAY)
        year, month, day = civil_from_days(days)
        if year < _MIN_YEAR or year > _MAX_YEAR:
            return wall_ms - self._offset_at(_clamp_seconds(wall_ms // 1000) * 1000)
        seconds = rest // 1000
        local = datetime(
            year, month, day, seconds // 3600, seconds // 60 % 60, seconds % 60, tzinfo=self._zone
        )
        first = local.utcoffset()
        second = local.replace(fold=1).utcoffset()
        offset = min(first or timedelta(0), second or timedelta(0))
        return wall_ms - int(offset.total_seconds()) * 1000


_MS_PER_HOUR = 3_600_000
_MISSING: int | None = -(2**62)
_CACHE_LIMIT = 50_000


def _remember(cache: dict[int, int | None], hour: int, offset: int | None) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[hour] = offset


def _clamp_seconds(seconds: int) -> int:
    low = (days_from_civil(_MIN_YEAR, 1, 2)) * 86400
    high = (days_from_civil(_MAX_YEAR, 12, 30)) * 86400
    return min(max(seconds, low), high)


@lru_cache(maxsize=512)
def zone_rules(name: str) -> ZoneRules:
    """Cached :class:`ZoneRules` of a zone name (see :func:`parse_timezone`)."""
    return ZoneRules(parse_timezone(name))

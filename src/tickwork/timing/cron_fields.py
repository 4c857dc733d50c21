"""The seven fields of a Quartz cron expression and its parsed form, ``CronFields``.

Field numbers, names and bounds are Quartz 2.3.2's (day-of-week SUN=1 to SAT=7); ``ALL_SPEC``
and ``NO_SPEC`` are the markers Quartz stores in a value set for ``*`` and ``?``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "ALL_SPEC",
    "BOUNDS",
    "DAY_NAMES",
    "DAY_OF_MONTH",
    "DAY_OF_WEEK",
    "FIELD_NAMES",
    "HOUR",
    "MAX_YEAR",
    "MINUTE",
    "MONTH",
    "MONTH_NAMES",
    "NO_SPEC",
    "OVERFLOW",
    "SECOND",
    "YEAR",
    "YEAR_CAP",
    "CronFields",
]

SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR = range(7)
ALL_SPEC = 99  # '*'
NO_SPEC = 98  # '?'
# Quartz fixes this when the class loads: the current year + 100.
MAX_YEAR = datetime.now(UTC).year + 100
# Years past this never fire (Quartz stops at MAX_YEAR and at 2999); keep sets small.
YEAR_CAP = 3001

FIELD_NAMES = ("seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year")
# Names as Quartz reads them: months JAN=0 to DEC=11 (the parser adds 1), days SUN=1 to SAT=7.
MONTH_NAMES = {
    m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())
}
DAY_NAMES = {d: i + 1 for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
# The values a field takes; a range past its end wraps around modulo OVERFLOW (e.g. 22-2).
BOUNDS = {
    SECOND: (0, 59),
    MINUTE: (0, 59),
    HOUR: (0, 23),
    DAY_OF_MONTH: (1, 31),
    MONTH: (1, 12),
    DAY_OF_WEEK: (1, 7),
    YEAR: (1970, MAX_YEAR),
}
OVERFLOW = {SECOND: 60, MINUTE: 60, HOUR: 24, MONTH: 12, DAY_OF_WEEK: 7, DAY_OF_MONTH: 31}


@dataclass(slots=True)
class CronFields:
    """The parsed form of a Quartz cron expression (value sets as sorted lists)."""

    expression: str
    seconds: list[int] = field(default_factory=list)
    minutes: list[int] = field(default_factory=list)
    hours: list[int] = field(default_factory=list)
    days_of_month: list[int] = field(default_factory=list)
    months: list[int] = field(default_factory=list)
    days_of_week: list[int] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    lastday_of_week: bool = False
    nthday_of_week: int = 0
    lastday_of_month: bool = False
    nearest_weekday: bool = False
    lastday_offset: int = 0

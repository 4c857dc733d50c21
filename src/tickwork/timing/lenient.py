"""A lenient wall-clock calendar that behaves like Java's ``GregorianCalendar``.

Quartz's next-fire search sets calendar fields to out-of-range values (minute 60, day 32,
month 13, hour in a DST gap) and lets the calendar roll them over; reading any field then
re-normalises every field through the time zone. This class does the same, with the zone's
gaps and overlaps resolved as Java does (see :mod:`tickwork.timing.zones`).
"""

from __future__ import annotations

from tickwork.timing.zones import MS_PER_DAY, ZoneRules, civil_from_days, days_from_civil

__all__ = ["LenientCalendar", "last_day_of_month"]


def is_leap_year(year: int) -> bool:
    return (year % 4 == 0 and year % 100 != 0) or year % 400 == 0


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def last_day_of_month(month: int, year: int) -> int:
    """Days in a month (1..12) of a year."""
    if month == 2 and is_leap_year(year):
        return 29
    return _MONTH_DAYS[month - 1]


class LenientCalendar:
    """Fields year, month (0-based as in Java), day, hour, minute, second, millisecond."""

    __slots__ = ("rules", "year", "month", "day", "hour", "minute", "second", "ms", "time", "dirty")

    def __init__(self, rules: ZoneRules, utc_ms: int) -> None:
        self.rules = rules
        self.year = self.month = self.day = self.hour = self.minute = self.second = self.ms = 0
        self.time = 0
        self.dirty = False
        self.set_time(utc_ms)

    def set_time(self, utc_ms: int) -> None:
        self.time = utc_ms
        self.dirty = False
        fixed = self.rules.fixed_offset_ms
        local = utc_ms + (fixed if fixed is not None else self.rules.offset_at(utc_ms))
        days, rest = divmod(local, MS_PER_DAY)
        year, month, day = civil_from_days(days)
        self.year, self.month, self.day = year, month - 1, day
        seconds, self.ms = divmod(rest, 1000)
        self.hour, seconds = divmod(seconds, 3600)
        self.minute, self.second = divmod(seconds, 60)

    def complete(self) -> None:
        """Recompute the instant from the (possibly out-of-range) fields, then the fields."""
        if not self.dirty:
            return
        year_shift, month = divmod(self.month, 12)
        days = days_from_civil(self.year + year_shift, month + 1, 1) + self.day - 1
        wall = (
            days * MS_PER_DAY
            + self.hour * 3_600_000
            + self.minute * 60_000
            + self.second * 1000
            + self.ms
        )
        self.set_time(self.rules.wall_to_utc(wall))

    def get_time(self) -> int:
        self.complete()
        return self.time

    def day_of_week(self) -> int:
        """Java's DAY_OF_WEEK: SUN=1 .. SAT=7."""
        self.complete()
        return (days_from_civil(self.year, self.month + 1, self.day) + 4) % 7 + 1

    def add_year(self, amount: int) -> None:
        """Calendar.add(YEAR, amount): keeps the day within the month (Feb 29 -> 28)."""
        self.complete()
        self.year += amount
        self.dirty = True
        length = last_day_of_month(self.month + 1, self.year)
        if self.day > length:
            self.day = length

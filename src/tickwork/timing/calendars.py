"""Calendars: the days a cron job held to a calendar may fire on."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from tickwork.domain.errors import InvalidParameter
from tickwork.domain.models import Calendar, CalendarMonth
from tickwork.timing.lenient import last_day_of_month
from tickwork.timing.zones import days_from_civil

__all__ = ["CalendarDays", "check_calendar_months"]


def check_calendar_months(year: int, months: Iterable[CalendarMonth]) -> None:
    """Refuse a calendar year whose months or days do not exist."""
    if not 1970 <= year <= 9999:
        raise InvalidParameter(f"invalid calendar year {year}: must be 1970..9999", field="year")
    for entry in months:
        if not 1 <= entry.month <= 12:
            raise InvalidParameter(
                f"invalid calendar month {entry.month} in {year}: must be 1..12", field="months"
            )
        length = last_day_of_month(entry.month, year)
        for day in entry.days:
            if not 1 <= day <= length:
                raise InvalidParameter(
                    f"invalid calendar day {year}-{entry.month:02d}-{day}: "
                    f"month {entry.month} of {year} has days 1..{length}",
                    field="months",
                )


class CalendarDays:
    """The allowed local dates of one named calendar, over all its years.

    A date of a year that has no calendar entry is not allowed; days that do not exist
    (a 30th of February) are ignored.
    """

    __slots__ = ("_days", "_set")

    def __init__(self, days: Iterable[int]) -> None:
        self._days = sorted(set(days))
        self._set = frozenset(self._days)

    @classmethod
    def from_calendars(cls, calendars: Iterable[Calendar]) -> CalendarDays:
        days: list[int] = []
        for calendar in calendars:
            for entry in calendar.months:
                if not 1 <= entry.month <= 12:
                    continue
                length = last_day_of_month(entry.month, calendar.year)
                days.extend(
                    days_from_civil(calendar.year, entry.month, day)
                    for day in entry.days
                    if 1 <= day <= length
                )
        return cls(days)

    def allows(self, epoch_day: int) -> bool:
        """Is this local date (days since 1970-01-01) allowed?"""
        return epoch_day in self._set

    def next_allowed(self, epoch_day: int) -> int | None:
        """The first allowed local date on or after this one, or None."""
        index = bisect_left(self._days, epoch_day)
        return self._days[index] if index < len(self._days) else None

    def __len__(self) -> int:
        return len(self._days)

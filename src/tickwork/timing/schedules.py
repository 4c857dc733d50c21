"""Schedules: when a job fires, for every time type, with calendars and start/end windows.

All instants are UTC epoch milliseconds. ``next_fire(after)`` is the first fire strictly after
``after``; ``first_fire(now)`` is the first fire of a newly enabled job.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from datetime import datetime

from tickwork.domain.enums import TimeType
from tickwork.domain.errors import InvalidParameter, InvalidTimeExpression
from tickwork.timing.calendars import CalendarDays
from tickwork.timing.cron import QuartzCron
from tickwork.timing.instants import LATEST_MS, MAX_SPAN_S, holds_instant
from tickwork.timing.zones import MS_PER_DAY, days_from_civil, parse_timezone, zone_rules

__all__ = [
    "Schedule",
    "CronSchedule",
    "FixedRateSchedule",
    "SecondDelaySchedule",
    "OneTimeSchedule",
    "ApiSchedule",
    "NoneSchedule",
    "build_schedule",
    "validate_time",
    "fire_times",
    "data_time",
    "parse_one_time",
]

_ONE_TIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_SECONDS_RE = re.compile(r"[0-9]+")


def _ceil_second(ms: int) -> int:
    return -(-ms // 1000) * 1000


class Schedule(ABC):
    """When one job fires; the window [start_time, end_time] bounds every fire."""

    time_type: TimeType

    def __init__(self, start_time: int | None = None, end_time: int | None = None) -> None:
        self.start_time = start_time
        self.end_time = end_time

    @abstractmethod
    def next_fire(self, after_ms: int) -> int | None:
        """The first fire strictly after ``after_ms``, or None when there is none."""

    @abstractmethod
    def first_fire(self, now_ms: int) -> int | None:
        """The first fire of a job enabled at ``now_ms``, or None."""

    def _within(self, fire: int | None) -> int | None:
        if fire is None or (self.end_time is not None and fire > self.end_time):
            return None
        return fire


class CronSchedule(Schedule):
    """Quartz cron, optionally held to a calendar's days (in the job's time zone)."""

    time_type = TimeType.CRON

    def __init__(
        self,
        cron: QuartzCron,
        calendar: CalendarDays | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> None:
        super().__init__(start_time, end_time)
        self.cron = cron
        self.calendar = calendar
        self._rules = zone_rules(cron.timezone)

    def next_fire(self, after_ms: int) -> int | None:
        if self.start_time is not None and after_ms < self.start_time - 1:
            after_ms = self.start_time - 1
        fire = self.cron.next_after(after_ms)
        if self.calendar is not None:
            fire = self._held_to_calendar(self.calendar, fire)
        if fire is not None and fire <= after_ms:  # never go backwards, whatever the zone does
            return None
        return self._within(fire)

    def first_fire(self, now_ms: int) -> int | None:
        return self.next_fire(now_ms - 1)

    def _held_to_calendar(self, calendar: CalendarDays, fire: int | None) -> int | None:
        """Skip fires on days the calendar does not allow; each step moves to a later day."""
        while fire is not None:
            if self.end_time is not None and fire > self.end_time:
                return None
            day = (fire + self._rules.offset_at(fire)) // MS_PER_DAY
            if calendar.allows(day):
                return fire
            allowed = calendar.next_allowed(day)
            if allowed is None:
                return None
            fire = self.cron.next_after(self._rules.wall_to_utc(allowed * MS_PER_DAY) - 1)
        return None


class FixedRateSchedule(Schedule):
    """Every N seconds: next = previous + N s; the first fire is N s after enabling."""

    time_type = TimeType.FIXED_RATE

    def __init__(
        self, seconds: int, start_time: int | None = None, end_time: int | None = None
    ) -> None:
        super().__init__(start_time, end_time)
        self.seconds = seconds

    def next_fire(self, after_ms: int) -> int | None:
        fire = after_ms + self.seconds * 1000
        if self.start_time is not None and fire < self.start_time:
            fire = _ceil_second(self.start_time)
        return self._within(fire)

    def first_fire(self, now_ms: int) -> int | None:
        return self.next_fire(_ceil_second(now_ms))


class SecondDelaySchedule(Schedule):
    """N seconds after the previous instance ends (``next_fire(end)``)."""

    time_type = TimeType.SECOND_DELAY

    def __init__(
        self, seconds: int, start_time: int | None = None, end_time: int | None = None
    ) -> None:
        super().__init__(start_time, end_time)
        self.seconds = seconds

    def next_fire(self, after_ms: int) -> int | None:
        fire = after_ms + self.seconds * 1000
        if self.start_time is not None and fire < self.start_time:
            fire = self.start_time
        return self._within(fire)

    def first_fire(self, now_ms: int) -> int | None:
        return self.next_fire(now_ms)


class OneTimeSchedule(Schedule):
    """Once, at one instant; ``first_fire`` returns it even when it has passed."""

    time_type = TimeType.ONE_TIME

    def __init__(
        self, instant: int, start_time: int | None = None, end_time: int | None = None
    ) -> None:
        super().__init__(start_time, end_time)
        self.instant = instant

    def _allowed(self) -> int | None:
        if self.start_time is not None and self.instant < self.start_time:
            return None
        return self._within(self.instant)

    def next_fire(self, after_ms: int) -> int | None:
        fire = self._allowed()
        return fire if fire is not None and fire > after_ms else None

    def first_fire(self, now_ms: int) -> int | None:
        return self._allowed()


class ApiSchedule(Schedule):
    """Fires only when triggered through an API: never by itself."""

    time_type = TimeType.API

    def next_fire(self, after_ms: int) -> int | None:
        return None

    def first_fire(self, now_ms: int) -> int | None:
        return None


class NoneSchedule(ApiSchedule):
    """No schedule at all (SchedulerX's time type -1): like API, it never fires by itself."""

    time_type = TimeType.NONE


def _seconds(expression: str, what: str) -> int:
    text = expression.strip()
    if not _SECONDS_RE.fullmatch(text) or not 1 <= _whole_number(text) <= MAX_SPAN_S:
        raise InvalidTimeExpression(
            f"invalid time_expression {expression!r}: {what} must be a whole number of "
            f"seconds from 1 to {MAX_SPAN_S}",
            position=0,
        )
    return int(text)


def _whole_number(digits: str) -> int:
    """The value of a string of ASCII digits, or -1 when it has more than 18 significant
    ones (past every bound here; ``int`` of thousands of digits is slow, and CPython refuses
    more than 4,300)."""
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= 18 else -1


def parse_one_time(expression: str, timezone: str) -> int:
    """``yyyy-MM-dd HH:mm:ss`` in the time zone, or epoch milliseconds; UTC epoch ms, an
    instant that can be stored and shown (``holds_instant``)."""
    text = expression.strip()
    if text.isascii() and text.isdigit():
        instant = _whole_number(text)
        if not 0 <= instant <= LATEST_MS:
            raise InvalidTimeExpression(
                f"invalid time_expression {expression!r}: a one-time instant in epoch "
                f"milliseconds must be at most {LATEST_MS} (9999-12-30T23:59:59.999Z)",
                position=0,
            )
        return instant
    instant = _wall_time(expression, text, timezone)
    if not holds_instant(instant):
        raise InvalidTimeExpression(
            f"invalid time_expression {expression!r}: a one-time instant must be from "
            "0001-01-02 to 9999-12-30 (UTC)",
            position=0,
        )
    return instant


def _wall_time(expression: str, text: str, timezone: str) -> int:
    match = _ONE_TIME_RE.fullmatch(text)
    if match is None:
        raise InvalidTimeExpression(
            f"invalid time_expression {expression!r}: a one-time job needs "
            "'yyyy-MM-dd HH:mm:ss' (in the job's time zone) or epoch milliseconds",
            position=0,
        )
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise InvalidTimeExpression(
            f"invalid time_expression {expression!r}: {exc}", position=0
        ) from None
    wall = (days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second) * 1000
    return zone_rules(timezone).wall_to_utc(wall)


def build_schedule(
    time_type: TimeType,
    expression: str,
    timezone: str,
    calendar: CalendarDays | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
) -> Schedule:
    """The schedule of a job; InvalidTimeExpression / InvalidParameter when it has none."""
    parse_timezone(timezone)
    if start_time is not None and end_time is not None and end_time < start_time:
        raise InvalidParameter(
            f"end_time {end_time} is before start_time {start_time}", field="end_time"
        )
    if time_type == TimeType.CRON:
        return CronSchedule(QuartzCron(expression, timezone), calendar, start_time, end_time)
    if time_type == TimeType.FIXED_RATE:
        return FixedRateSchedule(_seconds(expression, "fixed rate"), start_time, end_time)
    if time_type == TimeType.SECOND_DELAY:
        return SecondDelaySchedule(_seconds(expression, "second delay"), start_time, end_time)
    if time_type == TimeType.ONE_TIME:
        return OneTimeSchedule(parse_one_time(expression, timezone), start_time, end_time)
    if time_type == TimeType.API:
        return ApiSchedule(start_time, end_time)
    if time_type == TimeType.NONE:
        return NoneSchedule(start_time, end_time)
    raise InvalidParameter(f"unknown time_type {time_type!r}", field="time_type")


def validate_time(time_type: TimeType, expression: str, timezone: str) -> None:
    """Check a job's time settings when it is created or updated."""
    build_schedule(time_type, expression, timezone)


def fire_times(schedule: Schedule, after_ms: int, count: int) -> list[int]:
    """The next ``count`` fires strictly after ``after_ms`` (fewer when the schedule ends)."""
    times: list[int] = []
    t = after_ms
    while len(times) < count:
        fire = schedule.next_fire(t)
        if fire is None:
            break
        times.append(fire)
        t = fire
    return times


def data_time(schedule_ms: int, offset_s: int) -> int:
    """The data time of a fire: its schedule time plus the job's DataOffset (seconds)."""
    return schedule_ms + offset_s * 1000

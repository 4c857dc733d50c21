"""Timing: Quartz cron, fixed rate, second delay, one time, calendars and time zones.

Pure functions over UTC epoch milliseconds; no I/O. The engine uses :func:`build_schedule`.
"""

from tickwork.timing.calendars import CalendarDays, check_calendar_months
from tickwork.timing.cron import QuartzCron
from tickwork.timing.schedules import (
    ApiSchedule,
    CronSchedule,
    FixedRateSchedule,
    NoneSchedule,
    OneTimeSchedule,
    Schedule,
    SecondDelaySchedule,
    build_schedule,
    data_time,
    fire_times,
    parse_one_time,
    validate_time,
)
from tickwork.timing.zones import parse_timezone

__all__ = [
    "ApiSchedule",
    "CalendarDays",
    "CronSchedule",
    "FixedRateSchedule",
    "NoneSchedule",
    "OneTimeSchedule",
    "QuartzCron",
    "Schedule",
    "SecondDelaySchedule",
    "build_schedule",
    "check_calendar_months",
    "data_time",
    "fire_times",
    "parse_one_time",
    "parse_timezone",
    "validate_time",
]

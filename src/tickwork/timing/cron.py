"""Quartz cron expressions: :class:`QuartzCron` parses once and computes fire times."""

from __future__ import annotations

from functools import lru_cache

from tickwork.timing.cron_parser import CronFields, parse_cron
from tickwork.timing.cron_search import time_after
from tickwork.timing.zones import zone_rules

__all__ = ["QuartzCron"]


class QuartzCron:
    """A Quartz 2.3.2 cron expression in a time zone."""

    __slots__ = ("expression", "timezone", "_fields", "_rules")

    def __init__(self, expression: str, timezone: str = "") -> None:
        self.expression = expression
        self.timezone = timezone
        self._rules = zone_rules(timezone)
        self._fields: CronFields = _parsed(expression)

    def next_after(self, after_ms: int) -> int | None:
        """The first fire strictly after ``after_ms`` (UTC epoch ms); None if it never fires."""
        return time_after(self._fields, self._rules, after_ms)

    def __repr__(self) -> str:
        return f"QuartzCron({self.expression!r}, {self.timezone!r})"


@lru_cache(maxsize=4096)
def _parsed(expression: str) -> CronFields:
    """One parsed form per expression, shared by the schedules that use it (only read): a
    parsed expression holds some 160 objects (its years alone are 130 ints), 5 KiB, and
    100,000 jobs on 60 expressions held 480 MiB of copies."""
    return parse_cron(expression)

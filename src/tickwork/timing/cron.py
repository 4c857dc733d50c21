"""Quartz cron expressions: :class:`QuartzCron` parses once and computes fire times."""

from __future__ import annotations

from functools import lru_cache

from tickwork.timing.cron_parser import CronFields, parse_cron
from tickwork.timing.cron_search import time_after
from tickwork.timing.zones import zone_rules

__all__ = ["QuartzCron"]


class QuartzCron:
    """A Quartz 2.3.2 cron expression in a time zone."""

    __slots__ = ("expression", "timezone", "_fields", "_rules", "_recent")

    def __init__(self, expression: str, timezone: str = "") -> None:
        self.expression = expression
        self.timezone = timezone
        self._rules = zone_rules(timezone)
        self._fields: CronFields = _parsed(expression)
        self._recent = _recent_answers(expression, timezone)

    def next_after(self, after_ms: int) -> int | None:
        """The first fire strictly after ``after_ms`` (UTC epoch ms); None if it never fires."""
        recent = self._recent
        fire = recent.get(after_ms, _UNKNOWN)
        if fire is _UNKNOWN:
            fire = time_after(self._fields, self._rules, after_ms)
            if len(recent) >= RECENT_ANSWERS:
                recent.clear()
            recent[after_ms] = fire
        return fire

    def __repr__(self) -> str:
        return f"QuartzCron({self.expression!r}, {self.timezone!r})"


RECENT_ANSWERS = 32
"""Answers of ``next_after`` kept per expression and zone (then forgotten all at once)."""

_UNKNOWN = -1  # not an answer: fires fall on whole seconds


@lru_cache(maxsize=4096)
def _recent_answers(expression: str, timezone: str) -> dict[int, int | None]:
    """The last answers for one expression in one zone, shared by every job that has both:
    jobs on one expression that fired together ask for the same next fire (100,000 jobs on
    60 expressions ask 60 questions a second, 1,667 times), and each search takes ~60 µs."""
    return {}


@lru_cache(maxsize=4096)
def _parsed(expression: str) -> CronFields:
    """One parsed form per expression, shared by the schedules that use it (only read): a
    parsed expression holds some 160 objects (its years alone are 130 ints), 5 KiB, and
    100,000 jobs on 60 expressions held 480 MiB of copies."""
    return parse_cron(expression)

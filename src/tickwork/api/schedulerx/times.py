"""Instants as SchedulerX shows and takes them.

**Decision** (docs/schedulerx.md, "Time zones"): a ``yyyy-MM-dd HH:mm:ss`` time is shown in
the time zone of the job it belongs to, or in the zone of the call's region where there is
no job (``zones.call_zone``). There is no UTC default here, so no time can be shown in UTC by
forgetting to pass a zone.
"""

from __future__ import annotations

from datetime import datetime

from tickwork.api.schedulerx.params import Params
from tickwork.timing import parse_timezone


def sx_time(ms: int | None, timezone: str) -> str:
    """``yyyy-MM-dd HH:mm:ss`` of an instant in a time zone ("" for none; a zone "" is UTC,
    the native default of a job created without one)."""
    if ms is None or ms == 0:
        return ""
    return datetime.fromtimestamp(ms / 1000, parse_timezone(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def sx_time_ms(ms: int, timezone: str) -> str:
    """``yyyy-MM-dd HH:mm:ss.SSS`` of an instant in a time zone."""
    base = datetime.fromtimestamp(ms / 1000, parse_timezone(timezone))
    return base.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}"


def epoch_ms(params: Params, name: str, *, end: bool = False) -> int | None:
    """A UNIX timestamp parameter as milliseconds: values below 10^11 are taken as seconds
    (10^11 ms is March 1973; 10^11 s is the year 5138). With ``end``, the last millisecond
    of that second (an end given in seconds includes its whole second)."""
    value = params.int(name, minimum=0)
    if value is None:
        return None
    if value < 100_000_000_000:
        return value * 1000 + (999 if end else 0)
    return value


def optional_instant(params: Params, name: str) -> tuple[bool, int | None]:
    """StartTime / EndTime of CreateJob and UpdateJob: epoch ms, -1 for none.
    Returns (given, value)."""
    value = params.int(name, minimum=-1)
    if value is None:
        return False, None
    return True, None if value == -1 else value


__all__ = ["epoch_ms", "optional_instant", "sx_time", "sx_time_ms"]

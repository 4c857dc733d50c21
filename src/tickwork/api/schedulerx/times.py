"""Instants as SchedulerX shows them: ``yyyy-MM-dd HH:mm:ss``.

**Decision**: in UTC unless a zone is given (an instance's times in its job's time zone)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def to_wall(ms: int | None, zone: tzinfo = UTC) -> str:
    if ms is None or ms == 0:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=zone).strftime("%Y-%m-%d %H:%M:%S")

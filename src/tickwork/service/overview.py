"""Runs over time: how many instances were triggered, succeeded and failed in each interval
of a time range (SchedulerX GetOverview, MetricType 1), counted from the instances in the
store, for every face.

The rule (docs/schedulerx.md, "GetOverview"):
- a run counts in the interval its **schedule time** falls in (an ExecuteJob run: the moment
  of the call; a scheduled one: its fire; a backfill: the fire it replays);
- ``triggered`` counts every run, ``success`` those that succeeded, ``failed`` those that
  ended unsuccessfully (failed, killed, rejected, partially failed); a run still going
  counts only as triggered;
- intervals start at the range's start and are ``step`` long, the shortest of
  ``STEPS_S`` that gives at most ``MAX_POINTS`` of them (whole days past that); every
  interval is listed, with zeros where nothing ran.

Rights: only the groups the caller may read count (service/rights.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus
from tickwork.domain.errors import InvalidParameter
from tickwork.domain.queries import InstanceFilter
from tickwork.engine.engine import Engine
from tickwork.service.rights import Caller, restrict_to_readable
from tickwork.store.abc import Store

__all__ = ["FAILED_STATUSES", "MAX_POINTS", "STEPS_S", "OverviewService", "RunPoint", "RunSeries"]

STEPS_S = (60, 300, 900, 3600, 21_600, 86_400)
MAX_POINTS = 1440  # a day by the minute; 15 days (the product's retention) by 15 minutes
DAY_MS = 86_400_000

FAILED_STATUSES = frozenset(
    {
        InstanceStatus.FAILED,
        InstanceStatus.KILLED,
        InstanceStatus.REJECTED,
        InstanceStatus.PARTIAL_FAILED,
    }
)


@dataclass(frozen=True, slots=True)
class RunPoint:
    """The runs of one interval, which starts at ``time`` (epoch ms)."""

    time: int
    triggered: int = 0
    success: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class RunSeries:
    start: int  # epoch ms, included
    end: int  # epoch ms, included
    step: int  # ms
    points: tuple[RunPoint, ...]


def series_step(span_ms: int) -> int:
    """The interval (ms) of a range ``span_ms`` long: the shortest of STEPS_S giving at most
    MAX_POINTS intervals, else the fewest whole days that do."""
    for step_s in STEPS_S:
        if -(-span_ms // (step_s * 1000)) <= MAX_POINTS:
            return step_s * 1000
    days = -(-span_ms // (DAY_MS * MAX_POINTS))
    return days * DAY_MS


class OverviewService:
    def __init__(self, store: Store, engine: Engine) -> None:
        self._store = store
        self._engine = engine

    async def run_series(
        self, caller: Caller, namespace: str, group_id: str | None, start: int, end: int | None
    ) -> RunSeries:
        """The runs of the namespace (or one app group of it) whose schedule time is in
        [start, end] (epoch ms, both included; no end: now), interval by interval."""
        end = now_ms() if end is None else end
        if end < start:
            raise InvalidParameter(
                f"end_time ({end} ms) is before start_time ({start} ms)", field="end_time"
            )
        step = series_step(end - start + 1)
        return await self._series(caller, namespace, group_id, start, end, step)

    async def run_totals(
        self, caller: Caller, namespace: str, group_id: str | None, start: int, end: int | None
    ) -> RunSeries:
        """The runs of [start, end] (epoch ms, both included; no end: now) in one interval."""
        end = now_ms() if end is None else end
        if end < start:
            raise InvalidParameter(
                f"end_time ({end} ms) is before start_time ({start} ms)", field="end_time"
            )
        return await self._series(caller, namespace, group_id, start, end, end - start + 1)

    async def _series(
        self,
        caller: Caller,
        namespace: str,
        group_id: str | None,
        start: int,
        end: int,
        step: int,
    ) -> RunSeries:
        flt = InstanceFilter(
            namespace=namespace, group_id=group_id, schedule_from=start, schedule_to=end + 1
        )
        restrict_to_readable(caller, flt)
        await self._engine.flush()  # the runs just made or ended count
        counts = await self._store.count_runs(flt, step)
        tallies: dict[int, list[int]] = {}
        for count in counts:
            tally = tallies.setdefault(count.start, [0, 0, 0])
            tally[0] += count.runs
            if count.status == InstanceStatus.SUCCESS:
                tally[1] += count.runs
            elif count.status in FAILED_STATUSES:
                tally[2] += count.runs
        points = tuple(
            RunPoint(at, *tallies.get(at, (0, 0, 0))) for at in range(start, end + 1, step)
        )
        return RunSeries(start=start, end=end, step=step, points=points)

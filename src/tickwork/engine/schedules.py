"""Schedules of jobs, built by the pure timing layer and cached per job version."""

from __future__ import annotations

from tickwork.domain.enums import TimeType
from tickwork.domain.models import Calendar, Job
from tickwork.store.abc import Store
from tickwork.timing import CalendarDays, Schedule, build_schedule

SHARED_CALENDARS = "default"


async def calendar_years(store: Store, namespace: str, name: str) -> list[Calendar]:
    """The years of the calendar a job names: its own namespace's, or else the shared one of
    the ``default`` namespace (where calendars made without a namespace live)."""
    years = [c for c in await store.list_calendars(namespace) if c.name == name]
    if not years and namespace != SHARED_CALENDARS:
        years = [c for c in await store.list_calendars(SHARED_CALENDARS) if c.name == name]
    return years


class ScheduleCache:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[int, tuple[int, Schedule]] = {}

    async def get(self, job: Job) -> Schedule:
        hit = self._cache.get(job.id)
        if hit is not None and hit[0] == job.updated_at:
            return hit[1]
        schedule = await self.build(job)
        self._cache[job.id] = (job.updated_at, schedule)
        return schedule

    async def build(self, job: Job) -> Schedule:
        calendar: CalendarDays | None = None
        if job.calendar and job.time_type == TimeType.CRON:
            years = await calendar_years(self._store, job.namespace, job.calendar)
            calendar = CalendarDays.from_calendars(years)
        return build_schedule(
            job.time_type,
            job.time_expression,
            job.timezone,
            calendar=calendar,
            start_time=job.start_time,
            end_time=job.end_time,
        )

    def forget(self, job_id: int | None = None) -> None:
        """Drop one job's schedule, or all (a calendar changed)."""
        if job_id is None:
            self._cache.clear()
        else:
            self._cache.pop(job_id, None)

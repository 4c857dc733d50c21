"""Schedules of jobs, built by the pure timing layer and cached per job version."""

from __future__ import annotations

from tickwork.domain.enums import TimeType
from tickwork.domain.errors import ScheduleError
from tickwork.domain.models import Calendar, Instance, Job
from tickwork.store.abc import Store
from tickwork.timing import CalendarDays, Schedule, build_schedule
from tickwork.timing.instants import holds_instant

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


def history_limit(job: Job, default: int) -> int:
    """Finished instances kept of the job: its own bound, else the server's ``default``
    (planning records at most this many skipped fires; retention prunes down to it)."""
    return job.history_limit if job.history_limit is not None else default


def check_storable(job: Job, fire: Instance) -> None:
    """Raise ScheduleError when an instance's schedule time or data time is not an instant
    that can be stored and shown: checked before the write, since one row the database
    refuses (an integer past 64 bits) fails the whole batch it is written in. Planning checks
    a job's first and last fire of a round: their times rise, and data time = schedule time +
    the job's fixed offset, so the two bound the rest."""
    if not holds_instant(fire.schedule_time):
        raise ScheduleError(
            f"a run of job {job.id} scheduled at {fire.schedule_time} (epoch ms) is not an "
            "instant from 0001-01-02 to 9999-12-30 (UTC)"
        )
    if fire.data_time is not None and not holds_instant(fire.data_time):
        raise ScheduleError(
            f"data_offset {job.data_offset} puts the data time of a run of job {job.id} "
            f"scheduled at {fire.schedule_time} (epoch ms) outside 0001-01-02..9999-12-30 "
            "(UTC); change the job's data_offset",
            field="data_offset",
        )

"""What follows a scheduled instance's final status, by the job's time type: a second-delay
job's next fire is set that many seconds after the end; a one-time job is disabled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tickwork.clock import now_ms
from tickwork.domain.enums import JobStatus, TimeType, TriggerType
from tickwork.domain.models import Instance, Job
from tickwork.engine.background import BackgroundTasks
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.scheduler import Scheduler
from tickwork.engine.schedules import ScheduleCache
from tickwork.store.abc import Store

__all__ = ["AfterFinal"]


class AfterFinal:
    def __init__(
        self,
        store: Store,
        *,
        jobs: JobRegistry,
        schedules: ScheduleCache,
        scheduler: Scheduler,
        planning: asyncio.Lock,
        background: BackgroundTasks,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._schedules = schedules
        self._scheduler = scheduler
        self._planning = planning  # the job's next fire changes as a job change would
        self._background = background
        self._clock = clock

    def follow(self, job: Job, instance: Instance, end: int) -> None:
        """An instance of ``job`` reached its final status at ``end`` (a run manager final
        listener). Only scheduled fires chain: a trigger does not move the schedule."""
        if instance.trigger_type != TriggerType.SCHEDULED:
            return
        if job.time_type == TimeType.SECOND_DELAY and job.enabled:
            self._background.spawn(self._chain_second_delay(job, end))
        elif job.time_type == TimeType.ONE_TIME:
            self._background.spawn(self._disable_one_time(job))

    async def _chain_second_delay(self, job: Job, end: int) -> None:
        async with self._planning:
            current = await self._store.get_job(job.id)
            if current is None or not current.enabled or current.time_type != TimeType.SECOND_DELAY:
                return
            schedule = await self._schedules.get(current)
            await self._store.set_next_fire_times([(job.id, schedule.next_fire(end))])
        self._scheduler.poke()

    async def _disable_one_time(self, job: Job) -> None:
        async with self._planning:
            current = await self._store.get_job(job.id)
            if current is None or current.time_type != TimeType.ONE_TIME:
                return
            current.status = JobStatus.DISABLED
            current.next_fire_time = None
            current.updated_at = self._clock()
            await self._store.update_job(current)
            self._jobs.remember(current)

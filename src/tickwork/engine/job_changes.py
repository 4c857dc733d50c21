"""A job created, changed or deleted, here or on another server (docs/multi-server.md, "Job
changes reach every server"): the engine's copies follow, fires planned from an old schedule
are withdrawn, and the other servers are told.

Changes are made holding the planning lock, so that a planning round never plans from a job
version a concurrent change has replaced; the services ask for them here (``save``,
``delete``) and never hold the lock themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tickwork.clock import now_ms
from tickwork.domain.enums import TRIGGERED_ONLY, TimeType
from tickwork.domain.models import Job
from tickwork.engine.background import BackgroundTasks
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.runs import RunManager
from tickwork.engine.scheduler import Scheduler
from tickwork.engine.schedules import ScheduleCache
from tickwork.engine.writer import BatchWriter
from tickwork.store.abc import Store

log = logging.getLogger(__name__)

__all__ = ["JobChanges"]


class JobChanges:
    def __init__(
        self,
        store: Store,
        server_id: str,
        *,
        jobs: JobRegistry,
        schedules: ScheduleCache,
        runs: RunManager,
        scheduler: Scheduler,
        writer: BatchWriter,
        planning: asyncio.Lock,
        background: BackgroundTasks,
        lookahead_ms: int,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._server_id = server_id
        self._jobs = jobs
        self._schedules = schedules
        self._runs = runs
        self._scheduler = scheduler
        self._writer = writer
        self._planning = planning
        self._background = background
        self._lookahead_ms = lookahead_ms
        self._clock = clock

    async def first_fire(self, job: Job, now: int | None = None) -> int | None:
        """When an enabled job should fire first from now (None: never by itself)."""
        if not job.enabled or job.time_type in TRIGGERED_ONLY:
            return None
        schedule = await self._schedules.build(job)
        return schedule.first_fire(self._clock() if now is None else now)

    def created(self, job: Job) -> None:
        """A new job was stored with its first fire. Nothing was planned from it and no other
        server holds it, so no lock is needed and nobody is told: planning claims it when it
        is due, at once if that is within the look-ahead window."""
        self._jobs.remember(job)
        nxt = job.next_fire_time
        if nxt is not None and nxt <= self._clock() + self._lookahead_ms:
            self._scheduler.poke()

    async def save(self, job: Job, *, reschedule: bool) -> Job:
        """Store a changed job (``reschedule``: its schedule changed) and follow the change.
        A job marked with a schedule error loses the mark, and its schedule is computed
        again from now (planning marks it again if it still fails)."""
        async with self._planning:
            now = self._clock()
            job.updated_at = max(now, job.updated_at + 1)
            current = await self._store.get_job(job.id)  # planning may have moved it on
            if current is not None and current.schedule_error is not None:
                reschedule = True
            job.schedule_error = None
            if reschedule:
                job.next_fire_time = await self.first_fire(job, now)
                if (
                    job.time_type == TimeType.ONE_TIME
                    and job.next_fire_time is not None
                    and job.next_fire_time < now
                ):
                    job.next_fire_time = None  # its time has passed: it will not fire itself
            elif current is not None:
                job.next_fire_time = current.next_fire_time
            stored = await self._store.update_job(job)
            await self._follow(stored, schedule_changed=reschedule)
            await self._announce(stored.id, schedule_changed=reschedule)
        return stored

    async def delete(self, job_id: int) -> None:
        """Delete the job with its instances: its runs here are stopped first."""
        async with self._planning:
            self._forget(job_id)
            await self._writer.flush()
            await self._store.delete_job(job_id)
        await self._announce(job_id, schedule_changed=True)

    def calendars_changed(self) -> None:
        self._schedules.forget()

    def on_notified(self, payload: str) -> None:
        """A job another server changed or deleted: ``server:job:0|1``."""
        server_id, job_id, changed = (payload.split(":", 2) + ["", ""])[:3]
        if server_id != self._server_id and job_id.isdigit():
            self._background.spawn(self._refresh(int(job_id), schedule_changed=changed == "1"))

    async def _refresh(self, job_id: int, *, schedule_changed: bool) -> None:
        async with self._planning:
            job = await self._store.get_job(job_id)
            if job is None:
                self._forget(job_id)
            elif self._jobs.holds(job_id) or self._runs.holds_job(job_id):
                await self._follow(job, schedule_changed=schedule_changed)

    async def _follow(self, job: Job, *, schedule_changed: bool) -> None:
        """The job was changed (its next fire stored). When its schedule changed (timing
        fields, enabled, disabled), the fires already planned from the old one and not due
        yet are withdrawn and deleted: they never started, and the new schedule may plan the
        same instants again. One due already (waiting for its start claim) is released as
        the job now says: disabled, it is recorded REMOVED."""
        self._jobs.changed(job.id)
        self._schedules.forget(job.id)
        self._jobs.remember(job)
        self._runs.job_updated(job)
        if schedule_changed:
            withdrawn = self._runs.withdraw_planned(job.id, due_too=False)
            await self._store.delete_unstarted(withdrawn)
        self._scheduler.poke()

    def _forget(self, job_id: int) -> None:
        """The job is about to be deleted (with its instances): forget it, stop its runs."""
        self._jobs.changed(job_id)
        self._schedules.forget(job_id)
        self._runs.withdraw_planned(job_id)
        self._runs.kill_job_runs(job_id, "job deleted")
        self._jobs.forget(job_id)

    async def _announce(self, job_id: int, *, schedule_changed: bool) -> None:
        """Tell the other servers this one changed (or deleted) a job."""
        try:
            await self._store.notify_job(self._server_id, job_id, schedule_changed)
        except Exception as exc:  # they refresh at their next planning of it anyway
            log.warning("could not tell the other servers about job %s: %s", job_id, exc)

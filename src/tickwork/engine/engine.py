"""The engine facade the service layer talks to: one per server process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from tickwork.domain.enums import (
    ACTIVE_STATUSES,
    InstanceStatus,
    JobStatus,
    MisfirePolicy,
    TimeType,
    TriggerType,
)
from tickwork.domain.errors import InvalidState
from tickwork.domain.models import Designation, Instance, InstanceUpdate, Job, LogLine
from tickwork.engine.agents import AgentHub, RoutingWorker
from tickwork.engine.clock import now_ms
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.runs import RunManager
from tickwork.engine.scheduler import Scheduler
from tickwork.engine.schedules import ScheduleCache
from tickwork.engine.writer import BatchWriter
from tickwork.settings import Settings
from tickwork.store.abc import Store
from tickwork.timing import Schedule, data_time
from tickwork.worker.abc import Worker

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, store: Store, worker: Worker, settings: Settings) -> None:
        self.store = store
        self.agents = AgentHub()
        # runs of app groups with connected worker agents go to them, others to ``worker``
        self.worker = RoutingWorker(
            worker,
            self.agents,
            wait_s=settings.worker_wait_s,
            on_miss=lambda: self.metrics.no_worker.inc(),
        )
        self.settings = settings
        self.metrics = EngineMetrics()
        # Held while fires are planned and while a job's schedule changes, so that a round
        # never plans from a job version that a concurrent change has replaced.
        self.planning = asyncio.Lock()
        self.writer = BatchWriter(store)
        self.schedules = ScheduleCache(store)
        self._jobs: dict[int, Job] = {}
        self.runs = RunManager(
            self.worker, self.writer, self.metrics, self._jobs.get, settings.prepare_ahead_ms
        )
        self.runs.on_final(self._on_final)
        self.scheduler = Scheduler(
            store, self.runs, self.schedules, self.metrics, settings, self._remember
        )
        self.scheduler.planning = self.planning
        self._prune_due: set[int] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._retention: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.writer.start()
        await self.worker.start(self.runs)
        await self.recover()
        self.scheduler.start()
        self._retention = asyncio.create_task(self._retention_loop(), name="tickwork-retention")

    async def stop(self) -> None:
        await self.scheduler.stop()
        if self._retention is not None:
            self._retention.cancel()
            await asyncio.gather(self._retention, return_exceptions=True)
        self.runs.cancel_timers()
        await self.worker.stop(self.settings.shutdown_grace_s)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.writer.close()

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job

    async def recover(self) -> None:
        """Take over what the last run of this server left unfinished."""
        now = now_ms()
        threshold = self.settings.misfire_threshold_ms
        leftovers = await self.store.unfinished_instances()
        jobs: dict[int, Job | None] = {}
        for instance in leftovers:
            if instance.job_id not in jobs:
                jobs[instance.job_id] = await self.store.get_job(instance.job_id)
            job = jobs[instance.job_id]
            if job is None:
                continue
            self._remember(job)
            if instance.status in ACTIVE_STATUSES:
                # The run was in progress when the server stopped: that attempt is lost.
                self.writer.log(
                    LogLine(
                        instance.id,
                        now,
                        "[tickwork] the server stopped while this attempt ran; it counts as failed",
                        attempt=instance.attempt,
                    )
                )
                if instance.attempt < job.max_attempt:
                    self.runs.resume_retry(instance, job, float(job.attempt_interval))
                else:
                    self.writer.update(
                        InstanceUpdate(
                            instance.id,
                            status=InstanceStatus.FAILED,
                            end_time=now,
                            result="lost: the server stopped while the instance ran",
                        )
                    )
                    self._on_final(job, instance, now)
            elif instance.attempt > 0:
                self.runs.resume_retry(instance, job, 0.0)
            elif instance.trigger_type != TriggerType.SCHEDULED:
                self.runs.start_now(instance, job)
            elif instance.schedule_time >= now - threshold:
                self.runs.arm(instance, job)
            else:
                await self._recover_misfire(instance, job, leftovers, now)
        await self.writer.flush()

    async def _recover_misfire(
        self, instance: Instance, job: Job, leftovers: list[Instance], now: int
    ) -> None:
        """A planned fire whose due instant passed while no server ran."""
        threshold = self.settings.misfire_threshold_ms
        newest_missed = max(
            i.schedule_time
            for i in leftovers
            if i.job_id == job.id
            and i.trigger_type == TriggerType.SCHEDULED
            and i.status == InstanceStatus.WAITING
            and i.schedule_time < now - threshold
        )
        job_missed_too = job.next_fire_time is not None and job.next_fire_time < now - threshold
        fire_now = (
            job.misfire_policy == MisfirePolicy.FIRE_ONCE
            and job.enabled
            and instance.schedule_time == newest_missed
            and not job_missed_too
        )
        if fire_now:
            self.runs.arm(instance, job, misfire=True)
            return
        self.metrics.skipped.inc()
        self.writer.update(
            InstanceUpdate(
                instance.id,
                status=InstanceStatus.SKIPPED,
                end_time=now,
                result="skipped by the misfire policy: no server was running",
            )
        )

    # -- jobs --------------------------------------------------------------------------------
    async def first_fire(self, job: Job, now: int | None = None) -> int | None:
        """When an enabled job should fire first from now (None: never by itself)."""
        if not job.enabled or job.time_type == TimeType.API:
            return None
        schedule = await self.schedules.build(job)
        return schedule.first_fire(now_ms() if now is None else now)

    async def job_changed(self, job: Job, *, schedule_changed: bool) -> None:
        """The job was created or changed (and its next fire stored). When its schedule
        changed (timing fields, enabled, disabled), the fires already planned from the old
        one are withdrawn and deleted: they never started, and the new schedule may plan the
        same instants again. Call it holding ``planning``."""
        self.schedules.forget(job.id)
        self._remember(job)
        self.runs.job_updated(job)
        if schedule_changed:
            await self.store.delete_unstarted(self.runs.withdraw_planned(job.id))
        self.scheduler.poke()

    def job_deleted(self, job_id: int) -> None:
        """The job is about to be deleted (with its instances): forget it, stop its runs."""
        self.schedules.forget(job_id)
        self.runs.withdraw_planned(job_id)
        self.runs.kill_job_runs(job_id, "job deleted")
        self._jobs.pop(job_id, None)

    def calendars_changed(self) -> None:
        self.schedules.forget()

    # -- instances ---------------------------------------------------------------------------
    async def trigger(
        self,
        job: Job,
        *,
        trigger_type: TriggerType = TriggerType.API,
        instance_parameters: str = "",
        idempotency_key: str | None = None,
        executor: str = "",
        schedule_time: int | None = None,
        designation: Designation | None = None,
    ) -> tuple[Instance, bool]:
        """Create an instance and start it now. (instance, False) when the idempotency key
        was seen before (nothing new is started). ``designation`` holds this run to some
        workers."""
        now = now_ms()
        when = now if schedule_time is None else schedule_time
        instance = Instance(
            job_id=job.id,
            namespace=job.namespace,
            group_id=job.group_id,
            trigger_type=trigger_type,
            time_type=job.time_type,
            schedule_time=when,
            data_time=data_time(when, job.data_offset),
            instance_parameters=instance_parameters,
            idempotency_key=idempotency_key,
            executor=executor,
        )
        stored, created = await self.store.create_instance(instance)
        if created:
            self._remember(job)
            self.runs.start_now(stored, job, designation)
        return stored, created

    async def stop_instance(self, instance: Instance, by: str, within: float = 10.0) -> None:
        """Stop an instance and wait (up to ``within`` s) until its run has ended."""
        if self.runs.stop(instance.id, by):
            await self.runs.wait_final(instance.id, within)
            return
        if InstanceStatus(instance.status).is_final:
            raise InvalidState(
                f"instance {instance.id} is already {InstanceStatus(instance.status).name.lower()}",
                field="instance_id",
            )
        # Not held here (left over and not yet recovered): finish it as killed.
        now = now_ms()
        self.writer.update(
            InstanceUpdate(
                instance.id, status=InstanceStatus.KILLED, end_time=now, result=f"stopped by {by}"
            )
        )

    async def set_success(self, instance: Instance, by: str) -> None:
        status = InstanceStatus(instance.status)
        if not status.is_final:
            raise InvalidState(
                f"instance {instance.id} is {status.name.lower()}; stop it before setting it "
                "successful",
                field="instance_id",
            )
        if status == InstanceStatus.SUCCESS:
            return
        now = now_ms()
        self.writer.update(
            InstanceUpdate(
                instance.id,
                status=InstanceStatus.SUCCESS,
                end_time=now,
                result=f"set successful by {by}",
            )
        )
        self.writer.log(
            LogLine(
                instance.id, now, f"[tickwork] set successful by {by}", attempt=instance.attempt
            )
        )

    async def retry_instance(self, instance: Instance, job: Job, by: str) -> None:
        """Run a finished, unsuccessful instance again now: the same instance, attempt + 1."""
        if self.runs.holds(instance.id):
            raise InvalidState(
                f"instance {instance.id} is being retried already", field="instance_id"
            )
        now = now_ms()
        self.writer.update(
            InstanceUpdate(instance.id, status=InstanceStatus.WAITING, result=f"retried by {by}")
        )
        self.writer.log(
            LogLine(
                instance.id,
                now,
                f"[tickwork] retried by {by} (attempt {instance.attempt + 2})",
                attempt=instance.attempt,
            )
        )
        self._remember(job)
        self.runs.resume_retry(instance, job, 0.0)

    async def schedule_of(self, job: Job) -> Schedule:
        """The job's schedule as it stands (not cached)."""
        return await self.schedules.build(job)

    async def flush(self) -> None:
        await self.writer.flush()

    # -- after an instance ends --------------------------------------------------------------
    def _on_final(self, job: Job, instance: Instance, end: int) -> None:
        self._prune_due.add(job.id)
        if instance.trigger_type != TriggerType.SCHEDULED:
            return
        if job.time_type == TimeType.SECOND_DELAY and job.enabled:
            self._spawn(self._chain_second_delay(job, end))
        elif job.time_type == TimeType.ONE_TIME:
            self._spawn(self._disable_one_time(job))

    async def _chain_second_delay(self, job: Job, end: int) -> None:
        async with self.planning:
            current = await self.store.get_job(job.id)
            if current is None or not current.enabled or current.time_type != TimeType.SECOND_DELAY:
                return
            schedule = await self.schedules.get(current)
            await self.store.set_next_fire_times([(job.id, schedule.next_fire(end))])
        self.scheduler.poke()

    async def _disable_one_time(self, job: Job) -> None:
        async with self.planning:
            current = await self.store.get_job(job.id)
            if current is None or current.time_type != TimeType.ONE_TIME:
                return
            current.status = JobStatus.DISABLED
            current.next_fire_time = None
            current.updated_at = now_ms()
            await self.store.update_job(current)
            self._remember(current)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)

    async def _retention_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.retention_interval_s)
            try:
                await self.prune_now()
            except Exception:  # the store is away: try again next time
                log.exception("applying the history bound failed")

    async def prune_now(self) -> int:
        """Apply the history bound to every job that had an instance finish lately."""
        await self.writer.flush()
        due, self._prune_due = self._prune_due, set()
        deleted = 0
        for job_id in due:
            job = self._jobs.get(job_id) or await self.store.get_job(job_id)
            if job is None:
                continue
            keep = (
                job.history_limit
                if job.history_limit is not None
                else (self.settings.history_limit)
            )
            deleted += await self.store.prune_history(job_id, keep)
        return deleted


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background engine task failed", exc_info=task.exception())

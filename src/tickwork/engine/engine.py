"""The engine facade the service layer talks to: one per server process."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import replace
from typing import Any

from tickwork.clock import now_ms
from tickwork.domain.enums import (
    ACTIVE_STATUSES,
    TRIGGERED_ONLY,
    InstanceStatus,
    JobStatus,
    MisfirePolicy,
    TimeType,
    TriggerType,
)
from tickwork.domain.errors import InvalidState, Unavailable, reason_of
from tickwork.domain.log_cap import LogLimits
from tickwork.domain.models import (
    Designation,
    Instance,
    InstanceUpdate,
    Job,
    LogLine,
    WorkerInfo,
)
from tickwork.engine.agents import AgentHub
from tickwork.engine.collector import CollectionPacer
from tickwork.engine.creator import InstanceCreator
from tickwork.engine.leases import LeaseKeeper
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.routing import designation_allows, runs_type
from tickwork.engine.routing_worker import RoutingWorker
from tickwork.engine.runs import RunManager
from tickwork.engine.scheduler import Scheduler
from tickwork.engine.schedules import ScheduleCache, check_storable
from tickwork.engine.server_groups import ServerGroups
from tickwork.engine.writer import BatchWriter
from tickwork.settings import Settings
from tickwork.store.abc import HANDOFF_CHANNEL, JOB_CHANNEL, STOP_CHANNEL, Store
from tickwork.timing import Schedule, data_time
from tickwork.worker.abc import Worker

log = logging.getLogger(__name__)

MISSED_HAND_OFF_AFTER_MS = 5000
"""An instance handed here and still not taken up after this long lost its notification."""
PRUNE_STEP = 20
"""Jobs whose history is pruned between two chances for due fires to go first."""
PRUNE_SLACK = 10
"""A job's history is pruned once a tenth of its bound (at least one) finished since the last
time: stored history exceeds the bound by that much at most, between two prunes."""
STEP_ASIDE_MS = 100
"""Housekeeping (a writer batch, a lease beat, a step of pruning; on SQLite each holds the
loop's thread for up to tens of ms) waits out a batch of fires due this soon."""
STEP_ASIDE_AFTER_MS = 50
"""... until this long after the batch's due instant (its runs are under way)."""


class Engine:
    def __init__(
        self, store: Store, worker: Worker, settings: Settings, *, single_server: bool = True
    ) -> None:
        self.store = store
        self.server_id = uuid.uuid4().hex
        self.single_server = single_server  # SQLite: no other server can share the database
        self.agents = AgentHub()
        self.server_groups = ServerGroups(store)
        # runs of app groups with connected worker agents go to them, others to ``worker``
        # when an admin allowed the group on the server
        self.worker = RoutingWorker(
            worker,
            self.agents,
            wait_s=settings.worker_wait_s,
            on_miss=lambda: self.metrics.no_worker.inc(),
            runs_here=self.server_groups.allows,
        )
        self.settings = settings
        self.metrics = EngineMetrics()
        # Held while fires are planned and while a job's schedule changes, so that a round
        # never plans from a job version that a concurrent change has replaced.
        self.planning = asyncio.Lock()
        self.writer = BatchWriter(store, step_aside=self.step_aside)
        self.creator = InstanceCreator(store)
        self.schedules = ScheduleCache(store)
        self._jobs: dict[int, Job] = {}
        self.runs = RunManager(
            self.worker,
            self.writer,
            self.metrics,
            self._jobs.get,
            settings.prepare_ahead_ms,
            tasks=self.worker,
            fence=lambda: self.leases.fenced(),
            log_limits=LogLimits(settings.run_log_max_bytes, settings.run_log_max_lines),
        )
        self.leases = LeaseKeeper(
            store,
            self.server_id,
            f"{settings.host}:{settings.port}",
            lease_s=settings.lease_s,
            heartbeat_s=settings.heartbeat_s,
            take_over=self.take_over,
            drop_unlaunched=self.runs.drop_unlaunched,
            groups_here=self.worker.groups_here,
            agents_here=self.worker.agents_here,
            sweep=self.take_missed_hand_offs,
            learned=self.pass_on_parked,
            step_aside=self.step_aside,
        )
        self._stop_listening: Callable[[], None] = lambda: None
        self.runs.on_final(self._on_final)
        self.scheduler = Scheduler(
            store, self.runs, self.schedules, self.metrics, settings, self._remember, self._jobs.get
        )
        self.scheduler.hand_off_target = self.hand_off_target
        self.scheduler.planning = self.planning
        self._finished_unpruned: dict[int, int] = {}  # job -> instances finished since pruned
        # told the id of each job changed or deleted, here or on another server
        self.job_listeners: list[Callable[[int], None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._retention: asyncio.Task[None] | None = None
        self._collections = CollectionPacer(self.runs.fires_busy)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.store.server_id = self.server_id
        await self.server_groups.start(periodic=not self.single_server)
        self.writer.start()
        self.creator.start()
        await self.worker.start(self.runs)
        await self.take_over(await self.leases.start(single_server=self.single_server))
        self._stop_listening = await self.store.listen(
            {
                HANDOFF_CHANNEL: self._handed_over,
                STOP_CHANNEL: self._stop_asked,
                JOB_CHANNEL: self._job_changed_elsewhere,
            }
        )
        self.scheduler.start()
        self._collections.start()
        self._retention = asyncio.create_task(self._retention_loop(), name="tickwork-retention")

    async def stop(self) -> None:
        self._stop_listening()
        await self._collections.stop()
        await self.creator.close()
        await self.scheduler.stop()
        if self._retention is not None:
            self._retention.cancel()
            await asyncio.gather(self._retention, return_exceptions=True)
        self.runs.cancel_timers()
        await self.worker.stop(self.settings.shutdown_grace_s)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.writer.close()
        await self.leases.stop()  # after the last write: the others adopt what is left
        await self.server_groups.stop()

    def _remember(self, job: Job) -> None:
        """Keep the job's latest definition for its runs. A version that differs only in its
        next fire time (each planning round claims the job anew) keeps the object held, so
        that runs prepared from it are known unchanged by identity at their due instant,
        not by rebuilding and comparing their requests then (the cache's next fire time is
        not used)."""
        held = self._jobs.get(job.id)
        if held is job or (
            held is not None
            # the same definition, read again (a trigger's cached copy): no copy to compare
            and (held == job or replace(job, next_fire_time=held.next_fire_time) == held)
        ):
            return
        self._jobs[job.id] = job

    async def recover(self) -> None:
        """Adopt what dead servers left unfinished (at start: the last run of this one)."""
        await self.take_over(await self.store.adopt_instances(self.server_id))

    async def take_over(self, leftovers: list[Instance]) -> None:
        """Carry on with unfinished instances this server now owns: planned fires are armed
        (or follow the misfire policy), runs that were going on count as lost attempts."""
        leftovers = [i for i in leftovers if not self.runs.holds(i.id)]
        jobs: dict[int, Job | None] = {}
        for instance in leftovers:
            if instance.job_id not in jobs:
                jobs[instance.job_id] = await self._job_of_leftovers(instance.job_id)
        leftovers = await self._pass_on(leftovers, jobs)
        now = now_ms()
        threshold = self.settings.misfire_threshold_ms
        for instance in leftovers:
            job = jobs[instance.job_id]
            if job is None or self.runs.holds(instance.id):
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
            elif instance.attempt > 0 or instance.end_time is not None:
                # an attempt ended and a retry was due (attempt 0 too: it has an end time)
                self.runs.resume_retry(instance, job, 0.0)
            elif instance.trigger_type != TriggerType.SCHEDULED:
                self.runs.start_now(instance, job)
            elif instance.schedule_time >= now:
                self.runs.arm(instance, job)
            elif instance.schedule_time >= now - threshold:
                await self._recover_overdue(instance, job, leftovers, now)
            else:
                await self._recover_misfire(instance, job, leftovers, now)
        await self.writer.flush()

    async def _job_of_leftovers(self, job_id: int) -> Job | None:
        """The job of unfinished instances taken over; None when it is gone, or when its row
        cannot be read (damaged by hand): one such job must not keep the server from
        starting, nor the other jobs' runs from going on."""
        try:
            return await self.store.get_job(job_id)
        except Unavailable:
            raise
        except Exception as exc:
            log.warning(
                "job %s's stored row cannot be read (%s): its unfinished instances are left "
                "as they are",
                job_id,
                reason_of(exc),
            )
            return None

    async def _pass_on(
        self, leftovers: list[Instance], jobs: Mapping[int, Job | None]
    ) -> list[Instance]:
        """Hand the instances of groups whose workers are on another server to that server
        (it recovers them the same way); the ones that stay here."""
        by_target: dict[str, list[int]] = {}
        for instance in leftovers:
            job = jobs.get(instance.job_id)
            target = None if job is None else self.hand_off_target(job, instance.designation)
            if target is not None:
                by_target.setdefault(target, []).append(instance.id)
        if not by_target:
            return leftovers
        moved: set[int] = set()
        for target, ids in by_target.items():
            moved.update(await self.store.hand_off(ids, target))
        if moved:
            log.info("handed %d adopted instance(s) to the servers of their workers", len(moved))
        return [i for i in leftovers if i.id not in moved]

    async def _recover_overdue(
        self, instance: Instance, job: Job, leftovers: list[Instance], now: int
    ) -> None:
        """A planned fire a little overdue (within the misfire threshold; e.g. adopted from a
        dead server) fires now, late, as the misfire policy would, unless the job fires again
        soon anyway: a newer overdue fire of it was left too (only the newest may fire), or its
        schedule's next fire is due within the threshold (planned by a live server, it would
        only collide with this one under MaxConcurrency)."""
        newest = instance.schedule_time == _newest_planned(leftovers, job.id, before=now)
        upcoming = await self._next_regular_fire(job, now) if newest else None
        if newest and (upcoming is None or upcoming - now > self.settings.misfire_threshold_ms):
            self.runs.arm(instance, job)
            return
        why = (
            "a newer fire of the job was due too"
            if not newest
            else f"the job fires again at {upcoming} (epoch ms), within the misfire threshold"
        )
        self._skip(
            instance,
            now,
            f"skipped by the misfire policy: overdue when this server took it over; {why}",
        )

    async def _next_regular_fire(self, job: Job, now: int) -> int | None:
        """The job's next fire from now by its schedule alone (None: it has none such)."""
        if not job.enabled or job.time_type not in (TimeType.CRON, TimeType.FIXED_RATE):
            return None
        try:
            return (await self.schedules.get(job)).next_fire(now - 1)
        except Exception:  # a schedule that cannot be computed: fire the overdue one
            return None

    def _skip(self, instance: Instance, now: int, why: str) -> None:
        self.metrics.skipped.inc()
        self.writer.update(
            InstanceUpdate(instance.id, status=InstanceStatus.SKIPPED, end_time=now, result=why)
        )

    async def _recover_misfire(
        self, instance: Instance, job: Job, leftovers: list[Instance], now: int
    ) -> None:
        """A planned fire whose due instant passed while no server ran."""
        threshold = self.settings.misfire_threshold_ms
        newest_missed = _newest_planned(leftovers, job.id, before=now - threshold)
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
        self._skip(instance, now, "skipped by the misfire policy: no server was running")

    # -- jobs --------------------------------------------------------------------------------
    async def first_fire(self, job: Job, now: int | None = None) -> int | None:
        """When an enabled job should fire first from now (None: never by itself)."""
        if not job.enabled or job.time_type in TRIGGERED_ONLY:
            return None
        schedule = await self.schedules.build(job)
        return schedule.first_fire(now_ms() if now is None else now)

    def job_created(self, job: Job) -> None:
        """A new job was stored with its first fire. Nothing was planned from it and no other
        server holds it, so no lock is needed and nobody is told: planning claims it when it
        is due, at once if that is within the look-ahead window."""
        self._remember(job)
        nxt = job.next_fire_time
        if nxt is not None and nxt <= now_ms() + self.settings.lookahead_ms:
            self.scheduler.poke()

    async def job_changed(self, job: Job, *, schedule_changed: bool) -> None:
        """The job was created or changed (and its next fire stored). When its schedule
        changed (timing fields, enabled, disabled), the fires already planned from the old
        one are withdrawn and deleted: they never started, and the new schedule may plan the
        same instants again. The other servers are told to do the same. Call it holding
        ``planning``."""
        await self._job_changed(job, schedule_changed=schedule_changed)
        await self.announce_job(job.id, schedule_changed=schedule_changed)

    async def _job_changed(self, job: Job, *, schedule_changed: bool) -> None:
        self._tell_job_listeners(job.id)
        self.schedules.forget(job.id)
        self._remember(job)
        self.runs.job_updated(job)
        if schedule_changed:
            await self.store.delete_unstarted(self.runs.withdraw_planned(job.id))
        self.scheduler.poke()

    async def announce_job(self, job_id: int, *, schedule_changed: bool) -> None:
        """Tell the other servers this one changed (or deleted) a job."""
        try:
            await self.store.notify_job(self.server_id, job_id, schedule_changed)
        except Exception as exc:  # they refresh at their next planning of it anyway
            log.warning("could not tell the other servers about job %s: %s", job_id, exc)

    def _job_changed_elsewhere(self, payload: str) -> None:
        """A job another server changed or deleted: ``server:job:0|1``."""
        server_id, job_id, changed = (payload.split(":", 2) + ["", ""])[:3]
        if server_id != self.server_id and job_id.isdigit():
            self._spawn(self._refresh_job(int(job_id), schedule_changed=changed == "1"))

    async def _refresh_job(self, job_id: int, *, schedule_changed: bool) -> None:
        async with self.planning:
            job = await self.store.get_job(job_id)
            if job is None:
                self.job_deleted(job_id)
            elif job_id in self._jobs or self.runs.holds_job(job_id):
                await self._job_changed(job, schedule_changed=schedule_changed)

    def job_deleted(self, job_id: int) -> None:
        """The job is about to be deleted (with its instances): forget it, stop its runs."""
        self._tell_job_listeners(job_id)
        self.schedules.forget(job_id)
        self.runs.withdraw_planned(job_id)
        self.runs.kill_job_runs(job_id, "job deleted")
        self._jobs.pop(job_id, None)

    def _tell_job_listeners(self, job_id: int) -> None:
        for listener in self.job_listeners:
            listener(job_id)

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
            designation=designation,
        )
        check_storable(job, instance)  # a job stored with a bad data_offset: 409, not 500
        target = self.hand_off_target(job, designation)
        if target is not None:  # no worker of the group here, but on that server
            instance.owner = target
        stored, created = await self.creator.create(instance)
        if created and target is not None:
            await self.store.notify_owner(target, [stored.id])
        elif created:
            self._remember(job)
            self.runs.start_now(stored, job, designation)
        return stored, created

    # -- hand-offs between servers (docs/multi-server.md) -------------------------------------
    def hand_off_target(self, job: Job, designation: Designation | None = None) -> str | None:
        """Another server to run an instance of the job (None: run here): one with a worker
        that runs the job's type and that the run's designation (else the job's) allows,
        when no such worker is here; else, when no worker of the job's group is here at
        all, one with any."""
        held = designation or job.designation
        ns, group = job.namespace, job.group_id

        def allowed(worker: WorkerInfo) -> bool:
            return runs_type(worker.job_types, job.job_type) and designation_allows(
                held, worker.address, worker.labels
            )

        constrained = held is not None or not job.job_type.is_own
        if self.worker.serves(ns, group):
            if not constrained or any(allowed(w) for w in self.worker.workers_of(ns, group)):
                return None
            return self.leases.server_with(ns, group, allowed)  # else here: it may transfer
        if constrained:
            target = self.leases.server_with(ns, group, allowed)
            if target is not None:
                return target
        return self.leases.server_for(ns, group)

    async def pass_on_parked(self) -> None:
        """Runs waiting here for a worker of their group (none is connected here) go to a
        server that has one, once this server learns of it (each lease beat): they would
        otherwise wait here and fail, retries included, while that server's workers idle."""
        by_target: dict[str, list[int]] = {}
        for request in self.worker.parked():
            job = self._jobs.get(request.job_id)
            target = None if job is None else self.hand_off_target(job, request.designation)
            if target is not None:
                by_target.setdefault(target, []).append(request.instance_id)
        for target, ids in by_target.items():
            taken = self.worker.take_parked(ids)
            moved: set[int] = set()
            try:
                await self.writer.flush()  # their RUNNING rows, which the hand-over reverts
                moved = set(
                    await self.store.hand_off(
                        [r.instance_id for r in taken], target, unstarted=True
                    )
                )
            except Exception as exc:
                log.warning("could not hand runs waiting for a worker to %s: %s", target, exc)
            self.runs.drop_handed_off(moved)
            for request in taken:
                if request.instance_id not in moved:
                    self.worker.submit(request)  # waits here again (or runs, if one joined)
            if moved:
                log.info(
                    "handed %d run(s) waiting for a worker to server %s, which has one",
                    len(moved),
                    target,
                )

    def workers_of(self, namespace: str, group_id: str) -> list[WorkerInfo]:
        """The live workers of an app group: here, and the agents on the other servers."""
        return self.worker.workers_of(namespace, group_id) + self.leases.workers_elsewhere(
            namespace, group_id
        )

    def _handed_over(self, payload: str) -> None:
        """A hand-off notification ``server:instance,instance,...``."""
        server_id, _, listed = payload.rpartition(":")
        if server_id != self.server_id:
            return
        ids = [int(i) for i in listed.split(",") if i.isdigit() and not self.runs.holds(int(i))]
        if ids:
            self._spawn(self._take_handed(ids))

    async def take_missed_hand_offs(self) -> None:
        """Instances handed to this server whose notification never came (the listening
        connection was down): waiting, owned here, not held, older than a few seconds."""
        await self.writer.flush()  # a run that ended here must not read as waiting
        found = await self.store.owned_waiting(
            self.server_id, created_before=now_ms() - MISSED_HAND_OFF_AFTER_MS
        )
        ids = [i.id for i in found if not self.runs.holds(i.id) and not self.runs.ended_here(i.id)]
        if ids:
            log.warning("taking up %d instance(s) handed here without a notification", len(ids))
            await self._take_handed(ids)

    def _stop_asked(self, payload: str) -> None:
        """Another server was asked to stop an instance this one owns: ``server:instance:by``."""
        server_id, iid, by = (payload.split(":", 2) + ["", ""])[:3]
        if server_id == self.server_id and iid.isdigit():
            self.runs.stop(int(iid), by or "another server")

    async def _take_handed(self, instance_ids: list[int]) -> None:
        found = await self.store.get_instances(instance_ids)
        mine = [
            i
            for i in found
            if i.owner == self.server_id
            and not InstanceStatus(i.status).is_final
            and not self.runs.holds(i.id)
        ]
        if mine:
            await self.take_over(mine)

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
        owner = instance.owner
        if owner is not None and owner != self.server_id and owner in self.leases.alive:
            # a live server runs it: ask that one, and wait for the end it records
            await self.store.notify_stop(owner, instance.id, by)
            await self._wait_stored_final(instance.id, within)
            return
        # Not held by a live server (left over and not yet recovered): finish it as killed.
        now = now_ms()
        self.writer.update(
            InstanceUpdate(
                instance.id, status=InstanceStatus.KILLED, end_time=now, result=f"stopped by {by}"
            )
        )

    async def _wait_stored_final(self, instance_id: int, within: float) -> None:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            stored = await self.store.get_instance(instance_id)
            if stored is None or InstanceStatus(stored.status).is_final:
                return
            await asyncio.sleep(0.05)

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
        self._finished_unpruned[job.id] = self._finished_unpruned.get(job.id, 0) + 1
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

    async def step_aside(self) -> None:
        """Before housekeeping that holds the loop: let a batch of fires due in the next
        moments go first (a lease beat that began 14 ms before one held it 34 ms)."""
        await self.runs.wait_out_fires(STEP_ASIDE_MS, STEP_ASIDE_AFTER_MS)

    async def prune_now(self) -> int:
        """Apply the history bound to every job that had a tenth of its ``history_limit``
        (at least one) instances finish since it was last pruned: one statement per job,
        and 100,000 jobs each pruned every 30 s were thousands of transactions a second."""
        await self.writer.flush()
        due: list[int] = []
        for job_id, finished in self._finished_unpruned.items():
            job = self._jobs.get(job_id)
            if job is None or finished >= max(1, self.scheduler.history_limit(job) // PRUNE_SLACK):
                due.append(job_id)
        for job_id in due:
            del self._finished_unpruned[job_id]
        deleted = 0
        for n, job_id in enumerate(due):
            if n % PRUNE_STEP == 0:
                # On SQLite a transaction runs on the loop's thread: without this, pruning
                # the history of 10,000 jobs held every fire for ~2.6 s.
                await self.step_aside()
            job = self._jobs.get(job_id) or await self.store.get_job(job_id)
            if job is None:
                continue
            deleted += await self.store.prune_history(job_id, self.scheduler.history_limit(job))
        return deleted


def _newest_planned(leftovers: list[Instance], job_id: int, *, before: int) -> int:
    """The newest schedule time of the job's planned (waiting scheduled) fires before
    ``before``."""
    return max(
        i.schedule_time
        for i in leftovers
        if i.job_id == job_id
        and i.trigger_type == TriggerType.SCHEDULED
        and i.status == InstanceStatus.WAITING
        and i.schedule_time < before
    )


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background engine task failed", exc_info=task.exception())

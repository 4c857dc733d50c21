"""Recovery: carrying on with unfinished instances this server has just come to own,
adopted from a dead server (``store.adopt_instances``; at start, this server's own last run)
or handed here by a live one (hand_offs.py). Planned fires are armed, or follow the misfire
rules when overdue; attempts that were going on, or claimed to start (READY, run_launch.py),
are lost with their server and run again at once as a new attempt (a system retry, which does
not use up one of the job's retries, ``LOST_WITH_SERVER_RESENDS`` times at most); instances
of groups whose workers are on another server are handed off to it.

Where they come from (``Origin``) decides an overdue fire. Found at start, it was overdue
because no server ran: only the newest of a job may fire, and none when the job fires again
soon. Adopted from a server that died, or handed over by one that stops, while this one ran,
it is overdue only because its server went away: every such fire runs, late, one after the
other under MaxConcurrency (issue 21: 300 fires were skipped at each rolling restart).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Sequence

from tickwork.clock import now_ms
from tickwork.domain.enums import (
    ACTIVE_STATUSES,
    InstanceStatus,
    MisfirePolicy,
    TimeType,
    TriggerType,
)
from tickwork.domain.errors import Unavailable, reason_of
from tickwork.domain.models import Instance, InstanceUpdate, Job, LogLine
from tickwork.engine.hand_offs import HandOffs
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.runs import FinalListener, RunManager
from tickwork.engine.schedules import ScheduleCache
from tickwork.engine.writer import BatchWriter
from tickwork.store.abc import Store

log = logging.getLogger(__name__)

__all__ = ["JOB_READS_AT_ONCE", "LOST_WITH_SERVER_RESENDS", "Origin", "Recovery"]

LOST_WITH_SERVER_RESENDS = 3
"""An attempt lost with its server (it ran, or may have started, on a server that died: its
run died too, ended by the server's guardian) goes again without using up one of the job's
retries while the instance's attempts stay within MaxAttempt + 1 + this many: a server that
dies is not the job's failure, but a job that kills its server must not go round for ever."""

JOB_READS_AT_ONCE = 8
"""The jobs of what was adopted are read this many at a time: one after another, the 300 jobs
of a dead server's fires cost a round trip each inside the lease beat that adopted them, and a
beat that runs past half the lease fences the server's own fires."""


class Origin(enum.Enum):
    """How this server came to own the instances it recovers."""

    START = "start"  # found when it started: no server ran them meanwhile
    ADOPTED = "adopted"  # a dead (or departed) server's, adopted while this server ran
    TAKEN_UP = "taken_up"  # handed here by a live server (its workers are here, or it stops)

    def missed_because(self) -> str:
        """Why a fire of this origin is past the misfire threshold, for its skip reason."""
        if self is Origin.START:
            return "no server was running"
        if self is Origin.ADOPTED:
            return "its server stopped and this one adopted it only after the threshold"
        return "it was handed to this server only after the threshold"


class Recovery:
    def __init__(
        self,
        store: Store,
        *,
        runs: RunManager,
        writer: BatchWriter,
        jobs: JobRegistry,
        schedules: ScheduleCache,
        hand_offs: HandOffs,
        metrics: EngineMetrics,
        misfire_threshold_ms: int,
        final_listeners: Sequence[FinalListener],
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._runs = runs
        self._writer = writer
        self._jobs = jobs
        self._schedules = schedules
        self._hand_offs = hand_offs
        self._metrics = metrics
        self._threshold = misfire_threshold_ms
        # told of a lost run that ends here as failed, as the run manager tells them of runs
        # that end (retention counts it; what follows a final status follows)
        self._final_listeners = final_listeners
        self._clock = clock

    async def recover(self, leftovers: list[Instance], origin: Origin) -> None:
        """Carry on with unfinished instances this server now owns: planned fires are armed
        (or follow the misfire policy), runs that were going on count as lost attempts."""
        runs = self._runs
        leftovers = [i for i in leftovers if not runs.holds(i.id)]
        jobs = await self._jobs_of(leftovers)
        leftovers = await self._hand_offs.hand_off_adopted(leftovers, jobs)
        now = self._clock()
        for instance in leftovers:
            job = jobs[instance.job_id]
            if job is None or runs.holds(instance.id):
                continue
            self._jobs.remember(job)
            if instance.status in ACTIVE_STATUSES:
                self._lost_attempt(instance, job, now)
            elif instance.attempt > 0 or instance.end_time is not None:
                # an attempt ended and a retry was due (attempt 0 too: it has an end time)
                runs.resume_retry(instance, job, 0.0)
            elif instance.trigger_type != TriggerType.SCHEDULED:
                runs.start_now(instance, job)
            elif origin is not Origin.START and instance.schedule_time >= now - self._threshold:
                # due later, or late only because its server went away: it runs, in its turn
                # after the fires of its job that came here late with it (one of them may
                # still run at its due instant)
                runs.arm(instance, job, slot_wait_until=instance.schedule_time + self._threshold)
            elif instance.schedule_time >= now:
                runs.arm(instance, job)
            elif instance.schedule_time >= now - self._threshold:
                await self._recover_overdue(instance, job, leftovers, now)
            else:
                self._recover_misfire(instance, job, leftovers, now, origin)
        await self._writer.flush()

    def _lost_attempt(self, instance: Instance, job: Job, now: int) -> None:
        """The attempt was going on (RUNNING), or claimed to start (READY), when its server
        stopped: it may have run, so it never runs again; the next attempt runs at once.
        One that ran is lost (a system retry, as a run whose worker went away); one only
        claimed may never have started (its server died around its due instant): its
        trigger type stays, and its log says so."""
        ran = instance.status != InstanceStatus.READY
        if ran:
            result = "lost: the server stopped while this attempt ran"
        else:
            result = (
                "its server stopped around its start, after it claimed it and before it "
                "recorded whether it started; so that it never runs twice, the next attempt "
                "runs instead"
            )
        line = LogLine(instance.id, now, f"[tickwork] {result}", attempt=instance.attempt)
        self._writer.log(line)
        if instance.attempt < job.max_attempt + LOST_WITH_SERVER_RESENDS:
            self._writer.update(
                InstanceUpdate(
                    instance.id,
                    status=InstanceStatus.WAITING,
                    end_time=now,
                    result=result,
                    trigger_type=TriggerType.SYSTEM_RETRY if ran else None,
                )
            )
            self._metrics.retries.inc()
            # a claim is made shortly before the due instant: never run before it
            not_before_s = max(instance.schedule_time - now, 0) / 1000
            self._runs.resume_retry(instance, job, not_before_s, lost=ran, free=True)
            return
        self._writer.update(
            InstanceUpdate(instance.id, status=InstanceStatus.FAILED, end_time=now, result=result)
        )
        for listener in self._final_listeners:
            listener(job, instance, now)

    async def _jobs_of(self, leftovers: list[Instance]) -> dict[int, Job | None]:
        ids = sorted({i.job_id for i in leftovers})
        jobs: dict[int, Job | None] = {}
        for start in range(0, len(ids), JOB_READS_AT_ONCE):
            part = ids[start : start + JOB_READS_AT_ONCE]
            found = await asyncio.gather(*map(self._job_of_leftovers, part))
            jobs.update(zip(part, found, strict=True))
        return jobs

    async def _job_of_leftovers(self, job_id: int) -> Job | None:
        """The job of unfinished instances taken over; None when it is gone, or when its row
        cannot be read (damaged by hand): one such job must not keep the server from
        starting, nor the other jobs' runs from going on."""
        try:
            return await self._store.get_job(job_id)
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

    async def _recover_overdue(
        self, instance: Instance, job: Job, leftovers: list[Instance], now: int
    ) -> None:
        """A planned fire a little overdue (within the misfire threshold; e.g. adopted from a
        dead server) fires now, late, as the misfire policy would, unless the job fires again
        soon anyway: a newer overdue fire of it was left too (only the newest may fire), or its
        schedule's next fire is due within the threshold (planned by a live server, it would
        only collide with this one under MaxConcurrency)."""
        newest = instance.schedule_time == newest_planned(leftovers, job.id, before=now)
        upcoming = await self._next_regular_fire(job, now) if newest else None
        if newest and (upcoming is None or upcoming - now > self._threshold):
            self._runs.arm(instance, job)
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
            return (await self._schedules.get(job)).next_fire(now - 1)
        except Exception:  # a schedule that cannot be computed: fire the overdue one
            return None

    def _recover_misfire(
        self, instance: Instance, job: Job, leftovers: list[Instance], now: int, origin: Origin
    ) -> None:
        """A planned fire whose due instant is past the misfire threshold: no server ran
        meanwhile, or its server went away and it came here too late."""
        threshold = self._threshold
        newest_missed = newest_planned(leftovers, job.id, before=now - threshold)
        job_missed_too = job.next_fire_time is not None and job.next_fire_time < now - threshold
        fire_now = (
            job.misfire_policy == MisfirePolicy.FIRE_ONCE
            and job.enabled
            and instance.schedule_time == newest_missed
            and not job_missed_too
        )
        if fire_now:
            self._runs.arm(instance, job, misfire=True)
            return
        self._skip(instance, now, f"skipped by the misfire policy: {origin.missed_because()}")

    def _skip(self, instance: Instance, now: int, why: str) -> None:
        self._metrics.skipped.inc()
        self._writer.update(
            InstanceUpdate(instance.id, status=InstanceStatus.SKIPPED, end_time=now, result=why)
        )


def newest_planned(leftovers: list[Instance], job_id: int, *, before: int) -> int:
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

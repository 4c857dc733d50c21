"""The fire planner: claims due jobs a few seconds ahead, in batches, writes their fires (one
row per (job, schedule time), unique), and arms them to be released at the due instant.

On PostgreSQL the claim locks the due jobs ``FOR UPDATE SKIP LOCKED`` until the fires are
written, so servers planning at once share the schedule without a leader, each planning other
jobs; the unique index stays the final guard.

Misfires (a job whose next fire is older than the misfire threshold: the server was down or
stalled) follow the job's misfire policy: fire once now (default) or skip; every skipped fire
is counted, and recorded as a SKIPPED instance (the newest ``history_limit`` of them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from tickwork.clock import now_ms
from tickwork.domain.enums import InstanceStatus, MisfirePolicy, TimeType, TriggerType
from tickwork.domain.errors import ScheduleError, TickworkError, Unavailable, reason_of
from tickwork.domain.models import Instance, Job
from tickwork.engine.due_fires import FireGuard
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.schedules import ScheduleCache, check_storable, history_limit
from tickwork.settings import Settings
from tickwork.store.abc import DueClaim
from tickwork.timing import data_time
from tickwork.timing.instants import holds_instant

log = logging.getLogger(__name__)

MISSED_UNPLANNED = (
    "skipped by the misfire policy: not planned before the misfire threshold (no server was "
    "running, or every one was stalled)"
)
"""Why a fire the planning rounds found past the threshold is skipped: a round cannot tell
whether no server ran or the ones running were stalled, and must not say the first while
one ran (issue 21)."""

__all__ = ["DueJobs", "PlannedHandOffs", "PlannedRuns", "Scheduler"]

MAX_FIRES_PER_JOB_PER_ROUND = 1000
MAX_MISSED_COUNTED = 1_000_000


QUIET_BEFORE_MS = 250
"""A periodic planning round due this close before a batch of fires waits until after it."""
QUIET_AFTER_MS = 150
"""How long after a batch's due instant that round starts (its fires are under way)."""


class DueJobs(Protocol):
    """What planning reads and writes of the store."""

    def claim_due_jobs(
        self, before: int, limit: int, known: Callable[[int], Job | None] | None = None
    ) -> AbstractAsyncContextManager[DueClaim]: ...


class PlannedHandOffs(Protocol):
    """Where planned fires of groups whose workers are on another server go (hand_offs.py)."""

    async def hand_off_planned(
        self, fires: list[Instance], jobs: Mapping[int, Job]
    ) -> set[int]: ...


class PlannedRuns(Protocol):
    """What planning asks of the runs (the engine's ``RunManager``)."""

    def arm(self, instance: Instance, job: Job, *, misfire: bool = False) -> None: ...

    def planned_count(self) -> int: ...


class Scheduler:
    def __init__(
        self,
        store: DueJobs,
        runs: PlannedRuns,
        schedules: ScheduleCache,
        metrics: EngineMetrics,
        settings: Settings,
        *,
        jobs: JobRegistry,
        hand_offs: PlannedHandOffs,
        planning: asyncio.Lock,
        fires: FireGuard,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._runs = runs
        self._fires = fires  # a periodic round waits out fires due in the next moments
        self._schedules = schedules
        self._metrics = metrics
        self._settings = settings
        self._jobs = jobs  # claims do not read the definitions held again
        self._hand_offs = hand_offs
        # held while fires are planned; job changes hold it too (job_changes.py)
        self.planning = planning
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="tickwork-scheduler")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    def poke(self) -> None:
        """A job's next fire may now be inside the look-ahead window: claim again now."""
        self._wake.set()

    async def _loop(self) -> None:
        period = max(self._settings.lookahead_ms / 3000.0, 0.05)
        poked = True
        while not self._stopping:
            if not poked:
                # A periodic round holds the loop while it computes and writes: when fires
                # are due in the next moments, plan just after them instead. Rounds asked
                # for (a job created or changed) go at once; the wait stays well inside
                # the look-ahead window.
                quarter = self._settings.lookahead_ms // 4
                await self._fires.wait_out(
                    min(QUIET_BEFORE_MS, quarter), min(QUIET_AFTER_MS, quarter)
                )
            try:
                full = await self.plan_round()
            except Exception:
                log.exception("planning fires failed; retrying")
                full = False
                await asyncio.sleep(0.5)
            if full:
                # more due jobs than one batch: go on at once, but after any fires due now
                # (on SQLite a round holds the loop's thread while it writes)
                poked = False
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=period)
                poked = True
            except TimeoutError:
                poked = False
            self._wake.clear()

    async def plan_round(self) -> bool:
        """Claim due jobs once. True if the batch was full (more may be due)."""
        async with self.planning:
            return await self._plan_round()

    async def _plan_round(self) -> bool:
        now = self._clock()
        horizon = now + self._settings.lookahead_ms
        misfire_releases: set[tuple[int, int]] = set()
        async with self._store.claim_due_jobs(
            horizon, self._settings.claim_batch, self._jobs.get
        ) as claim:
            jobs = claim.jobs
            if not jobs and not claim.unreadable:
                return False
            fires: list[Instance] = []
            next_times: list[tuple[int, int | None]] = []
            failed: list[tuple[int, str, BaseException | None]] = [
                (job_id, why, None) for job_id, why in claim.unreadable.items()
            ]
            for job in jobs:
                self._jobs.remember(job)
                try:
                    job_fires, next_time, late = await self._fires_for(
                        job, claim.next_fire[job.id], now, horizon
                    )
                except Unavailable:
                    raise  # the database, not the job: the whole round is tried again
                except Exception as exc:  # this job only: the others are planned
                    failed.append((job.id, reason_of(exc), exc))
                    continue
                fires.extend(job_fires)
                if late is not None:
                    misfire_releases.add((job.id, late))
                next_times.append((job.id, next_time))
            inserted = await claim.plan(fires, next_times, [(j, why) for j, why, _ in failed])
        for job_id, why, error in failed:
            self._schedule_error(job_id, why, error)
        # committed: the fires are visible to the other servers, and can be handed to them
        jobs_by_id = {job.id: job for job in jobs}
        waiting = [i for i in inserted if i.status == InstanceStatus.WAITING]
        handed = await self._hand_offs.hand_off_planned(waiting, jobs_by_id)
        for instance in waiting:
            if instance.id in handed:
                continue
            misfire = (instance.job_id, instance.schedule_time) in misfire_releases
            self._runs.arm(instance, jobs_by_id[instance.job_id], misfire=misfire)
        self._metrics.planned.set(self._runs.planned_count())
        return len(jobs) + len(claim.unreadable) >= self._settings.claim_batch

    def _schedule_error(self, job_id: int, reason: str, exc: BaseException | None) -> None:
        """Count and log a job marked with a schedule error: once, as a marked job is not
        claimed again until it is changed. An unexpected exception's traceback is logged."""
        self._metrics.schedule_errors.inc()
        log.warning(
            "job %s is not planned and will not fire until it is changed: %s",
            job_id,
            reason,
            exc_info=exc if exc is not None and not isinstance(exc, TickworkError) else None,
        )

    async def _fires_for(
        self, job: Job, next_fire: int, now: int, horizon: int
    ) -> tuple[list[Instance], int | None, int | None]:
        """The fires of one job from its stored ``next_fire`` up to the horizon, its next fire
        time after them, and the schedule time of a misfire released late on purpose (if
        any). Raises when they cannot be computed, or one could not be stored."""
        if not holds_instant(next_fire):
            raise ScheduleError(
                f"its stored next fire time {next_fire} (epoch ms) is not an instant from "
                "0001-01-02 to 9999-12-30 (UTC)"
            )
        fires, t, late_fire = await self._compute_fires(job, next_fire, now, horizon)
        if fires:
            check_storable(job, fires[0])
            check_storable(job, fires[-1])
        if t is not None and not holds_instant(t):
            raise ScheduleError(
                f"its next fire time after {fires[-1].schedule_time if fires else next_fire} "
                f"(epoch ms) would be {t}, not an instant from 0001-01-02 to 9999-12-30 (UTC)"
            )
        return fires, t, late_fire

    async def _compute_fires(
        self, job: Job, next_fire: int, now: int, horizon: int
    ) -> tuple[list[Instance], int | None, int | None]:
        schedule = await self._schedules.get(job)
        t: int | None = next_fire
        fires: list[Instance] = []
        late_fire: int | None = None
        threshold = self._settings.misfire_threshold_ms
        chained = job.time_type in (TimeType.SECOND_DELAY, TimeType.ONE_TIME)

        if next_fire < now - threshold:
            missed: list[int] = []
            count = 0
            keep = history_limit(job, self._settings.history_limit)
            while t is not None and t < now - threshold and count < MAX_MISSED_COUNTED:
                count += 1
                missed.append(t)
                if len(missed) > keep + 1:
                    del missed[: len(missed) - keep - 1]
                t = None if chained else schedule.next_fire(t)
            fire_now = job.misfire_policy == MisfirePolicy.FIRE_ONCE and missed
            skipped = missed[:-1] if fire_now else missed
            skipped_count = count - 1 if fire_now else count
            self._metrics.skipped.inc(skipped_count)
            if skipped_count:
                log.warning(
                    "job %s missed %d fire(s) (policy %s)", job.id, count, job.misfire_policy.value
                )
            for when in skipped[-keep:] if keep else []:
                fires.append(self._instance(job, when, InstanceStatus.SKIPPED, now))
            if fire_now:
                late_fire = missed[-1]
                fires.append(self._instance(job, late_fire, InstanceStatus.WAITING, now))
                if chained:
                    t = None

        while t is not None and t <= horizon and len(fires) < MAX_FIRES_PER_JOB_PER_ROUND:
            fires.append(self._instance(job, t, InstanceStatus.WAITING, now))
            t = None if chained else schedule.next_fire(t)
        return fires, t, late_fire

    @staticmethod
    def _instance(job: Job, schedule_time: int, status: InstanceStatus, now: int) -> Instance:
        skipped = status == InstanceStatus.SKIPPED
        return Instance(
            job_id=job.id,
            namespace=job.namespace,
            group_id=job.group_id,
            trigger_type=TriggerType.SCHEDULED,
            time_type=job.time_type,
            schedule_time=schedule_time,
            status=status,
            data_time=data_time(schedule_time, job.data_offset),
            fire_key=schedule_time,
            executor="scheduler",
            end_time=now if skipped else None,
            result=MISSED_UNPLANNED if skipped else "",
        )

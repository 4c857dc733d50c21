"""Scheduler planning rounds with an injected clock and a fake claim: which fires a round
writes and arms, which it hands off, misfires, and a job whose schedule fails."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import replace
from typing import cast

from fake_timers import FakeTimers

from tickwork.domain.enums import InstanceStatus, JobType, MisfirePolicy, TimeType
from tickwork.domain.models import Instance, Job
from tickwork.engine.due_fires import DueFires
from tickwork.engine.job_registry import JobRegistry
from tickwork.engine.metrics import EngineMetrics
from tickwork.engine.scheduler import Scheduler
from tickwork.engine.schedules import ScheduleCache
from tickwork.settings import Settings
from tickwork.store.abc import DueClaim, Store

NOW = 1_700_000_000_000  # a whole second (epoch ms)
EVERY_SECOND = "* * * * * ?"


class FakeClaims:
    """A store that claims the jobs given to it, due or not, and records what is planned."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self.planned: list[Instance] = []
        self.next_times: list[tuple[int, int | None]] = []
        self.failed: list[tuple[int, str]] = []
        self.known_asked: list[Job | None] = []

    @contextlib.asynccontextmanager
    async def _claim(self, known: Callable[[int], Job | None] | None) -> AsyncIterator[DueClaim]:
        async def plan(
            fires: Sequence[Instance],
            next_fire_times: Sequence[tuple[int, int | None]],
            failed: Sequence[tuple[int, str]] = (),
        ) -> list[Instance]:
            inserted = [replace(f, id=100 + n) for n, f in enumerate(fires)]
            self.planned.extend(inserted)
            self.next_times.extend(next_fire_times)
            self.failed.extend(failed)
            return inserted

        if known is not None:
            self.known_asked = [known(job.id) for job in self.jobs]
        next_fire = {job.id: job.next_fire_time or 0 for job in self.jobs}
        yield DueClaim(jobs=list(self.jobs), plan=plan, next_fire=next_fire)

    def claim_due_jobs(
        self, before: int, limit: int, known: Callable[[int], Job | None] | None = None
    ) -> contextlib.AbstractAsyncContextManager[DueClaim]:
        return self._claim(known)


class FakeRuns:
    def __init__(self) -> None:
        self.armed: list[tuple[int, bool]] = []  # (schedule time, misfire)

    def arm(self, instance: Instance, job: Job, *, misfire: bool = False) -> None:
        self.armed.append((instance.schedule_time, misfire))

    def planned_count(self) -> int:
        return len(self.armed)


class FakeHandOffs:
    def __init__(self, groups_elsewhere: frozenset[str] = frozenset()) -> None:
        self.elsewhere = groups_elsewhere
        self.handed: list[int] = []

    async def hand_off_planned(self, fires: list[Instance], jobs: Mapping[int, Job]) -> set[int]:
        ids = {i.id for i in fires if jobs[i.job_id].group_id in self.elsewhere}
        self.handed.extend(sorted(ids))
        return ids


def cron_job(
    job_id: int,
    next_fire: int,
    *,
    group_id: str = "g",
    expression: str = EVERY_SECOND,
    misfire_policy: MisfirePolicy = MisfirePolicy.FIRE_ONCE,
) -> Job:
    return Job(
        id=job_id,
        namespace="ns",
        group_id=group_id,
        name=f"job {job_id}",
        job_type=JobType.SHELL,
        time_type=TimeType.CRON,
        time_expression=expression,
        misfire_policy=misfire_policy,
        next_fire_time=next_fire,
        updated_at=1,
    )


def scheduler(
    store: FakeClaims, runs: FakeRuns, hand_offs: FakeHandOffs, jobs: JobRegistry | None = None
) -> tuple[Scheduler, EngineMetrics]:
    metrics = EngineMetrics()
    settings = Settings(lookahead_ms=3000, misfire_threshold_ms=5000, history_limit=2)
    # no job names a calendar, so the cache never reads its store
    schedules = ScheduleCache(cast(Store, None))
    return (
        Scheduler(
            store,
            runs,
            schedules,
            metrics,
            settings,
            jobs=jobs or JobRegistry(cast(Store, None)),
            hand_offs=hand_offs,
            planning=asyncio.Lock(),
            fires=DueFires(FakeTimers(NOW)),  # none due: a round never waits
            clock=lambda: NOW,
        ),
        metrics,
    )


async def test_a_round_writes_and_arms_every_fire_within_the_lookahead() -> None:
    store, runs = FakeClaims([cron_job(1, NOW + 1000)]), FakeRuns()
    planner, _ = scheduler(store, runs, FakeHandOffs())
    assert await planner.plan_round() is False  # one job: the batch was not full
    expected = [NOW + 1000, NOW + 2000, NOW + 3000]
    assert [f.schedule_time for f in store.planned] == expected
    assert all(f.fire_key == f.schedule_time for f in store.planned)
    assert store.next_times == [(1, NOW + 4000)]
    assert runs.armed == [(t, False) for t in expected]


async def test_fires_of_a_group_served_elsewhere_are_handed_off_not_armed() -> None:
    store = FakeClaims([cron_job(1, NOW + 1000), cron_job(2, NOW + 1000, group_id="far")])
    runs, hand_offs = FakeRuns(), FakeHandOffs(frozenset({"far"}))
    planner, _ = scheduler(store, runs, hand_offs)
    await planner.plan_round()
    far = [f.id for f in store.planned if f.job_id == 2]
    assert hand_offs.handed == far and len(far) == 3
    assert len(runs.armed) == 3  # job 1's only


async def test_a_misfire_fires_once_late_and_records_the_newest_skipped() -> None:
    missed_from = NOW - 60_000  # a minute of fires missed
    store, runs = FakeClaims([cron_job(1, missed_from)]), FakeRuns()
    planner, metrics = scheduler(store, runs, FakeHandOffs())
    await planner.plan_round()
    skipped = [f for f in store.planned if f.status == InstanceStatus.SKIPPED]
    # fires older than the threshold (5 s): NOW-60 s .. NOW-6 s; the newest fires late, and
    # the newest two (history_limit) of the others are recorded as skipped
    assert [f.schedule_time for f in skipped] == [NOW - 8000, NOW - 7000]
    assert (NOW - 6000, True) in runs.armed
    assert (
        metrics.registry.get_sample_value("tickwork_fires_skipped_total") == 54
    )  # 55 missed, one fired late


async def test_a_skip_policy_skips_every_missed_fire() -> None:
    job = cron_job(1, NOW - 60_000, misfire_policy=MisfirePolicy.SKIP)
    store, runs = FakeClaims([job]), FakeRuns()
    planner, _ = scheduler(store, runs, FakeHandOffs())
    await planner.plan_round()
    assert not [t for t, misfire in runs.armed if misfire]
    assert all(t >= NOW - 5000 for t, _ in runs.armed)


async def test_a_job_whose_fires_cannot_be_computed_is_marked_and_the_others_planned() -> None:
    bad = cron_job(1, NOW + 1000, expression="not a cron")
    store, runs = FakeClaims([bad, cron_job(2, NOW + 1000)]), FakeRuns()
    planner, metrics = scheduler(store, runs, FakeHandOffs())
    await planner.plan_round()
    assert [job_id for job_id, _ in store.failed] == [1]
    assert {f.job_id for f in store.planned} == {2}
    assert metrics.registry.get_sample_value("tickwork_schedule_errors_total") == 1


async def test_claimed_jobs_are_remembered_and_offered_to_the_next_claim() -> None:
    job = cron_job(1, NOW + 1000)
    jobs = JobRegistry(cast(Store, None))
    store = FakeClaims([job])
    planner, _ = scheduler(store, FakeRuns(), FakeHandOffs(), jobs)
    await planner.plan_round()
    assert jobs.get(1) is job
    await planner.plan_round()
    assert store.known_asked == [job]  # held: the claim need not read the row again

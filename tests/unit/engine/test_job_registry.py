"""JobRegistry: the one source of job definitions, and what triggers read."""

from __future__ import annotations

from dataclasses import replace

from tickwork.domain.enums import JobType, TimeType
from tickwork.domain.models import Job
from tickwork.engine.job_registry import TRIGGER_FRESH_MS, JobRegistry


class FakeJobs:
    def __init__(self, job: Job) -> None:
        self.job: Job | None = job
        self.reads = 0

    async def get_job(self, job_id: int) -> Job | None:
        self.reads += 1
        return None if self.job is None else replace(self.job)  # a fresh copy, as a read


class Clock:
    ms = 0

    def __call__(self) -> int:
        return self.ms


def api_job(**fields: str) -> Job:
    return Job(
        id=1,
        namespace="ns",
        group_id="g",
        name=fields.get("name", "job"),
        job_type=JobType.SHELL,
        time_type=TimeType.API,
    )


async def test_a_trigger_reads_the_job_once_while_it_is_fresh() -> None:
    store, clock = FakeJobs(api_job()), Clock()
    jobs = JobRegistry(store, clock=clock)
    first = await jobs.for_trigger(1)
    clock.ms += TRIGGER_FRESH_MS - 1
    assert await jobs.for_trigger(1) is first
    assert store.reads == 1 and jobs.get(1) is first


async def test_a_trigger_reads_again_after_a_while_or_a_change() -> None:
    store, clock = FakeJobs(api_job()), Clock()
    jobs = JobRegistry(store, clock=clock)
    await jobs.for_trigger(1)
    clock.ms += TRIGGER_FRESH_MS
    await jobs.for_trigger(1)
    assert store.reads == 2  # a change notification from another server may have been lost
    jobs.changed(1)
    store.job = api_job(name="renamed")
    renamed = await jobs.for_trigger(1)
    assert store.reads == 3 and renamed is not None and renamed.name == "renamed"


async def test_a_deleted_job_is_not_found_by_triggers() -> None:
    store = FakeJobs(api_job())
    jobs = JobRegistry(store, clock=Clock())
    await jobs.for_trigger(1)
    jobs.forget(1)
    store.job = None
    assert await jobs.for_trigger(1) is None and jobs.get(1) is None


def test_a_version_differing_only_in_its_next_fire_time_keeps_the_object_held() -> None:
    jobs = JobRegistry(FakeJobs(api_job()), clock=Clock())
    held = replace(api_job(), next_fire_time=1000)
    jobs.remember(held)
    jobs.remember(replace(held, next_fire_time=2000))
    assert jobs.get(1) is held  # runs prepared from it are known unchanged by identity
    changed = replace(held, content="echo new")
    jobs.remember(changed)
    assert jobs.get(1) is changed

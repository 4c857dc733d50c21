"""InstanceCreator: triggers made together are inserted in one batch, each caller hears of
its own instance only."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

from tickwork.domain.enums import TimeType, TriggerType
from tickwork.domain.errors import JobNotFound, Unavailable
from tickwork.domain.models import Instance
from tickwork.engine.creator import InstanceCreator

GONE_JOB = 404


class FakeInserter:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []  # the job ids of each batch
        self.singles: list[int] = []
        self.down = False

    async def create_instances(
        self, batch: Sequence[Instance]
    ) -> list[tuple[Instance, bool] | None]:
        await asyncio.sleep(0)  # a transaction: others may queue meanwhile
        if self.down:
            raise Unavailable("the database is down")
        self.batches.append([i.job_id for i in batch])
        return [
            None if i.job_id == GONE_JOB else (replace(i, id=1000 + i.job_id), True) for i in batch
        ]

    async def create_instance(self, instance: Instance) -> tuple[Instance, bool]:
        self.singles.append(instance.job_id)
        return replace(instance, id=1), True


def trigger(job_id: int) -> Instance:
    return Instance(
        job_id=job_id,
        namespace="ns",
        group_id="g",
        trigger_type=TriggerType.API,
        time_type=TimeType.API,
        schedule_time=0,
    )


async def test_concurrent_triggers_are_inserted_together_and_each_gets_its_own() -> None:
    store = FakeInserter()
    creator = InstanceCreator(store)
    creator.start()
    try:
        made = await asyncio.gather(*(creator.create(trigger(n)) for n in range(1, 6)))
    finally:
        await creator.close()
    assert store.batches == [[1, 2, 3, 4, 5]]
    assert [(i.id, created) for i, created in made] == [(1000 + n, True) for n in range(1, 6)]


async def test_a_trigger_of_a_missing_job_fails_alone() -> None:
    store = FakeInserter()
    creator = InstanceCreator(store)
    creator.start()
    try:
        gone, kept = await asyncio.gather(
            creator.create(trigger(GONE_JOB)), creator.create(trigger(1)), return_exceptions=True
        )
    finally:
        await creator.close()
    assert isinstance(gone, JobNotFound)
    assert isinstance(kept, tuple) and kept[0].id == 1001


async def test_every_caller_of_a_failed_batch_hears_why() -> None:
    store = FakeInserter()
    store.down = True
    creator = InstanceCreator(store)
    creator.start()
    try:
        outcomes = await asyncio.gather(
            *(creator.create(trigger(n)) for n in (1, 2)), return_exceptions=True
        )
    finally:
        await creator.close()
    assert all(isinstance(o, Unavailable) for o in outcomes)


async def test_before_it_starts_each_instance_is_inserted_alone() -> None:
    store = FakeInserter()
    creator = InstanceCreator(store)
    made, created = await creator.create(trigger(3))
    assert (made.id, created, store.singles, store.batches) == (1, True, [3], [])

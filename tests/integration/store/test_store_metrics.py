"""Contract: runs counted by status in intervals of their schedule time (count_runs)."""

from __future__ import annotations

import pytest
from store_support import Seed

from tickwork.domain.enums import InstanceStatus
from tickwork.domain.queries import InstanceFilter
from tickwork.store.abc import RunCount, Store

S = InstanceStatus
START = 1_700_000_000_000  # a whole second, as GetOverview's StartTime gives it


async def test_runs_are_counted_by_interval_and_status(store: Store, seed: Seed) -> None:
    a, b = await seed.job("a"), await seed.job("b")
    other = await seed.job("c", group_id="other")
    runs = [
        seed.api_run(a, START - 1, status=S.SUCCESS),  # before the range
        seed.api_run(a, START, status=S.SUCCESS),
        seed.api_run(b, START + 59_999, status=S.FAILED),
        seed.api_run(a, START + 60_000, status=S.SUCCESS),
        seed.api_run(b, START + 61_000, status=S.SUCCESS),
        seed.api_run(a, START + 130_000, status=S.RUNNING),
        seed.api_run(a, START + 180_000, status=S.SUCCESS),  # at the end: left out
        seed.api_run(other, START + 1, status=S.SUCCESS),  # another group
    ]
    for run in runs:
        await store.create_instance(run)
    flt = InstanceFilter(
        namespace="ns", group_id="grp", schedule_from=START, schedule_to=START + 180_000
    )
    assert await store.count_runs(flt, 60_000) == [
        RunCount(START, S.SUCCESS, 1),
        RunCount(START, S.FAILED, 1),
        RunCount(START + 60_000, S.SUCCESS, 2),
        RunCount(START + 120_000, S.RUNNING, 1),
    ]
    everyone = InstanceFilter(namespace="ns", schedule_from=START, schedule_to=START + 60_000)
    assert await store.count_runs(everyone, 60_000) == [
        RunCount(START, S.SUCCESS, 2),
        RunCount(START, S.FAILED, 1),
    ]
    only_other = InstanceFilter(
        schedule_from=START, schedule_to=START + 60_000, scopes=[("ns", "other")]
    )
    assert await store.count_runs(only_other, 60_000) == [RunCount(START, S.SUCCESS, 1)]


async def test_a_count_needs_a_start_and_a_step(store: Store) -> None:
    with pytest.raises(ValueError):
        await store.count_runs(InstanceFilter(), 60_000)
    with pytest.raises(ValueError):
        await store.count_runs(InstanceFilter(schedule_from=0), 0)

"""Contract: instances (fires, API runs, listing, counts, updates, pruning)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_support import Seed

from tickwork.domain.enums import FINAL_STATUSES, InstanceStatus, TimeType, TriggerType
from tickwork.domain.errors import InvalidParameter, JobNotFound
from tickwork.domain.models import Instance, InstanceUpdate, LogLine
from tickwork.domain.queries import InstanceFilter
from tickwork.store.abc import Store

S = InstanceStatus

# -- plan_fires ----------------------------------------------------------------------------


async def test_plan_fires_inserts_in_order_and_sets_next_fire_times(
    store: Store, seed: Seed
) -> None:
    a = await seed.job("a", next_fire_time=100)
    b = await seed.job("b", next_fire_time=100)
    fires = [seed.fire(a, 100), seed.fire(b, 100), seed.fire(a, 200, data_time=150)]
    planned = await store.plan_fires(fires, [(a.id, 300), (b.id, None)])
    assert [(i.job_id, i.schedule_time) for i in planned] == [(a.id, 100), (b.id, 100), (a.id, 200)]
    assert planned[0].id < planned[1].id < planned[2].id
    for given, got in zip(fires, planned, strict=True):
        assert got.created_at > 0 and got.updated_at == got.created_at
        assert got == replace(
            given, id=got.id, created_at=got.created_at, updated_at=got.created_at
        )
        assert await store.get_instance(got.id) == got
    assert (await store.get_job(a.id)).next_fire_time == 300  # type: ignore[union-attr]
    assert (await store.get_job(b.id)).next_fire_time is None  # type: ignore[union-attr]


async def test_plan_fires_skips_duplicates(store: Store, seed: Seed) -> None:
    job = await seed.job()
    first = await store.plan_fires([seed.fire(job, 100), seed.fire(job, 200)], [(job.id, 300)])
    again = await store.plan_fires(
        [seed.fire(job, 200), seed.fire(job, 300), seed.fire(job, 100), seed.fire(job, 300)],
        [(job.id, 400)],
    )
    assert [i.schedule_time for i in again] == [300]  # stored ones and the repeat are skipped
    assert again[0].id > first[1].id
    page = await store.list_instances(InstanceFilter(job_id=job.id))
    assert sorted(i.schedule_time for i in page.items) == [100, 200, 300]
    assert (await store.get_job(job.id)).next_fire_time == 400  # type: ignore[union-attr]


async def test_plan_fires_drops_fires_of_deleted_jobs(store: Store, seed: Seed) -> None:
    live = await seed.job("live")
    gone = await seed.job("gone")
    await store.delete_job(gone.id)
    planned = await store.plan_fires(
        [seed.fire(gone, 100), seed.fire(live, 100), seed.fire(gone, 200)],
        [(gone.id, 300), (live.id, 300)],
    )
    assert [(i.job_id, i.schedule_time) for i in planned] == [(live.id, 100)]
    assert await store.get_job(gone.id) is None


async def test_plan_fires_mixes_keyed_and_unkeyed(store: Store, seed: Seed) -> None:
    job = await seed.job()
    await store.plan_fires([seed.fire(job, 100)], [])
    fires = [
        seed.api_run(job, 100),
        seed.fire(job, 100),  # taken
        seed.api_run(job, 100, idempotency_key="e1"),
        seed.api_run(job, 100),
        seed.api_run(job, 100, idempotency_key="e1"),  # repeat within the batch
        seed.fire(job, 200, idempotency_key="e2"),
    ]
    planned = await store.plan_fires(fires, [])
    assert [(i.fire_key, i.idempotency_key) for i in planned] == [
        (None, None),
        (None, "e1"),
        (None, None),
        (200, "e2"),
    ]
    assert len({i.id for i in planned}) == 4
    for instance in planned:  # each id given back is the row with those keys
        stored = await store.get_instance(instance.id)
        assert stored is not None
        assert (stored.fire_key, stored.idempotency_key) == (
            instance.fire_key,
            instance.idempotency_key,
        )


async def test_an_instance_id_is_never_given_twice(store: Store, seed: Seed) -> None:
    """Not even after the newest rows are deleted (withdrawn fires are): a worker or a log
    line may still name the old one."""
    job = await seed.job()
    first = await store.plan_fires([seed.fire(job, 1), seed.fire(job, 2)], [])
    assert await store.delete_unstarted([i.id for i in first]) == 2
    (again,) = await store.plan_fires([seed.fire(job, 1)], [])
    assert again.id > max(i.id for i in first)
    created, _ = await store.create_instance(seed.api_run(job, 3))
    assert created.id > again.id


async def test_plan_fires_nothing(store: Store, seed: Seed) -> None:
    job = await seed.job(next_fire_time=5)
    assert await store.plan_fires([], []) == []
    assert await store.plan_fires([], [(job.id, 9)]) == []
    assert (await store.get_job(job.id)).next_fire_time == 9  # type: ignore[union-attr]


async def test_plan_fires_large_batch(store: Store, seed: Seed) -> None:
    jobs = [await seed.job(f"j{i}") for i in range(3)]
    fires = [seed.fire(jobs[n % 3], 1000 * n) for n in range(2500)]
    planned = await store.plan_fires(fires, [(j.id, 9) for j in jobs])
    assert [(i.job_id, i.schedule_time) for i in planned] == [
        (f.job_id, f.schedule_time) for f in fires
    ]
    ids = [i.id for i in planned]
    assert ids == sorted(ids) and len(set(ids)) == 2500
    again = await store.plan_fires(fires[::-1] + [seed.fire(jobs[0], -1)], [])
    assert [i.schedule_time for i in again] == [-1]


# -- create_instance -----------------------------------------------------------------------


async def test_create_instance(store: Store, seed: Seed) -> None:
    job = await seed.job()
    run = seed.api_run(job, 500, instance_parameters="x=1", executor="AK1")
    created, inserted = await store.create_instance(run)
    assert inserted and created.id > 0
    assert created == replace(
        run, id=created.id, created_at=created.created_at, updated_at=created.updated_at
    )
    # API runs are never deduplicated by time
    second, inserted = await store.create_instance(run)
    assert inserted and second.id > created.id


async def test_create_instance_idempotency_key_returns_the_stored_one(
    store: Store, seed: Seed
) -> None:
    job = await seed.job()
    other = await seed.job("other")
    first, inserted = await store.create_instance(seed.api_run(job, 1, idempotency_key="ev"))
    assert inserted
    same, inserted = await store.create_instance(
        seed.api_run(job, 2, idempotency_key="ev", instance_parameters="different")
    )
    assert not inserted and same == first
    # the key is per job
    elsewhere, inserted = await store.create_instance(seed.api_run(other, 1, idempotency_key="ev"))
    assert inserted and elsewhere.id != first.id


async def test_create_instance_fire_key_returns_the_stored_one(store: Store, seed: Seed) -> None:
    job = await seed.job()
    (planned,) = await store.plan_fires([seed.fire(job, 100)], [])
    found, inserted = await store.create_instance(seed.fire(job, 100, status=S.RUNNING))
    assert not inserted and found == planned


async def test_create_instance_of_missing_job(store: Store, seed: Seed) -> None:
    job = await seed.job()
    await store.delete_job(job.id)
    with pytest.raises(JobNotFound):
        await store.create_instance(seed.api_run(job, 1))


async def test_a_batch_with_a_missing_job_creates_the_others(store: Store, seed: Seed) -> None:
    """A group commit of triggers where one job was deleted meanwhile: its rows are None,
    the rest are created (on PostgreSQL after the foreign key refused the batch once)."""
    job, gone = await seed.job(), await seed.job("gone")
    await store.delete_job(gone.id)
    results = await store.create_instances(
        [
            seed.api_run(job, 1, idempotency_key="a"),
            seed.api_run(gone, 1),
            seed.api_run(job, 2),
            seed.api_run(job, 3, idempotency_key="a"),  # repeats the first's key
        ]
    )
    first, missing, second, repeat = results
    assert missing is None
    assert first is not None and second is not None and repeat is not None
    assert first[1] and second[1] and not repeat[1] and repeat[0].id == first[0].id
    for instance, _ in (first, second):
        stored = await store.get_instance(instance.id)
        assert stored is not None and stored.schedule_time == instance.schedule_time
    page = await store.list_instances(InstanceFilter(job_id=job.id))
    assert page.total == 2


# -- reading -------------------------------------------------------------------------------


async def test_list_instances_filters_pages_newest_first(store: Store, seed: Seed) -> None:
    a = await seed.job("a")
    b = await seed.job("b", group_id="g2")
    c = await seed.job("c", namespace="ns2")
    made = await store.plan_fires(
        [
            seed.fire(a, 100, status=S.SUCCESS),
            seed.fire(a, 200, status=S.FAILED),
            seed.api_run(a, 300, time_type=TimeType.API),
            seed.fire(b, 150, status=S.RUNNING),
            seed.fire(c, 250, trigger_type=TriggerType.BACKFILL),
        ],
        [],
    )
    ids = [i.id for i in made]

    async def listed(**kwargs: object) -> list[int]:
        page = await store.list_instances(InstanceFilter(**kwargs))  # type: ignore[arg-type]
        return [i.id for i in page.items]

    assert await listed() == ids[::-1]
    assert await listed(namespace="ns") == [ids[3], ids[2], ids[1], ids[0]]
    assert await listed(namespace="ns", group_id="g2") == [ids[3]]
    assert await listed(job_id=a.id) == [ids[2], ids[1], ids[0]]
    assert await listed(statuses=[S.SUCCESS, S.RUNNING]) == [ids[3], ids[0]]
    assert await listed(statuses=[]) == []
    assert await listed(trigger_types=[TriggerType.API, TriggerType.BACKFILL]) == [
        ids[4],
        ids[2],
    ]
    assert await listed(schedule_from=150, schedule_to=250) == [ids[3], ids[1]]
    assert await listed(schedule_from=250) == [ids[4], ids[2]]
    page = await store.list_instances(InstanceFilter(page=2, page_size=2))
    assert [i.id for i in page.items] == [ids[2], ids[1]]
    assert (page.total, page.page, page.page_size) == (5, 2, 2)
    filtered = await store.list_instances(InstanceFilter(job_id=a.id, page=1, page_size=1))
    assert filtered.total == 3 and [i.id for i in filtered.items] == [ids[2]]
    with pytest.raises(InvalidParameter):
        await store.list_instances(InstanceFilter(page=0))


async def test_get_missing_instance(store: Store) -> None:
    assert await store.get_instance(12345) is None


async def test_unfinished_and_counts(store: Store, seed: Seed) -> None:
    job = await seed.job()
    other = await seed.job("other")
    statuses = [S.WAITING, S.SUCCESS, S.RUNNING, S.FAILED, S.RUNNING, S.PAUSED, S.REMOVED]
    made = await store.plan_fires(
        [seed.fire(job, n, status=s) for n, s in enumerate(statuses)]
        + [seed.fire(other, 0, status=S.RUNNING)],
        [],
    )
    unfinished = await store.unfinished_instances()
    assert [i.id for i in unfinished] == [i.id for i in made if i.status not in FINAL_STATUSES]
    assert await store.count_instances(job.id, [S.RUNNING]) == 2
    assert await store.count_instances(job.id, [S.RUNNING, S.WAITING, S.KILLED]) == 3
    assert await store.count_instances(job.id, []) == 0
    assert await store.count_instances(job.id + 99, [S.RUNNING]) == 0
    assert await store.count_instances_by_status() == {
        S.WAITING: 1,
        S.SUCCESS: 1,
        S.RUNNING: 3,
        S.FAILED: 1,
        S.PAUSED: 1,
        S.REMOVED: 1,
    }


# -- update_instances ----------------------------------------------------------------------


async def test_update_instances_applies_given_fields_only(store: Store, seed: Seed) -> None:
    job = await seed.job()
    a, b = await seed.instances(job, 2)
    updated = await store.update_instances(
        [
            InstanceUpdate(a.id, status=S.RUNNING, start_time=10, worker="w1", attempt=1),
            InstanceUpdate(b.id, progress="50%"),
            InstanceUpdate(a.id + b.id + 100, status=S.RUNNING),  # missing: ignored
        ]
    )
    assert updated == [a.id, b.id]
    got_a = await store.get_instance(a.id)
    assert got_a is not None
    assert (got_a.status, got_a.start_time, got_a.worker, got_a.attempt) == (
        S.RUNNING,
        10,
        "w1",
        1,
    )
    assert (got_a.progress, got_a.result, got_a.end_time) == ("", "", None)
    assert got_a.updated_at >= a.updated_at
    got_b = await store.get_instance(b.id)
    assert got_b is not None
    assert (got_b.status, got_b.progress, got_b.worker) == (S.WAITING, "50%", "")
    assert await store.update_instances([]) == []


async def test_update_instances_only_if_status(store: Store, seed: Seed) -> None:
    job = await seed.job()
    a, b = await seed.instances(job, 2)
    waiting = frozenset({S.WAITING})
    running = frozenset({S.RUNNING})
    updated = await store.update_instances(
        [
            InstanceUpdate(a.id, status=S.RUNNING, only_if_status=waiting),
            InstanceUpdate(b.id, status=S.SUCCESS, only_if_status=running),  # does not hold
            # sees the status the first update set
            InstanceUpdate(a.id, status=S.SUCCESS, end_time=99, only_if_status=running),
            InstanceUpdate(a.id, status=S.FAILED, only_if_status=running),  # no longer holds
            InstanceUpdate(a.id, result="done", only_if_status=frozenset()),  # never holds
        ]
    )
    assert updated == [a.id, a.id]
    got_a = await store.get_instance(a.id)
    assert got_a is not None
    assert (got_a.status, got_a.end_time, got_a.result) == (S.SUCCESS, 99, "")
    assert (await store.get_instance(b.id)).status == S.WAITING  # type: ignore[union-attr]


async def test_update_instances_batch(store: Store, seed: Seed) -> None:
    job = await seed.job()
    made = await seed.instances(job, 300)
    updates = [
        InstanceUpdate(i.id, status=S.SUCCESS, end_time=n)
        if n % 2
        else InstanceUpdate(i.id, status=S.RUNNING, worker=f"w{n}", start_time=n)
        for n, i in enumerate(made)
    ]
    assert await store.update_instances(updates) == [i.id for i in made]
    assert await store.count_instances(job.id, [S.SUCCESS]) == 150
    got = await store.get_instance(made[7].id)
    assert got is not None and (got.status, got.end_time) == (S.SUCCESS, 7)
    got = await store.get_instance(made[8].id)
    assert got is not None and (got.status, got.worker, got.start_time) == (S.RUNNING, "w8", 8)


# -- prune_history -------------------------------------------------------------------------


async def test_prune_history_keeps_newest_finished_and_all_unfinished(
    store: Store, seed: Seed
) -> None:
    job = await seed.job()
    other = await seed.job("other")
    statuses = [S.SUCCESS, S.RUNNING, S.FAILED, S.WAITING, S.SUCCESS, S.KILLED, S.SUCCESS]
    made = await store.plan_fires([seed.fire(job, n, status=s) for n, s in enumerate(statuses)], [])
    (kept_elsewhere,) = await seed.instances(other, 1, S.SUCCESS)
    await store.append_logs([LogLine(instance_id=i.id, time=1, line="l") for i in made])

    assert await store.prune_history(job.id, 2) == 3  # made[0], [2], [4] go
    left = await store.list_instances(InstanceFilter(job_id=job.id))
    assert sorted(i.id for i in left.items) == [made[n].id for n in (1, 3, 5, 6)]
    assert await store.count_logs(made[0].id) == 0
    assert await store.count_logs(made[5].id) == 1
    assert await store.prune_history(job.id, 2) == 0
    assert await store.prune_history(job.id, 0) == 2
    left = await store.list_instances(InstanceFilter(job_id=job.id))
    assert sorted(i.id for i in left.items) == [made[1].id, made[3].id]
    assert await store.get_instance(kept_elsewhere.id) is not None
    assert await store.prune_history(job.id + 99, 0) == 0
    with pytest.raises(InvalidParameter):
        await store.prune_history(job.id, -1)


async def test_delete_unstarted_deletes_only_waiting_never_started(
    store: Store, seed: Seed
) -> None:
    job = await seed.job()
    waiting, started, done = await store.plan_fires(
        [
            seed.fire(job, 1),
            seed.fire(job, 2, status=S.WAITING, start_time=5, attempt=1),  # waiting for a retry
            seed.fire(job, 3, status=S.SUCCESS),
        ],
        [],
    )
    await store.append_logs([LogLine(instance_id=waiting.id, time=1, line="l")])
    assert await store.delete_unstarted([waiting.id, started.id, done.id, 99999]) == 1
    assert await store.get_instance(waiting.id) is None
    assert await store.count_logs(waiting.id) == 0
    assert await store.get_instance(started.id) is not None
    assert await store.get_instance(done.id) is not None
    assert await store.delete_unstarted([]) == 0
    # the fire can be planned again (its unique key is free)
    (again,) = await store.plan_fires([seed.fire(job, 1)], [])
    assert again.schedule_time == waiting.schedule_time


async def test_delete_unstarted_deletes_a_fire_claimed_to_start_but_not_a_started_one(
    store: Store, seed: Seed
) -> None:
    """READY: a start claimed (engine/run_launch.py) by the server that withdraws the fire
    before it started; one with a start time began an attempt before and stays."""
    job = await seed.job()
    claimed, retrying = await store.plan_fires(
        [
            seed.fire(job, 1, status=S.READY),
            seed.fire(job, 2, status=S.READY, start_time=5, attempt=1),
        ],
        [],
    )
    assert await store.delete_unstarted([claimed.id, retrying.id]) == 1
    assert await store.get_instance(claimed.id) is None
    assert await store.get_instance(retrying.id) is not None


async def test_instance_copies_are_not_the_inputs(store: Store, seed: Seed) -> None:
    job = await seed.job()
    fire = seed.fire(job, 1)
    (planned,) = await store.plan_fires([fire], [])
    assert fire.id == 0 and planned.id > 0
    assert isinstance(planned, Instance)

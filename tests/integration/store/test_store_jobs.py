"""Contract: jobs (CRUD, listing, due jobs, next fire times, cascade delete)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from store_support import Seed

from tickwork.domain.enums import (
    ExecuteMode,
    InstanceStatus,
    JobStatus,
    JobType,
    MisfirePolicy,
    TimeType,
)
from tickwork.domain.errors import GroupNotFound, InvalidParameter, JobNotFound
from tickwork.domain.models import (
    ContactInfo,
    Designation,
    InstanceUpdate,
    Job,
    LogLine,
    RouteEntry,
    RouteStrategy,
)
from tickwork.domain.queries import InstanceFilter, JobFilter, LogQuery
from tickwork.store.abc import Store
from tickwork.store.sql import SqlStore
from tickwork.store.sql_base import now_ms


def _full_job() -> Job:
    """A job with every field away from its default."""
    return Job(
        namespace="ns",
        group_id="grp",
        name="nightly 夜间",
        job_type=JobType.COMMAND,
        time_type=TimeType.FIXED_RATE,
        description="desc",
        execute_mode=ExecuteMode.SHARDING,
        class_name="pkg.mod:Cls",
        content="echo hi",
        parameters="0=a,1=b",
        max_concurrency=3,
        max_attempt=2,
        attempt_interval=5,
        page_size=7,
        consumer_size=8,
        queue_size=9,
        dispatcher_size=10,
        time_expression="60",
        calendar="work",
        data_offset=-3600,
        timezone="Asia/Shanghai",
        timeout_enable=True,
        timeout=11,
        timeout_kill_enable=True,
        fail_enable=True,
        fail_times=4,
        miss_worker_enable=True,
        success_notice_enable=True,
        send_channel="mail,webhook",
        task_max_attempt=6,
        task_attempt_interval=12,
        contact_info=[ContactInfo(user_name="ann", user_mail="a@x"), ContactInfo(ding="http")],
        status=JobStatus.DISABLED,
        x_attrs='{"k": 1}',
        command="/bin/run",
        command_args=["-v", "a b", ""],
        envs={"A": "1", "B": "ü"},
        replicas=4,
        misfire_policy=MisfirePolicy.SKIP,
        start_time=1_700_000_000_000,
        end_time=1_800_000_000_000,
        history_limit=17,
        designation=Designation(kind=2, labels=["gpu", "ü"], transferable=False),
        route_strategy=RouteStrategy(
            name="canary 金丝雀",
            status=0,
            entries=[
                RouteEntry(percentage=30, targets=["blue"], target_type="label"),
                RouteEntry(percentage=70, targets=["10.0.0.1:7000", "w:2"], target_type="worker"),
            ],
        ),
        next_fire_time=1_750_000_000_123,
        schedule_error="time_expression: invalid 日",
        created_at=100,
        updated_at=200,
    )


async def test_job_round_trip_of_every_field(store: Store, seed: Seed) -> None:
    await seed.group()
    job = _full_job()
    created = await store.create_job(job)
    assert created.id > 0
    assert created == replace(job, id=created.id)
    assert await store.get_job(created.id) == created
    assert await store.get_job(created.id + 1000) is None


async def test_job_ids_increase_and_timestamps_are_set(store: Store, seed: Seed) -> None:
    first = await seed.job("a")
    second = await seed.job("b")
    assert second.id > first.id
    assert first.created_at > 0 and first.updated_at == first.created_at
    await store.delete_job(second.id)
    third = await seed.job("c")
    assert third.id > second.id  # never reused


async def test_job_needs_its_group(store: Store, seed: Seed) -> None:
    await seed.group()
    with pytest.raises(GroupNotFound):
        await store.create_job(replace(_full_job(), group_id="missing"))
    with pytest.raises(GroupNotFound):
        await store.create_job(replace(_full_job(), namespace="missing"))


async def test_update_job_replaces_every_field(store: Store, seed: Seed) -> None:
    job = await seed.job("plain")
    changed = replace(_full_job(), id=job.id, created_at=0, updated_at=0)
    stored = await store.update_job(changed)
    assert stored.created_at == job.created_at  # 0 keeps the stored one
    assert stored.updated_at >= job.updated_at
    assert stored == replace(changed, created_at=job.created_at, updated_at=stored.updated_at)
    assert await store.get_job(job.id) == stored
    back = await store.update_job(replace(job, next_fire_time=None, created_at=5))
    assert back.next_fire_time is None and back.created_at == 5
    assert back.route_strategy is None and back.designation is None  # NULL again


async def test_update_job_errors(store: Store, seed: Seed) -> None:
    job = await seed.job()
    with pytest.raises(JobNotFound):
        await store.update_job(replace(job, id=job.id + 100))
    with pytest.raises(GroupNotFound):
        await store.update_job(replace(job, group_id="missing"))
    assert await store.get_job(job.id) == job  # nothing half-written


async def test_list_jobs_filters_and_pages(store: Store, seed: Seed) -> None:
    a = await seed.job("Alpha report")
    b = await seed.job("beta", status=JobStatus.DISABLED)
    c = await seed.job("gamma ALPHA", group_id="other")
    d = await seed.job("alpha_1", namespace="ns2")
    await seed.job("alpha%1", namespace="ns2")

    async def ids(flt: JobFilter) -> list[int]:
        return [j.id for j in (await store.list_jobs(flt)).items]

    assert await ids(JobFilter()) == sorted(await ids(JobFilter()))
    assert await ids(JobFilter(namespace="ns")) == [a.id, b.id, c.id]
    assert await ids(JobFilter(namespace="ns", group_id="grp")) == [a.id, b.id]
    assert await ids(JobFilter(group_id="other")) == [c.id]
    assert await ids(JobFilter(name_contains="alpha")) == [a.id, c.id, d.id, d.id + 1]
    assert await ids(JobFilter(name_contains="a_1")) == [d.id]  # _ is not a wildcard
    assert await ids(JobFilter(name_contains="a%")) == [d.id + 1]  # nor is %
    assert await ids(JobFilter(status=int(JobStatus.DISABLED))) == [b.id]
    assert await ids(JobFilter(status=int(JobStatus.ENABLED), namespace="ns")) == [a.id, c.id]
    page = await store.list_jobs(JobFilter(page=2, page_size=2))
    assert (page.total, page.page, page.page_size) == (5, 2, 2)
    assert [j.id for j in page.items] == [c.id, d.id]
    empty = await store.list_jobs(JobFilter(page=9, page_size=2))
    assert empty.items == [] and empty.total == 5


@pytest.mark.parametrize(("page", "size", "field"), [(0, 10, "page"), (1, 0, "page_size")])
async def test_list_jobs_rejects_bad_paging(store: Store, page: int, size: int, field: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        await store.list_jobs(JobFilter(page=page, page_size=size))
    assert caught.value.field == field


async def test_due_jobs(store: Store, seed: Seed) -> None:
    late = await seed.job("late", next_fire_time=300)
    early = await seed.job("early", next_fire_time=100)
    tie = await seed.job("tie", next_fire_time=100)
    await seed.job("future", next_fire_time=10_000)
    await seed.job("never", next_fire_time=None)
    await seed.job("disabled", next_fire_time=50, status=JobStatus.DISABLED)
    assert [j.id for j in await store.due_jobs(300, 10)] == [early.id, tie.id, late.id]
    assert [j.id for j in await store.due_jobs(299, 10)] == [early.id, tie.id]
    assert [j.id for j in await store.due_jobs(1000, 1)] == [early.id]
    assert await store.due_jobs(99, 10) == []
    assert await store.due_jobs(1000, 0) == []


async def test_claim_due_jobs_plans_inside_the_claim(store: Store, seed: Seed) -> None:
    early = await seed.job("early", next_fire_time=100)
    late = await seed.job("late", next_fire_time=300)
    await seed.job("future", next_fire_time=10_000)
    async with store.claim_due_jobs(300, 10) as claim:
        assert [j.id for j in claim.jobs] == [early.id, late.id]
        planned = await claim.plan([seed.fire(early, 100)], [(early.id, 200), (late.id, None)])
    assert [(i.job_id, i.schedule_time) for i in planned] == [(early.id, 100)]
    assert [j.id for j in await store.due_jobs(300, 10)] == [early.id]  # next at 200 now
    assert (await store.get_job(late.id)).next_fire_time is None  # type: ignore[union-attr]


async def test_a_claim_takes_held_definitions_at_their_version(store: Store, seed: Seed) -> None:
    """A definition the caller holds at the stored version is claimed as that very object
    (its row is not read again); one held at an older version, or not held, is read. The
    stored next fire times come with the claim, whatever the held objects say."""
    same = await seed.job("same", next_fire_time=100)
    stale = await seed.job("stale", next_fire_time=150)
    fresh = await seed.job("fresh", next_fire_time=200)
    held = {same.id: replace(same, next_fire_time=5), stale.id: stale}
    changed = await store.update_job(replace(stale, description="changed"))
    async with store.claim_due_jobs(300, 10, held.get) as claim:
        assert [j.id for j in claim.jobs] == [same.id, stale.id, fresh.id]
        assert claim.jobs[0] is held[same.id]
        assert claim.jobs[1] == changed and claim.jobs[1].description == "changed"
        assert claim.jobs[2] == fresh
        assert claim.next_fire == {same.id: 100, stale.id: 150, fresh.id: 200}
        await claim.plan([], [])


async def test_a_claim_marks_jobs_with_their_schedule_error(store: Store, seed: Seed) -> None:
    """Jobs whose fires could not be computed lose their next fire time and keep why, in the
    same transaction as the others' fires; the mark stays until the job is written again."""
    good = await seed.job("good", next_fire_time=100)
    bad = await seed.job("bad", next_fire_time=100)
    async with store.claim_due_jobs(300, 10) as claim:
        planned = await claim.plan(
            [seed.fire(good, 100)], [(good.id, 200)], [(bad.id, "data_offset: out of range")]
        )
    assert [i.job_id for i in planned] == [good.id]
    marked = await store.get_job(bad.id)
    assert marked is not None and marked.next_fire_time is None
    assert marked.schedule_error == "data_offset: out of range"
    assert (await store.get_job(good.id)).schedule_error is None  # type: ignore[union-attr]
    assert await store.count_schedule_errors() == 1
    assert [j.id for j in await store.due_jobs(300, 10)] == [good.id]
    cleared = await store.update_job(replace(marked, schedule_error=None, next_fire_time=500))
    assert cleared.schedule_error is None and await store.count_schedule_errors() == 0


async def test_a_due_row_that_cannot_be_read_does_not_stop_the_claim(
    store: SqlStore, seed: Seed
) -> None:
    """A row damaged by hand (a time type no version wrote) is given back with why, apart
    from the jobs; the claim of the others goes on."""
    before = await seed.job("before", next_fire_time=100)
    damaged = await seed.job("damaged", next_fire_time=150)
    after = await seed.job("after", next_fire_time=200)
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE jobs SET time_type = 42 WHERE id = :id"), {"id": damaged.id}
        )
    async with store.claim_due_jobs(300, 10) as claim:
        assert [j.id for j in claim.jobs] == [before.id, after.id]
        assert list(claim.unreadable) == [damaged.id]
        assert "42 is not a valid TimeType" in claim.unreadable[damaged.id]
        await claim.plan([], [(before.id, 5000), (after.id, 5000)], list(claim.unreadable.items()))
    async with store.engine.connect() as conn:
        row = await conn.execute(
            sa.text("SELECT next_fire_time, schedule_error FROM jobs WHERE id = :id"),
            {"id": damaged.id},
        )
        next_fire, reason = row.one()
    assert next_fire is None and "cannot be read" in reason


async def test_each_change_of_a_job_is_a_new_version(store: Store, seed: Seed) -> None:
    """``updated_at`` versions a definition for the caches that compare it: changes made
    within one millisecond still differ, and so do changes after one stamped by a clock
    ahead of this one."""
    job = await seed.job("j", updated_at=now_ms() + 3_600_000)
    versions = [job.updated_at]
    for n in range(5):
        versions.append((await store.update_job(replace(job, description=str(n)))).updated_at)
    assert versions == sorted(set(versions))


@pytest.mark.postgres
async def test_claims_at_once_get_other_jobs_on_postgresql(store: SqlStore, seed: Seed) -> None:
    """Two servers planning at once: the second skips the rows the first holds, and plans
    what the first did not claim; nothing is planned twice, nothing waits."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one server: its claim does not lock")
    made = [await seed.job(f"j{n}", next_fire_time=100 + n) for n in range(6)]
    async with store.claim_due_jobs(1000, 4) as first:
        async with store.claim_due_jobs(1000, 4) as second:
            assert [j.id for j in first.jobs] == [j.id for j in made[:4]]
            assert [j.id for j in second.jobs] == [j.id for j in made[4:]]
            await second.plan([], [(j.id, 5000) for j in second.jobs])
        await first.plan(
            [seed.fire(j, j.next_fire_time or 0) for j in first.jobs],
            [(j.id, 5000) for j in first.jobs],
        )
    async with store.claim_due_jobs(1000, 10) as after:
        assert after.jobs == []  # both planned: every next fire is past the horizon


@pytest.mark.postgres
async def test_a_claim_rolls_back_when_planning_fails(store: SqlStore, seed: Seed) -> None:
    if store.dialect != "postgresql":
        pytest.skip("the SQLite claim holds no transaction")
    job = await seed.job("j", next_fire_time=100)
    with pytest.raises(RuntimeError):
        async with store.claim_due_jobs(1000, 10) as claim:
            await claim.plan([seed.fire(job, 100)], [(job.id, 5000)])
            raise RuntimeError("computing failed")
    assert (await store.get_job(job.id)).next_fire_time == 100  # type: ignore[union-attr]
    assert (await store.list_instances(InstanceFilter(job_id=job.id))).total == 0


async def test_set_next_fire_times(store: Store, seed: Seed) -> None:
    a = await seed.job("a", next_fire_time=100)
    b = await seed.job("b", next_fire_time=None)
    await store.set_next_fire_times([(a.id, None), (b.id, 500), (b.id + 99, 1)])
    assert (await store.get_job(a.id)).next_fire_time is None  # type: ignore[union-attr]
    assert (await store.get_job(b.id)).next_fire_time == 500  # type: ignore[union-attr]
    await store.set_next_fire_times([])
    await store.set_next_fire_times([(a.id, 1), (a.id, 2)])  # the last one wins
    assert (await store.get_job(a.id)).next_fire_time == 2  # type: ignore[union-attr]


async def test_delete_job_cascades_to_instances_and_logs(store: Store, seed: Seed) -> None:
    job = await seed.job("doomed")
    other = await seed.job("kept")
    doomed = await seed.instances(job, 3)
    kept = await seed.instances(other, 1)
    await store.append_logs([LogLine(instance_id=i.id, time=1, line="x") for i in doomed + kept])
    await store.delete_job(job.id)
    assert await store.get_job(job.id) is None
    for inst in doomed:
        assert await store.get_instance(inst.id) is None
        assert await store.count_logs(inst.id) == 0
    assert await store.get_instance(kept[0].id) is not None
    assert await store.read_logs(LogQuery(instance_id=kept[0].id)) != []
    with pytest.raises(JobNotFound):
        await store.delete_job(job.id)
    assert (
        await store.update_instances([InstanceUpdate(doomed[0].id, InstanceStatus.RUNNING)]) == []
    )
